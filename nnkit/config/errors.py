"""Config errors that name the file, the line, the key path and what is allowed."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ValidationError

from nnkit.config.base import FieldError
from nnkit.config.yaml12 import YAML_1_1_BOOLEANS
from nnkit.registry import one_of, suggest


class ConfigError(Exception):
    """An invalid config. ``str(error)`` is one line per problem, ready to print.

    Each line reads ``<file>:<line>: <key.path>: <what is wrong and what is allowed>``.
    """

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


def dotted(path: tuple) -> str:
    """('model', 'units', 1) → 'model.units[1]'."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _input_path(raw: Any, loc: tuple) -> tuple:
    """Drop the union tags pydantic inserts into ``loc`` by walking the raw input alongside.

    A part that equals the section's ``name``/``architecture`` value, or is not a key of the
    mapping at hand, and is not the last part, is the name of the union member pydantic tried
    (``sgd`` in ``optimizer.sgd.beta_1``), not a key.
    """
    path, node = [], raw
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, dict):
            if not last and part in (node.get("name"), node.get("architecture")):
                continue
            if part in node:
                node = node[part]
            elif not last:
                continue
            else:
                node = None
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
        path.append(part)
    return tuple(path)


def _section_keys(model: type[BaseModel], raw: Any, path: tuple) -> list[str] | None:
    """The keys allowed in the section at ``path`` (for 'did you mean' on unknown keys)."""
    current: Any = model
    node = raw
    for part in path:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(part)
        if field is None:
            return None
        node = node.get(part) if isinstance(node, dict) else None
        current = _pick_member(field.annotation, node)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return None


def _pick_member(annotation: Any, node: Any) -> Any:
    """The union member that ``node`` selects by its discriminator, or the type itself."""
    members = [m for m in (getattr(annotation, "__args__", ()) or ()) if isinstance(m, type)]
    models = [m for m in members if issubclass(m, BaseModel)]
    if not models:
        return annotation
    for member in models:
        for key in ("name", "architecture"):
            field = member.model_fields.get(key)
            if field is not None and isinstance(node, dict):
                if node.get(key) in (getattr(field.annotation, "__args__", ()) or ()):
                    return member
    return models[0]


def _message(error: dict, raw: Any, path: tuple, model: type[BaseModel]) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    value = error.get("input")
    if kind == "extra_forbidden":
        allowed = _section_keys(model, raw, path[:-1]) or []
        return (f"unknown key '{path[-1]}'{suggest(path[-1], allowed)}; allowed keys: "
                f"{', '.join(allowed)}")
    if kind == "union_tag_invalid":
        tags = re.findall(r"'([^']*)'", ctx.get("expected_tags", ""))
        return one_of(ctx.get("tag"), tags)
    if kind == "union_tag_not_found":
        return "required key is missing (it picks the variant)"
    if kind == "missing":
        return "required key is missing"
    if kind == "literal_error":
        options = re.findall(r"'([^']*)'", ctx.get("expected", ""))
        return one_of(value, options)
    if isinstance(ctx.get("error"), Exception):
        return str(ctx["error"])
    if kind == "bool_type" and isinstance(value, str) and value.lower() in YAML_1_1_BOOLEANS:
        return (f"expected true or false, got the string {value!r} (nnkit reads YAML 1.2, "
                "where yes/no/on/off are strings)")
    message = error["msg"]
    return f"{message[0].lower()}{message[1:]}, got {value!r}"


def format_validation_error(error: ValidationError, raw: dict, locate,
                            model: type[BaseModel]) -> ConfigError:
    """A ConfigError from pydantic's errors; ``locate(path)`` gives 'file:line' text."""
    lines = []
    for item in error.errors():
        loc = tuple(item["loc"])
        cause = (item.get("ctx") or {}).get("error")
        if isinstance(cause, FieldError):
            loc = loc + cause.path
        path = _input_path(raw, loc)
        if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
            path = path + (item["ctx"]["discriminator"].strip("'"),)
        message = _message(item, raw, path, model)
        line = f"{locate(path)}: {dotted(path) or '<top level>'}: {message}"
        if line not in lines:
            lines.append(line)
    return ConfigError(lines)
