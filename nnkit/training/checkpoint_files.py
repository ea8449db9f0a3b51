"""Checkpoint files on disk: their names, their order, and reading them back.

``<run>/checkpoints/epoch-NNNN.npz`` holds the state after NNNN complete epochs;
``epoch-NNNN-step-SSSSSSSS.npz`` a state inside epoch NNNN + 1, after SSSSSSSS steps in all
(``training.checkpoint.every_n_steps``, the time limit, or an interrupt). Each is one NumPy
archive: the variables as ``<group>:<i>`` arrays and a JSON ``__meta__``
(:class:`~nnkit.training.checkpoint.Checkpointer` writes them, through a temporary name and a
rename, so a complete file is never half-written).

A file damaged afterwards (emptied, truncated, overwritten) is skipped with a warning that
names it and says why; the newest intact one is used. When every checkpoint is damaged,
:func:`load_latest` raises :class:`CheckpointError` rather than silently starting over.
"""

from __future__ import annotations

import json
import re
import zipfile
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FOLDER = "checkpoints"
_NAME = re.compile(r"^epoch-(\d{4,})(?:-step-(\d+))?\.npz$")
_META_KEYS = ("epochs_done", "step", "stopped", "history", "wall_time_s", "shapes", "callbacks")


from nnkit.errors import CheckpointError


class DamagedCheckpoint(Exception):
    """One checkpoint file that cannot be read back (the message says why)."""


@dataclass
class Checkpoint:
    path: Path
    meta: dict
    arrays: dict[str, np.ndarray]

    @property
    def epochs_done(self) -> int:
        """Complete epochs before this state."""
        return int(self.meta["epochs_done"])

    @property
    def steps_in_epoch(self) -> int:
        """Steps of epoch ``epochs_done`` already done (0 at an epoch's end)."""
        return int(self.meta.get("steps_in_epoch", 0))


def file_name(epochs_done: int, step: int, steps_in_epoch: int) -> str:
    if steps_in_epoch:
        return f"epoch-{epochs_done:04d}-step-{step:08d}.npz"
    return f"epoch-{epochs_done:04d}.npz"


def checkpoints(run_dir: Path) -> list[Path]:
    """The run's checkpoint files, oldest first (by epochs, then steps)."""
    folder = Path(run_dir) / FOLDER
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = _NAME.match(path.name)
        if match:
            step = match.group(2)
            found.append(((int(match.group(1)), step is not None, int(step or 0)), path))
    return [path for _, path in sorted(found)]


def read(path: Path) -> Checkpoint:
    """One checkpoint, or :class:`DamagedCheckpoint` saying why it cannot be used."""
    try:
        if path.stat().st_size == 0:
            raise DamagedCheckpoint("the file is empty")
        if not zipfile.is_zipfile(path):  # NumPy would call it pickled data and offer to load it
            raise DamagedCheckpoint("not a NumPy archive (truncated or overwritten)")
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
        meta = json.loads(str(arrays.pop("__meta__")))
    except DamagedCheckpoint:
        raise
    except KeyError:
        raise DamagedCheckpoint("it has no __meta__ record") from None
    except Exception as error:  # zip, zlib, npy-format and JSON errors alike: unreadable
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DamagedCheckpoint(f"not a readable checkpoint ({reason})") from None
    missing = [k for k in _META_KEYS if not isinstance(meta, dict) or k not in meta]
    if missing:
        raise DamagedCheckpoint(f"its __meta__ lacks {', '.join(missing)}")
    expected = {f"{group}:{i}" for group, shapes in meta["shapes"].items()
                for i in range(len(shapes))}
    if not expected <= set(arrays):
        raise DamagedCheckpoint(f"{len(expected - set(arrays))} of its arrays are missing")
    return Checkpoint(path, meta, arrays)


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def load_latest(run_dir: Path, warn=_warn) -> Checkpoint | None:
    """The newest intact checkpoint of the run, or None if it has none.

    Each damaged file passed over is named through ``warn``; when there are checkpoints but
    none is intact, :class:`CheckpointError`.
    """
    paths = checkpoints(run_dir)
    for path in reversed(paths):
        try:
            checkpoint = read(path)
        except DamagedCheckpoint as damage:
            warn(f"{FOLDER}/{path.name} is damaged and skipped: {damage}")
            continue
        return checkpoint
    if paths:
        raise CheckpointError(
            f"{FOLDER}/: every checkpoint is damaged ({len(paths)}: "
            f"{', '.join(p.name for p in paths)}); nothing to resume from. Start the run over "
            f"in the same folder with: nnkit run --resume {run_dir} --restart")
    return None
