"""YAML read by the YAML 1.2 core schema, on PyYAML's safe loader.

PyYAML implements YAML 1.1, whose floats need a dot: ``3e-4`` and ``1E6`` are strings there,
and ``learning_rate: 3e-4`` (how almost everyone writes a learning rate) fails validation.
YAML 1.2's core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution) reads plain
scalars as

=========  ==================================================================================
null       ``null``, ``Null``, ``NULL``, ``~`` and the empty value
bool       ``true``, ``True``, ``TRUE``, ``false``, ``False``, ``FALSE``
int        ``[-+]?[0-9]+`` (decimal, also with leading zeros), ``0o17``, ``0x1F``
float      ``[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?``: ``3e-4``, ``3E-4``,
           ``1e6``, ``+1e3``, ``.5``, ``5.``; ``.inf``, ``-.inf``, ``.nan``
string     everything else, among them YAML 1.1's ``yes``/``no``/``on``/``off``/``y``/``n``
           (booleans in YAML 1.1), ``1_000`` and ``1:30`` (numbers there), and dates
=========  ==================================================================================

Only the resolution of untagged scalars changes; :class:`Loader` is PyYAML's ``SafeLoader``
otherwise, so ``!!python/...`` tags stay errors.
"""

from __future__ import annotations

import math
import re

import yaml

_REPLACED = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
             "tag:yaml.org,2002:null", "tag:yaml.org,2002:timestamp"}

_CORE = [  # (tag, pattern, the characters a matching scalar can start with)
    ("tag:yaml.org,2002:null", r"^(?:null|Null|NULL|~|)$", ["n", "N", "~", ""]),
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$",
     list("-+0123456789")),
    ("tag:yaml.org,2002:float",
     r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
     r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", list("-+.0123456789")),
]

YAML_1_1_BOOLEANS = {"yes", "no", "on", "off", "y", "n"}  # case-insensitively


class Loader(yaml.SafeLoader):
    """PyYAML's safe loader, resolving plain scalars by the YAML 1.2 core schema."""


Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag not in _REPLACED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
for _tag, _pattern, _first in _CORE:
    Loader.add_implicit_resolver(_tag, re.compile(_pattern), _first)


def _integer(loader: Loader, node: yaml.ScalarNode) -> int:
    text = loader.construct_scalar(node)
    if text.startswith(("0o", "0x")):
        return int(text[2:], 8 if text[1] == "o" else 16)
    return int(text, 10)


def _float(loader: Loader, node: yaml.ScalarNode) -> float:
    text = loader.construct_scalar(node).lower()
    if text.lstrip("+-") == ".inf":
        return -math.inf if text.startswith("-") else math.inf
    if text == ".nan":
        return math.nan
    return float(text)


Loader.add_constructor("tag:yaml.org,2002:int", _integer)
Loader.add_constructor("tag:yaml.org,2002:float", _float)


def load(text: str):
    """The document in ``text`` (YAML 1.2 core schema, safe tags only)."""
    return yaml.load(text, Loader=Loader)  # noqa: S506 (Loader is a SafeLoader)


def compose(text: str) -> yaml.Node | None:
    """The node tree of ``text``, for the line of each key."""
    return yaml.compose(text, Loader=Loader)
