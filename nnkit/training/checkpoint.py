"""Checkpoints during training, and the state a resumed run starts from.

A checkpoint (:mod:`~nnkit.training.checkpoint_files` names and reads the files) holds every
variable training changes:

* the model's variables (weights, batch-norm moving statistics, dropout/RReLU seed states);
* the optimizer's (its iteration count, moments, accumulators);
* the metrics' running sums, so that an epoch resumed in its middle logs the mean over all
  of its batches, as an uninterrupted one does;

and, as JSON: the epochs and steps done, the history of epoch logs so far, the wall time, and
the state of every callback that has one (``checkpoint_state`` / ``restore_checkpoint_state``,
e.g. early stopping's patience counter and best weights, the diagnosis' episodes).

When one is written:

* every ``every_n_epochs`` epochs and every ``every_n_steps`` steps, but at most once every
  ``every_seconds``: one that falls due sooner is postponed to the first step after that
  interval (mid-epoch if need be), so a kill never loses more than the interval's work;
* after the last epoch;
* after the step in flight when SIGTERM or SIGINT arrives (:mod:`.interrupt`), then
  training stops.

A checkpoint whose values are not all finite is never written: after a NaN the last finite
checkpoint is the one kept. Only the newest ``keep`` checkpoints are kept.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import keras
import numpy as np

from nnkit.training import interrupt
from nnkit.training.checkpoint_files import (FOLDER, Checkpoint, CheckpointError, checkpoints,
                                             file_name, load_latest)

__all__ = ["Checkpoint", "CheckpointError", "Checkpointer", "checkpoints", "load_latest"]


def _groups(model) -> dict[str, list]:
    """The variables a checkpoint holds, by group, in a fixed order."""
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    return {"model": list(model.variables), "optimizer": list(model.optimizer.variables),
            "metrics": list(model.metrics_variables)}


def _stateful(callbacks) -> dict[str, object]:
    return {type(c).__name__: c for c in callbacks if hasattr(c, "checkpoint_state")}


class Checkpointer(keras.callbacks.Callback):
    """Writes checkpoints as the module says, keeps the newest ``keep``; with
    ``resume_from``, restores that checkpoint when training begins (in the middle of an
    epoch, the model fast-forwards over the batches already done, which the data skips).

    Place it after the callbacks whose state it saves, so that at an epoch's end it sees
    their state after that epoch. ``history`` holds every epoch's logs, restored ones first;
    ``interrupted`` the signal that stopped training, if one did.
    """

    def __init__(self, run_dir: Path, every_n_epochs: int, keep: int, callbacks=(),
                 guard=None, resume_from: Checkpoint | None = None, every_seconds: float = 0.0,
                 every_n_steps: int = 0):
        super().__init__()
        self.folder = Path(run_dir) / FOLDER
        self.every, self.every_n_steps, self.keep = every_n_epochs, every_n_steps, keep
        self.guard, self.every_seconds = guard, every_seconds
        self.stateful = _stateful(callbacks)
        self.resume_from = resume_from
        self.history: dict[str, list[float]] = {}
        self.epoch_seconds: list[float] = []  # each epoch's steps, without its validation
        self._epoch_start = self._last_step_end = time.perf_counter()
        self.previous_wall_time = 0.0
        self.interrupted: int | None = None
        self.interrupt_checkpoint: Path | None = None  # written when the signal came
        self._start = time.perf_counter()
        self._last_save = -float("inf")
        self._pending = False  # a checkpoint fell due within every_seconds of the last
        self._step = 0  # steps done, over the runs resumed
        self._epoch = self._batch = 0  # the epoch in progress, its steps done
        self._resumed_steps = 0  # steps of the resumed epoch done before the checkpoint
        self._metrics: list[np.ndarray] | None = None  # restored at the resumed epoch's start

    @property
    def wall_time_s(self) -> float:
        """Training time so far, over this process and the runs it resumed."""
        return self.previous_wall_time + time.perf_counter() - self._start

    @property
    def periodic(self) -> bool:
        return bool(self.every or self.every_n_steps)

    @property
    def steps_done(self) -> int:
        return self._step

    @property
    def position(self) -> tuple[int, int]:
        """(complete epochs, steps of the epoch in progress)."""
        return self._epoch, self._batch

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()
        if self.resume_from is not None:
            self._restore(self.resume_from)
        self._step = int(self.model.optimizer.iterations.numpy())

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch, self._batch = epoch, 0
        self._epoch_start = time.perf_counter()
        if self._metrics is not None:  # after Keras reset the metrics for this epoch
            for variable, value in zip(self.model.metrics_variables, self._metrics):
                variable.assign(value)
            self._metrics, self._batch = None, self._resumed_steps

    def on_train_batch_end(self, batch, logs=None):
        if batch < self._batch:  # (Keras' index in the epoch) done before the checkpoint:
            return  # the model fast-forwarded over it
        self._batch = batch + 1
        self._step += 1
        self._last_step_end = time.perf_counter()
        signum = interrupt.requested()
        if signum is not None:
            self.interrupted = signum
            self.model.stop_training = True
            self.model.skip_validation = True  # the epoch is not over: no evaluation
            self.interrupt_checkpoint = self.save()
            return
        if self.every_n_steps and self._step % self.every_n_steps == 0:
            self._pending = True
        epoch_over = self._batch == self.params.get("steps")  # on_epoch_end saves it
        if self._pending and not epoch_over and self._allowed():
            self.save()

    def on_epoch_end(self, epoch, logs=None):
        if self.interrupted is not None:  # a partial epoch: its checkpoint is written
            return
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        self.epoch_seconds.append(round(self._last_step_end - self._epoch_start, 4))
        self._epoch, self._batch = epoch + 1, 0
        if not self.periodic:
            return
        if self.every and (epoch + 1) % self.every == 0:
            self._pending = True
        last = epoch + 1 == self.params.get("epochs") or self.model.stop_training
        if last or (self._pending and self._allowed()):
            self.save()

    def _allowed(self) -> bool:
        return time.monotonic() - self._last_save >= self.every_seconds

    def save(self) -> Path | None:
        """Write the checkpoint of this point, unless a value is not finite."""
        self._pending, self._last_save = False, time.monotonic()
        if self.guard is not None and self.guard.failure:
            return None
        arrays, shapes = {}, {}
        states = {}
        for name, callback in self.stateful.items():  # first: the recorder flushes its rows
            state, values = callback.checkpoint_state()
            states[name] = state
            for i, value in enumerate(values):
                arrays[f"callback:{name}:{i}"] = np.asarray(value)
        for group, variables in _groups(self.model).items():
            for i, variable in enumerate(variables):
                arrays[f"{group}:{i}"] = np.asarray(variable.numpy())
            shapes[group] = [list(v.shape) for v in variables]
        bad = [name for name, a in arrays.items()
               if np.issubdtype(a.dtype, np.floating) and not np.all(np.isfinite(a))]
        if bad:
            self._stop_on_non_finite(bad[0])
            return None
        epochs_done, steps_in_epoch = self.position
        meta = {"epochs_done": epochs_done, "steps_in_epoch": steps_in_epoch,
                "step": self._step, "stopped": bool(self.model.stop_training and
                                                    self.interrupted is None),
                "history": self.history, "epoch_seconds": self.epoch_seconds,
                "wall_time_s": self.wall_time_s, "shapes": shapes,
                "callbacks": states}
        arrays["__meta__"] = np.array(json.dumps(meta))
        self.folder.mkdir(exist_ok=True)
        path = self.folder / file_name(epochs_done, self._step, steps_in_epoch)
        temporary = self.folder / f".{path.name}.{os.getpid()}.tmp"
        with open(temporary, "wb") as file:
            np.savez(file, **arrays)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
        for old in checkpoints(self.folder.parent)[:-self.keep]:
            old.unlink(missing_ok=True)
        return path

    def _stop_on_non_finite(self, key: str) -> None:
        """Weights can turn NaN while the loss and gradients stay finite (ReLU's max(x, 0)
        and the losses' clipping swallow NaN); the checkpoint finds it: stop, keep the last
        finite checkpoint, and report it through the guard (exit status 3)."""
        group, index = key.split(":")[0], int(key.split(":")[-1])
        where = _groups(self.model)[group][index].path if group != "callback" else key
        self.model.stop_training = True
        epochs_done, steps = self.position
        when = f"the end of epoch {epochs_done}" if not steps else f"step {self._step}"
        if self.guard is not None:
            self.guard.failure = (f"a variable became NaN or infinite by {when} ({where}); "
                                  "the loss and gradients stayed finite")

    def _restore(self, checkpoint: Checkpoint) -> None:
        meta, arrays = checkpoint.meta, checkpoint.arrays
        groups = _groups(self.model)
        metrics = groups.pop("metrics")
        for group, variables in groups.items():
            shapes = [list(v.shape) for v in variables]
            if meta["shapes"].get(group) != shapes:
                raise CheckpointError(
                    f"{FOLDER}/{checkpoint.path.name}: its {group} variables do not match the "
                    f"model built from the run's config.yaml "
                    f"({len(meta['shapes'].get(group, []))} saved, {len(shapes)} built); was "
                    "config.yaml edited?")
            for i, variable in enumerate(variables):
                variable.assign(arrays[f"{group}:{i}"])
        for name, callback in self.stateful.items():
            if name in meta["callbacks"]:
                count = sum(k.startswith(f"callback:{name}:") for k in arrays)
                callback.restore_checkpoint_state(
                    meta["callbacks"][name], [arrays[f"callback:{name}:{i}"] for i in range(count)])
        self.history = {k: list(v) for k, v in meta["history"].items()}
        self.previous_wall_time = float(meta["wall_time_s"])
        self.epoch_seconds = list(meta.get("epoch_seconds", []))
        if checkpoint.steps_in_epoch:
            if meta["shapes"].get("metrics") != [list(v.shape) for v in metrics]:
                raise CheckpointError(f"{FOLDER}/{checkpoint.path.name}: its metrics do not "
                                      "match the run's config.yaml; was it edited?")
            self._metrics = [arrays[f"metrics:{i}"] for i in range(len(metrics))]
            self._resumed_steps = checkpoint.steps_in_epoch
            self.model.fast_forward(self._resumed_steps)
