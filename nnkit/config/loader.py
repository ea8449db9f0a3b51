"""YAML → validated ExperimentConfig: ``extends``, ``-o`` overrides, located errors.

YAML is read with the safe loader only: ``!!python/object`` and other unsafe tags are errors.
Plain scalars resolve by the YAML 1.2 core schema (:mod:`nnkit.config.yaml12`): ``3e-4`` is
a number, ``yes``/``no``/``on``/``off`` are strings.
Every key remembers where it was written (file and line, or the ``-o`` option that set it), so
errors point at the right place even through ``extends`` chains.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from nnkit.config import yaml12
from nnkit.config.errors import ConfigError, format_validation_error
from nnkit.config.schema import ExperimentConfig

Locations = dict[tuple, str]


def _node_lines(node: yaml.Node, path: tuple, source: str, out: Locations) -> None:
    out[path] = f"{source}:{node.start_mark.line + 1}"
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[path + (key,)] = f"{source}:{key_node.start_mark.line + 1}"
            _node_lines(value_node, path + (key,), source, out)
            out[path + (key,)] = f"{source}:{key_node.start_mark.line + 1}"
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _node_lines(item, path + (i,), source, out)


def read_yaml(path: Path) -> tuple[dict, Locations]:
    """The mapping in ``path`` and the line of each key, or a ConfigError."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{source}: file not found"]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError([f"{source}: cannot read the file: {error}"]) from None
    try:
        data = yaml12.load(text)
        node = yaml12.compose(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigError([f"{source}{line}: invalid YAML: {problem}"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{source}:1: the file must hold a mapping of sections "
                           f"(experiment, data, model, ...), got {type(data).__name__}"])
    locations: Locations = {(): f"{source}:1"}
    if node is not None:
        _node_lines(node, (), source, locations)
    return data, locations


def _merge(base: dict, override: dict) -> dict:
    """Deep merge: mappings merge key by key, anything else is replaced."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _load_with_extends(path: Path, seen: tuple[Path, ...] = ()) -> tuple[dict, Locations]:
    data, locations = read_yaml(path)
    parent = data.pop("extends", None)
    if parent is None:
        return data, locations
    where = locations.get(("extends",), str(path))
    if not isinstance(parent, str) or not parent.strip():
        raise ConfigError([f"{where}: extends: expected a file name, got {parent!r}"])
    parent_path = (path.parent / parent).resolve()
    if parent_path in seen or parent_path == path.resolve():
        raise ConfigError([f"{where}: extends: '{parent}' extends itself (a cycle)"])
    if not parent_path.is_file():
        what = "is a folder, not a file" if parent_path.is_dir() else "file not found"
        raise ConfigError([f"{where}: extends: {what}: {parent_path}"])
    base, base_locations = _load_with_extends(parent_path, seen + (path.resolve(),))
    for key in [k for k in base_locations if any(k[:len(o)] == o and len(k) > len(o)
                                                 for o in locations if o)]:
        base_locations.pop(key)
    return _merge(base, data), {**base_locations, **locations}


def parse_override(text: str) -> tuple[tuple[str, ...], Any]:
    """``model.depth=8`` → (('model', 'depth'), 8); the value is read as YAML."""
    if "=" not in text:
        raise ConfigError([f"-o {text}: expected PATH=VALUE, e.g. -o model.depth=8"])
    key, _, value = text.partition("=")
    parts = tuple(key.strip().split("."))
    if not all(parts):
        raise ConfigError([f"-o {text}: '{key}' is not a dotted key path like model.depth"])
    try:
        parsed = yaml12.load(value) if value.strip() else ""
    except yaml.YAMLError as error:
        raise ConfigError([f"-o {text}: the value is not valid YAML: {error}"]) from None
    return parts, parsed


def apply_overrides(data: dict, locations: Locations, overrides: list[str],
                    source: str = "") -> dict:
    """Set each ``PATH=VALUE`` in ``data`` (creating sections as needed)."""
    data = copy.deepcopy(data)
    for text in overrides:
        parts, value = parse_override(text)
        node = data
        for i, part in enumerate(parts[:-1]):
            if not isinstance(node.get(part, {}), dict):
                raise ConfigError([f"-o {text}: {'.'.join(parts[:i + 1])} is not a section"])
            node = node.setdefault(part, {})
        node[parts[-1]] = value
        for key in [k for k in locations if k[:len(parts)] == parts]:
            locations.pop(key)
        locations[parts] = f"{source} (-o {text})" if source else f"-o {text}"
    return data


def load_config(path: str | Path, overrides: list[str] | None = None) -> ExperimentConfig:
    """Read, merge, override and validate a config file; raise ConfigError if invalid."""
    path = Path(path)
    data, locations = _load_with_extends(path)
    data = apply_overrides(data, locations, overrides or [], str(path))
    return validate(data, locations, str(path))


def as_config(source, overrides: list[str] | None = None) -> ExperimentConfig:
    """An :class:`ExperimentConfig` from a path, a mapping (the YAML file's content) or a
    config object, with ``overrides`` (``key.path=value``) applied; ConfigError if invalid.
    Relative paths in a mapping are read from the working directory, as in a file."""
    if isinstance(source, (str, Path)):
        return load_config(source, overrides)
    if isinstance(source, ExperimentConfig):
        if not overrides:
            return source
        source = source.model_dump(mode="json")
    if not isinstance(source, dict):
        raise ConfigError([f"config: expected a path, a mapping or an ExperimentConfig, got "
                           f"{type(source).__name__}"])
    data = apply_overrides(copy.deepcopy(source), {}, overrides or [], "<config>")
    return validate(data, {}, "<config>")


def validate(data: dict, locations: Locations, source: str) -> ExperimentConfig:
    """Validate a raw config mapping; errors are located with ``locations``."""

    def locate(key_path: tuple) -> str:
        for end in range(len(key_path), -1, -1):
            if key_path[:end] in locations:
                return locations[key_path[:end]]
        return source

    try:
        return ExperimentConfig.model_validate(data)
    except ValidationError as error:
        raise format_validation_error(error, data, locate, ExperimentConfig) from None


def dump(config: ExperimentConfig) -> str:
    """The resolved config as YAML, every default filled in, variant keys first."""
    data = config.model_dump(mode="json")
    for section, key in (("data", "name"), ("model", "architecture"), ("optimizer", "name")):
        data[section] = {key: data[section][key], **data[section]}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
