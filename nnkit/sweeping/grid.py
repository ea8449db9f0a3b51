"""The grid of a ``sweep:`` section: every combination, as validated configs."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from nnkit.config import ConfigError, ExperimentConfig, load_config


@dataclass
class Point:
    """One combination of the grid: its values, a folder name and its validated config."""

    values: dict[str, object]
    name: str
    config: ExperimentConfig


def as_yaml(value: object) -> str:
    """A value as one line of YAML, as ``-o PATH=VALUE`` reads it (``0.1``, ``[1, 2]``)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return text.removesuffix("\n...").strip()


def _label(path: str, value: object, short: bool) -> str:
    """``activation=relu``; a mapping with a name reads like a call:
    ``kernel_initializer=random_normal(stddev=0.01)``."""
    key = path.rsplit(".", 1)[-1] if short else path
    if isinstance(value, dict) and "name" in value:
        params = ",".join(f"{k}={as_yaml(v)}" for k, v in value.items() if k != "name")
        text = f"{value['name']}({params})"
    else:
        text = value if isinstance(value, str) else as_yaml(value)
    return f"{key}={re.sub(r'[^A-Za-z0-9._=:+(),-]+', '_', str(text))}"


def expand(config_path: str | Path, overrides: list[str], sweep: dict[str, list]) -> list[Point]:
    """Every combination of ``sweep``'s values as a validated config (errors before any run).

    Folder names use the last part of each path (``activation=relu``) when that is unique,
    the whole path otherwise.
    """
    paths = list(sweep)
    short = len({p.rsplit(".", 1)[-1] for p in paths}) == len(paths)
    points = []
    for combination in itertools.product(*(sweep[p] for p in paths)):
        values = dict(zip(paths, combination))
        point_overrides = [f"{path}={as_yaml(value)}" for path, value in values.items()]
        try:
            config = load_config(config_path, [*overrides, *point_overrides, "sweep=null"])
        except ConfigError as error:
            label = ", ".join(f"{p}={v!r}" for p, v in values.items())
            raise ConfigError([f"{line} (sweep point {label})" for line in error.lines]) from None
        name = ",".join(_label(p, v, short) for p, v in values.items())
        points.append(Point(values, name, config))
    return points
