"""Checkpoints at epoch ends, and the state a resumed run starts from.

A checkpoint is one file, ``<run>/checkpoints/epoch-NNNN.npz`` (NNNN = epochs completed),
written to a temporary name and renamed, so a run killed at any moment (even ``kill -9``
while writing) leaves only complete checkpoints. It holds every variable training changes:

* the model's variables (weights, batch-norm moving statistics, dropout/RReLU seed states);
* the optimizer's (its iteration count, moments, accumulators);
* the instrumentation recorder's (dead-unit and symmetry measures);

and, as JSON: the epochs and steps done, the history of epoch logs so far, the wall time, and
the state of every callback that has one (``checkpoint_state`` / ``restore_checkpoint_state``,
e.g. early stopping's patience counter and best weights).

A checkpoint whose values are not all finite is never written: after a NaN the last finite
checkpoint is the one kept. Only the newest ``keep`` checkpoints are kept.
"""

from __future__ import annotations

import json
import os
import re
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

FOLDER = "checkpoints"
_NAME = re.compile(r"^epoch-(\d{4,})\.npz$")


class CheckpointError(Exception):
    """A checkpoint that does not fit the model rebuilt from the run's config."""


@dataclass
class Checkpoint:
    path: Path
    meta: dict
    arrays: dict[str, np.ndarray]

    @property
    def epochs_done(self) -> int:
        return int(self.meta["epochs_done"])


def _groups(model) -> dict[str, list]:
    """The variables a checkpoint holds, by group, in a fixed order."""
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    groups = {"model": list(model.variables), "optimizer": list(model.optimizer.variables)}
    if getattr(model, "recorder", None) is not None:
        groups["recorder"] = list(model.recorder.variables)
    return groups


def checkpoints(run_dir: Path) -> list[Path]:
    """The run's complete checkpoints, oldest first."""
    folder = Path(run_dir) / FOLDER
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def load_latest(run_dir: Path) -> Checkpoint | None:
    """The newest readable checkpoint of the run, or None if it has none."""
    for path in reversed(checkpoints(run_dir)):
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {k: archive[k] for k in archive.files}
            meta = json.loads(str(arrays.pop("__meta__")))
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            continue  # damaged on disk after it was written: fall back to the one before
        return Checkpoint(path, meta, arrays)
    return None


def _stateful(callbacks) -> dict[str, object]:
    return {type(c).__name__: c for c in callbacks if hasattr(c, "checkpoint_state")}


class Checkpointer(keras.callbacks.Callback):
    """Writes a checkpoint every ``every_n_epochs`` epochs, at most once every
    ``every_seconds`` (and always after the last epoch), keeps the newest ``keep``; with
    ``resume_from``, restores that checkpoint when training begins.

    Place it after the callbacks whose state it saves, so that at an epoch's end it sees
    their state after that epoch. ``history`` holds every epoch's logs, restored ones first.
    """

    def __init__(self, run_dir: Path, every_n_epochs: int, keep: int, callbacks=(),
                 guard=None, resume_from: Checkpoint | None = None, every_seconds: float = 0.0):
        super().__init__()
        self.folder = Path(run_dir) / FOLDER
        self.every, self.keep, self.guard = every_n_epochs, keep, guard
        self.every_seconds = every_seconds
        self._last_save = -float("inf")
        self.stateful = _stateful(callbacks)
        self.resume_from = resume_from
        self.history: dict[str, list[float]] = {}
        self.previous_wall_time = 0.0
        self._start = time.perf_counter()

    @property
    def wall_time_s(self) -> float:
        """Training time so far, over this process and the runs it resumed."""
        return self.previous_wall_time + time.perf_counter() - self._start

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()
        if self.resume_from is not None:
            self._restore(self.resume_from)

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        if not self.every:
            return
        last = epoch + 1 == self.params.get("epochs") or self.model.stop_training
        due = ((epoch + 1) % self.every == 0  # short epochs: every `every_seconds` is enough
               and time.monotonic() - self._last_save >= self.every_seconds)
        if due or last:
            self.save(epoch + 1)
            self._last_save = time.monotonic()

    def save(self, epochs_done: int) -> Path | None:
        """Write the checkpoint of ``epochs_done`` epochs, unless a value is not finite."""
        if self.guard is not None and self.guard.failure:
            return None
        arrays, shapes = {}, {}
        for group, variables in _groups(self.model).items():
            for i, variable in enumerate(variables):
                arrays[f"{group}:{i}"] = np.asarray(variable.numpy())
            shapes[group] = [list(v.shape) for v in variables]
        states = {}
        for name, callback in self.stateful.items():
            state, values = callback.checkpoint_state()
            states[name] = state
            for i, value in enumerate(values):
                arrays[f"callback:{name}:{i}"] = np.asarray(value)
        bad = [name for name, a in arrays.items()
               if np.issubdtype(a.dtype, np.floating) and not np.all(np.isfinite(a))]
        if bad:
            self._stop_on_non_finite(epochs_done, bad[0])
            return None
        meta = {"epochs_done": epochs_done, "step": int(self.model.optimizer.iterations.numpy()),
                "stopped": bool(self.model.stop_training), "history": self.history,
                "wall_time_s": self.wall_time_s, "shapes": shapes,
                "callbacks": states}
        arrays["__meta__"] = np.array(json.dumps(meta))
        self.folder.mkdir(exist_ok=True)
        path = self.folder / f"epoch-{epochs_done:04d}.npz"
        temporary = self.folder / f".{path.name}.{os.getpid()}.tmp"
        with open(temporary, "wb") as file:
            np.savez(file, **arrays)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
        for old in checkpoints(self.folder.parent)[:-self.keep]:
            old.unlink(missing_ok=True)
        return path

    def _stop_on_non_finite(self, epochs_done: int, key: str) -> None:
        """Weights can turn NaN while the loss and gradients stay finite (ReLU's max(x, 0)
        and the losses' clipping swallow NaN); the checkpoint finds it: stop, keep the last
        finite checkpoint, and report it through the guard (exit status 3)."""
        group, index = key.split(":")[0], int(key.split(":")[-1])
        where = _groups(self.model)[group][index].path if group != "callback" else key
        self.model.stop_training = True
        if self.guard is not None:
            self.guard.failure = (f"a variable became NaN or infinite by the end of epoch "
                                  f"{epochs_done} ({where}); the loss and gradients stayed finite")

    def _restore(self, checkpoint: Checkpoint) -> None:
        meta, arrays = checkpoint.meta, checkpoint.arrays
        for group, variables in _groups(self.model).items():
            shapes = [list(v.shape) for v in variables]
            if meta["shapes"].get(group) != shapes:
                raise CheckpointError(
                    f"{FOLDER}/{checkpoint.path.name}: its {group} variables do not match the model built "
                    f"from the run's config.yaml ({len(meta['shapes'].get(group, []))} saved, "
                    f"{len(shapes)} built); was config.yaml edited?")
            for i, variable in enumerate(variables):
                variable.assign(arrays[f"{group}:{i}"])
        for name, callback in self.stateful.items():
            if name in meta["callbacks"]:
                count = sum(k.startswith(f"callback:{name}:") for k in arrays)
                callback.restore_checkpoint_state(
                    meta["callbacks"][name], [arrays[f"callback:{name}:{i}"] for i in range(count)])
        self.history = {k: list(v) for k, v in meta["history"].items()}
        self.previous_wall_time = float(meta["wall_time_s"])
