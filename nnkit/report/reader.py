"""Read run folders back: scalars from the event files, status and diagnosis from metrics.json."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.util import tensor_util

from nnkit.layer_keys import LAYERS_FILE
from nnkit.report.labels import difference_labels, read_config



@dataclass
class Run:
    """What a report needs from one run folder."""

    path: Path
    name: str
    scalars: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    layers: list[str] | None = None  # the instrumented layers' keys, in depth order
    config: dict | None = None  # the resolved config, flattened (None: no config.yaml)
    label: str = ""  # what tells it from the other runs of the report (set by label_runs)
    # recurrent layer → (steps [k], ‖∂L/∂hₜ‖ [k, T]) from ``through_time/<layer>``
    through_time: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def series(self, split: str, tag: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(steps, values) of ``tag`` in ``train`` or ``validation``, or None."""
        return self.scalars.get(split, {}).get(tag)

    def layer_series(self, prefix: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``<prefix>/<layer>`` over steps for every layer, in depth order (per-layer tags
        only: ``grad_norm/h02_dense``, not ``grad_norm/h02_dense/kernel``). The layers are
        those of the run's ``layers.json``; a run written before it existed has keys
        ``<position>_<name>``."""
        train = self.scalars.get("train", {})
        if self.layers is not None:
            return {key: train[f"{prefix}/{key}"] for key in self.layers
                    if f"{prefix}/{key}" in train}
        pattern = re.compile(rf"^{re.escape(prefix)}/(\d+_[^/]+)$")
        return {match.group(1): train[tag] for tag in sorted(train)
                if (match := pattern.match(tag))}

    def layer_norms(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per-layer gradient norms over steps, in depth order."""
        return self.layer_series("grad_norm")


def _read_scalars(folder: Path) -> tuple[dict, dict]:
    """(scalar tag → (steps, values), recurrent layer → (steps, ‖∂L/∂hₜ‖ [k, T]))."""
    events = EventAccumulator(str(folder), size_guidance={"tensors": 0, "scalars": 0})
    events.Reload()
    out, through_time = {}, {}
    for tag in events.Tags().get("tensors", []):
        rows = events.Tensors(tag)
        values = [tensor_util.make_ndarray(e.tensor_proto) for e in rows]
        steps = np.array([e.step for e in rows])
        if values and np.ndim(values[0]) == 0 and np.issubdtype(values[0].dtype, np.number):
            out[tag] = (steps, np.array(values, dtype=float))
        elif values and tag.startswith("through_time/") and np.ndim(values[0]) == 2:
            through_time[tag.split("/", 1)[1]] = (steps, np.array([v[:, 2] for v in values]))
    return out, through_time


def find_runs(paths: list[str | Path]) -> list[Path]:
    """Run folders (holding ``train/`` events) at or below each path, in order, deduplicated."""
    found: list[Path] = []
    for path in map(Path, paths):
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such folder")
        candidates = [path] if (path / "train").is_dir() else sorted(
            p.parent for p in path.rglob("train") if p.is_dir())
        found += [c for c in candidates if c not in found]
    return found


def read_run(path: Path, root: Path | None = None) -> Run:
    name = str(path.relative_to(root)) if root and path != root else path.name
    run = Run(path, name)
    for split in ("train", "validation"):
        if (path / split).is_dir():
            run.scalars[split], through_time = _read_scalars(path / split)
            if split == "train":
                run.through_time = through_time
    metrics = path / "metrics.json"
    if metrics.exists():
        run.metrics = json.loads(metrics.read_text())
    run.config = read_config(path)
    run.label = name
    layers = path / LAYERS_FILE
    if layers.exists():
        run.layers = [row["key"] for row in json.loads(layers.read_text())["layers"]]
    return run


def label_runs(runs: list[Run]) -> list[Run]:
    """Set each run's ``label`` to what differs in its config from the others'."""
    for run, label in zip(runs, difference_labels([r.config for r in runs],
                                                   [r.name for r in runs])):
        run.label = label
    return runs
