"""What the dashboard knows of a run besides its scalars: its folder's ``layers.json`` and
``metrics.json`` (status and findings).

TensorBoard's runs are the folders that hold event files: nnkit writes its scalars to
``<run folder>/train``, so a TensorBoard run ``quickstart/20261202-101500/train`` is the nnkit
run ``quickstart/20261202-101500``. Light (no TensorFlow): TensorBoard imports it at start.
"""

from __future__ import annotations

import json
from pathlib import Path

from nnkit.layer_keys import LAYERS_FILE

METRICS_FILE = "metrics.json"


def run_folder(logdir: str | Path, run: str) -> Path:
    """The nnkit run folder of TensorBoard's ``run`` under ``logdir``."""
    folder = Path(logdir) / run if run != "." else Path(logdir)
    return folder.parent if folder.name in ("train", "validation") else folder


def display_name(run: str) -> str:
    """``quickstart/20261202-101500`` for TensorBoard's ``quickstart/20261202-101500/train``."""
    parts = run.split("/")
    return "/".join(parts[:-1]) if len(parts) > 1 and parts[-1] == "train" else run


def _json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing, or being rewritten: the next refresh reads it
        return {}


def layer_keys(folder: Path, tags) -> list[str]:
    """The run's layer keys in depth order: ``layers.json``'s, or else the per-layer
    ``grad_norm/<key>`` tags in the order of their names."""
    rows = _json(folder / LAYERS_FILE).get("layers")
    if rows:
        return [row["key"] for row in rows]
    return sorted({tag.split("/")[1] for tag in tags
                   if tag.startswith("grad_norm/") and tag.count("/") == 1
                   and tag != "grad_norm/global"})


def findings(folder: Path) -> tuple[str, list[dict]]:
    """(status, findings as dicts) from the run's ``metrics.json`` (``unknown``, [] without)."""
    metrics = _json(folder / METRICS_FILE)
    return metrics.get("status", "unknown"), list(metrics.get("diagnosis") or [])
