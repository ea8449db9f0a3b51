"""The few pieces of the protocol-buffer wire format nnkit encodes by hand (event files).

A field is its key ``number << 3 | wire_type`` as a varint, then its payload: a varint
(type 0), 8 little-endian bytes (type 1: double) or a varint length and the bytes (type 2:
strings, bytes, sub-messages, packed repeated numbers).
"""

from __future__ import annotations

import struct


def varint(n: int) -> bytes:
    """``n`` ≥ 0 in 7-bit groups, least significant first, the high bit set on all but the
    last."""
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (type 2)."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def varint_field(number: int, value: int) -> bytes:
    """A varint field (type 0): int32/int64 ≥ 0, enums."""
    return varint(number << 3) + varint(value)


def double_field(number: int, value: float) -> bytes:
    """A 64-bit field (type 1) holding a double."""
    return varint(number << 3 | 1) + struct.pack("<d", value)
