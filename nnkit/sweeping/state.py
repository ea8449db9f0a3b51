"""Which sweep folder a ``nnkit sweep`` command continues, and what state each run is in.

A sweep folder keeps ``config.yaml``, the resolved base config with its ``sweep:`` section
(what ``nnkit sweep --resume SWEEP_DIR`` re-reads). Re-running the same command continues
the newest sweep folder of the experiment whose ``config.yaml`` equals the command's
resolved config (``experiment.log_dir`` aside): a changed grid or base config starts a new
sweep and says which keys differ from the newest one. Within it, each run folder is

* ``done``: its ``metrics.json`` says completed, failed or stopped (by a ``stop_on``
  finding: pruned); a diverged or pruned run is a result, kept, not trained again;
* ``resume``: it has a ``config.yaml`` but no final status (killed or interrupted): it
  continues from its newest checkpoint;
* ``new``: no run folder yet, or one without a config (killed before training began).
"""

from __future__ import annotations

from pathlib import Path

from nnkit.config import ExperimentConfig, yaml12
from nnkit.training.run_dir import read_metrics

CONFIG = "config.yaml"
FINAL = ("completed", "failed", "stopped")


def _comparable(config: ExperimentConfig) -> dict:
    data = config.model_dump(mode="json")  # what config.yaml holds, read back
    data["experiment"].pop("log_dir", None)
    return data


def _differences(a, b, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        keys = list(a) + [k for k in b if k not in a]
        return [d for k in keys
                for d in _differences(a.get(k), b.get(k), f"{path}.{k}" if path else k)]
    return [] if a == b else [path or "<top level>"]


def saved_config(sweep_dir: Path) -> dict | None:
    path = sweep_dir / CONFIG
    if not path.is_file():
        return None
    try:
        data = yaml12.load(path.read_text())
    except Exception:  # damaged: not a sweep this command can continue
        return None
    if isinstance(data, dict) and isinstance(data.get("experiment"), dict):
        data["experiment"].pop("log_dir", None)
        return data
    return None


def changes(sweep_dir: Path, config: ExperimentConfig) -> list[str]:
    """The key paths in which ``config`` differs from the one ``sweep_dir`` was run with."""
    saved = saved_config(sweep_dir)
    if saved is None:
        return ["<no readable config.yaml>"]
    return _differences(saved, _comparable(config))


def find(parent: Path, config: ExperimentConfig) -> tuple[Path | None, list[str], Path | None]:
    """(the newest sweep folder in ``parent`` run with ``config``, or None;
    and if None, how the newest sweep folder differs, and which it is)."""
    folders = sorted((p for p in parent.glob("sweep-*") if p.is_dir()), reverse=True)
    for folder in folders:
        if saved_config(folder) is not None and not changes(folder, config):
            return folder, [], None
    newest = next((f for f in folders if saved_config(f) is not None), None)
    return None, (changes(newest, config) if newest else []), newest


def run_state(run_dir: Path) -> str:
    """``done``, ``resume`` or ``new`` (see the module's docstring)."""
    if read_metrics(run_dir).get("status") in FINAL:
        return "done"
    return "resume" if (run_dir / CONFIG).is_file() else "new"
