"""Runs named by what differs between their configs: ``activation=sigmoid, depth=10``.

A run folder's ``config.yaml`` is its resolved config; the keys whose values are not the
same in every run are the ones a reader needs to tell the runs apart. Keys that differ in
every run without meaning (the log folder, the description) are left out; a key is shown by
its last part unless two shown keys share it (then by its dotted path), in the config's own
order.
"""

from __future__ import annotations

from pathlib import Path

import yaml

IGNORED = {"experiment.log_dir", "experiment.description"}


def _flat(config, prefix: str = "") -> dict[str, object]:
    if not isinstance(config, dict):
        return {prefix: config}
    out: dict[str, object] = {}
    for key, value in config.items():
        out.update(_flat(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def read_config(folder: Path) -> dict[str, object] | None:
    """The run's resolved config, flattened to dotted keys; None without one (a folder of
    ``nnkit.watch``) or when it does not parse."""
    try:
        return _flat(yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError):
        return None


def _text(value) -> str:
    return "none" if value is None else str(value)


def difference_labels(configs: list[dict | None], names: list[str]) -> list[str]:
    """A label per run: its differing keys and values, or its name when there are none
    (one run, or no config)."""
    known = [c for c in configs if c is not None]
    keys = [k for k in dict.fromkeys(k for c in known for k in c) if k not in IGNORED]
    differing = [k for k in keys if len({_text(c.get(k)) for c in known}) > 1]
    short = [k.rsplit(".", 1)[-1] for k in differing]
    shown = [s if short.count(s) == 1 else k for k, s in zip(differing, short)]
    labels = []
    for config, name in zip(configs, names):
        if config is None or not differing:
            labels.append(name)
        else:
            labels.append(", ".join(f"{s}={_text(config.get(k))}"
                                    for k, s in zip(differing, shown)))
    return labels
