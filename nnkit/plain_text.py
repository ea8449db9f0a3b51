"""Docstring text as plain text for the terminal: reStructuredText markup removed.

``:mod:`nnkit.activations``` → ``nnkit.activations``; ``:class:`~nnkit.layers.Dense``` →
``Dense``; ````depth```` and ```value``` → ``depth``, ``value``.
"""

from __future__ import annotations

import re

_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")


def _role(match: re.Match) -> str:
    target = match.group(1)
    return target.rsplit(".", 1)[-1] if match.group(0).split("`")[1].startswith("~") else target


def plain(text: str) -> str:
    """``text`` without Sphinx roles and literal/interpreted-text backticks."""
    text = _ROLE.sub(_role, text)
    return re.sub(r"`{1,2}([^`]+)`{1,2}", r"\1", text)
