"""JSON that every parser reads: non-finite numbers become ``null``, and are listed.

Python's ``json`` writes ``NaN`` and ``Infinity``, which are not JSON (RFC 8259): the
browser's ``JSON.parse``, ``jq`` and most other readers reject the whole file. nnkit writes
them as ``null`` and names each replaced value's key path under ``"non_finite"``, e.g.
``{"train": {"loss": null}, "non_finite": {"train.loss": "nan"}}``, so the file still says
what was not finite.
"""

from __future__ import annotations

import json
import math
from typing import Any


def _clean(value: Any, path: str, found: dict[str, str]) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        found[path] = "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
        return None
    if isinstance(value, dict):
        return {k: _clean(v, f"{path}.{k}" if path else str(k), found) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v, f"{path}[{i}]", found) for i, v in enumerate(value)]
    if hasattr(value, "item") and callable(value.item):  # NumPy scalars
        return _clean(value.item(), path, found)
    return value


def finite(data: dict) -> dict:
    """``data`` with every NaN/±Inf as None, plus ``non_finite``: {key path: nan|inf|-inf}
    when there was any."""
    found: dict[str, str] = {}
    cleaned = _clean(data, "", found)
    if found:
        cleaned["non_finite"] = found
    return cleaned


def dumps(data: dict, indent: int | None = None) -> str:
    """Strict JSON text of ``data`` (see :func:`finite`)."""
    return json.dumps(finite(data), indent=indent, allow_nan=False)
