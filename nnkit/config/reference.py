"""The config reference README shows: every key with its real default and what it does.

Generated from the schema (the defaults of :class:`ExperimentConfig` and each field's
``description``, or its allowed values), so the reference cannot drift from the code; a test
compares README's block with :func:`reference_yaml`. ``python -m nnkit.config.reference``
prints it.
"""

from __future__ import annotations

import typing

import yaml
from pydantic import BaseModel

from nnkit.config import yaml12
from nnkit.config.loader import dump
from nnkit.config.schema import ExperimentConfig

_VARIANT_KINDS = {("data", "name"): "datasets", ("model", "architecture"): "architectures",
                  ("optimizer", "name"): "optimizers"}
_NOTES = {("data", "seed"): "null: experiment.seed",
          ("sweep",): "nnkit sweep: {dotted.path: [values, ...]}",
          ("search",): "nnkit tune: {tuner, objective, max_trials, space, ...}",
          ("loss",): "auto: by task; or a name from nnkit list losses, or keras:<name>",
          ("metrics",): "null: accuracy (classification) or mae (regression)",
          ("training", "early_stopping"): "e.g. {monitor: val_loss, patience: 5}",
          ("model", "activation"): "a name (nnkit list activations), keras:<name>, or "
                                   "{name: leaky_relu, alpha: 0.2}",
          ("model", "kernel_initializer"): "a name (nnkit list initializers), keras:<name>, "
                                           "or {name: constant, value: 0.5}",
          ("model", "bias_initializer"): "as kernel_initializer"}
_UNRESOLVED = {("data", "seed"): None}  # defaults that validation fills from elsewhere


def _flow(value) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return text.removesuffix("...").strip()


def _comment(section: type[BaseModel] | None, path: tuple) -> str:
    if path in _NOTES:
        return _NOTES[path]
    if path in _VARIANT_KINDS:
        return f"the variant; see nnkit list {_VARIANT_KINDS[path]}"
    field = section.model_fields.get(path[-1]) if section is not None else None
    if field is None:
        return ""
    if field.description:
        return field.description
    if typing.get_origin(field.annotation) is typing.Literal:
        return " | ".join(str(v) for v in typing.get_args(field.annotation))
    return ""


def _lines(values: dict, section, path: tuple, indent: int) -> list[str]:
    lines = []
    for key, value in values.items():
        where = path + (key,)
        value = _UNRESOLVED.get(where, value)
        nested = getattr(section, "model_fields", {}).get(key)
        nested_type = nested.annotation if nested is not None else None
        comment = _comment(section, where)
        pad = "  " * indent
        if isinstance(value, dict) and isinstance(nested_type, type) and issubclass(
                nested_type, BaseModel):
            lines.append(f"{pad}{key}:" + (f"  # {comment}" if comment else ""))
            lines += _lines(value, nested_type, where, indent + 1)
        else:
            text = f"{pad}{key}: {_flow(value)}"
            lines.append(f"{text:<34}  # {comment}" if comment else text)
    return lines


def reference_yaml() -> str:
    """Every key of a config with its default, one per line, commented."""
    config = ExperimentConfig()
    data = yaml12.load(dump(config))  # the variant keys first
    lines = []
    for key, value in data.items():
        section = getattr(config, key)
        if isinstance(section, BaseModel):
            lines.append(f"{key}:")
            lines += _lines(value, type(section), (key,), 1)
        else:
            lines += _lines({key: value}, ExperimentConfig, (), 0)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(reference_yaml(), end="")
