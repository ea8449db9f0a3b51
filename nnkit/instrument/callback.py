"""The Keras callback around the recorder: the writer, per-epoch flow, the online diagnosis."""

from __future__ import annotations

import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from nnkit.findings import summary_text
from nnkit.instrument.diagnosis import Diagnosis
from nnkit.instrument.flow_plot import gradient_flow_figure, to_png
from nnkit.instrument.layout import write_layout
from nnkit.instrument.plan import layer_table
from nnkit.layer_keys import LAYERS_FILE
from nnkit.instrument.recorder import Recorder
from nnkit.training.run_dir import write_json


class InstrumentationCallback(keras.callbacks.Callback):
    """Opens the recorder's event files; at each epoch's end, writes out its rows (which
    feed the diagnosis), judges the epoch's loss, logs the findings when they changed
    (TensorBoard text ``diagnosis``, and ``on_findings``), stops training on a finding of a
    ``stop_on`` kind, and logs the gradient-flow image (at most every
    ``image_every_seconds``, and always the last epoch's); at the end, writes
    ``gradient_flow.png`` and the whole run's diagnosis.

    Args:
        recorder: the model's :class:`Recorder`.
        log_dir: the run folder; events go to ``<log_dir>/train`` beside Keras' own.
        diagnosis: the :class:`Diagnosis` the recorder's rows go to.
        stop_on: kinds of finding that stop training at the end of the epoch they fire in.
        on_findings: called with the findings (as dicts) whenever they change.
    """

    def __init__(self, recorder: Recorder | None, log_dir: str | Path,
                 diagnosis: Diagnosis | None, image_every_seconds: float = 10.0, stop_on=(),
                 on_findings=None):
        super().__init__()
        self.log_dir = Path(log_dir)
        self.image_every_seconds = image_every_seconds
        self.stop_on, self.on_findings = set(stop_on) - {"non_finite"}, on_findings
        self.guard = None  # the NonFiniteGuard, whose failure the diagnosis reports
        self.stopped_by: dict | None = None  # the finding that stopped training
        self.flow_history: list[np.ndarray] = []
        self.recorder = self.diagnosis = None
        if recorder is not None:
            self.bind(recorder, diagnosis)
        self._last_image = -float("inf")
        self._pending_epoch = None  # an epoch whose image was skipped
        self._epoch_start = 0
        self._logged: list[dict] = []  # the findings as last logged

    def bind(self, recorder: Recorder, diagnosis: Diagnosis) -> None:
        """Set the recorder and diagnosis (before training begins)."""
        self.recorder, self.diagnosis = recorder, diagnosis
        self.keys = [p.key for p in recorder.with_variables]

    @property
    def findings(self) -> list:
        return self.diagnosis.findings()

    def on_train_begin(self, logs=None):
        self.open()

    def open(self) -> None:
        """Open the recorder's outputs (its events, ``layers.json``), once."""
        if self.recorder.writer is None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            write_json(self.log_dir / LAYERS_FILE, {"layers": layer_table(self.recorder.plans)})
            recorder = self.recorder
            variables = {name for p in recorder.with_variables for name, _ in p.variables}
            write_layout(self.log_dir / "train",
                         recorder.scalar_tags + recorder.histogram_scalar_tags,
                         variables if recorder.per_variable else ())
        self.recorder.open(self.log_dir / "train")
        self.recorder.diagnosis = self.diagnosis

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = int(self.model.optimizer.iterations.numpy())

    def on_epoch_end(self, epoch, logs=None):
        self.recorder.flush()
        step = int(self.model.optimizer.iterations.numpy()) - 1
        self.diagnosis.add_epoch(epoch + 1, (self._epoch_start, step), (logs or {}).get("loss"))
        self._report(step)
        self._stop_if_asked(epoch)
        self.recorder.writer.flush()  # on disk before the epoch's checkpoint
        flow = self.recorder.take_epoch_flow()
        if flow is None:
            return
        self.flow_history.append(flow)
        self._pending_epoch = epoch
        if time.monotonic() - self._last_image >= self.image_every_seconds:
            self._log_image(epoch)

    def _report(self, step: int, final: bool = False) -> None:
        """Log the findings when they differ from those last logged (and at the end)."""
        findings = [f.to_dict() for f in self.diagnosis.findings()]
        if findings == self._logged and not final:
            return
        self._logged = findings
        with self.recorder.writer.as_default(step=max(step, 0)):
            tf.summary.text("diagnosis", summary_text(findings, self.diagnosis.coverage))
        if self.on_findings is not None:
            self.on_findings(findings)

    def _stop_if_asked(self, epoch: int) -> None:
        firing = self.diagnosis.open_kinds() & self.stop_on
        if firing and self.stopped_by is None:
            found = [f for f in self.diagnosis.findings() if f.kind in firing and not f.recovered]
            self.stopped_by = {**found[0].to_dict(), "epoch": epoch + 1}
            self.model.stop_training = True

    def _first(self):
        """The first epoch's flow, drawn beside a later one's (None while it is the only)."""
        return self.flow_history[0] if len(self.flow_history) > 1 else None

    def _log_image(self, epoch: int) -> None:
        """The flow picture as a TensorBoard image (drawing it costs ~0.1-0.2 s, so epochs
        shorter than ``image_every_seconds`` are drawn only every so often, and the last)."""
        png = to_png(gradient_flow_figure(self.keys, self.flow_history[-1],
                                          f"gradient flow, epoch {epoch + 1}", self._first()))
        with self.recorder.writer.as_default(step=epoch):
            tf.summary.image("gradient_flow", tf.io.decode_png(png)[None])
        self.recorder.writer.flush()
        self._last_image, self._pending_epoch = time.monotonic(), None

    def checkpoint_state(self) -> tuple[dict, list[np.ndarray]]:
        """The last epoch's flow (for the final picture and diagnosis of a resumed run) and,
        in the middle of an epoch, the epoch's flow so far. The recorder's rows are written
        out first, so a checkpoint never holds rows that its run's events also hold."""
        self.recorder.flush()
        self.recorder.writer.flush()
        flow_sum, flow_count = self.recorder.epoch_flow_so_far
        return {"flow_rows": flow_count, "has_flow": bool(self.flow_history),
                "diagnosis": self.diagnosis.state(), "logged": self._logged,
                "stopped_by": self.stopped_by}, [flow_sum, *self.flow_history[-1:]]

    def restore_checkpoint_state(self, state: dict, arrays: list[np.ndarray]) -> None:
        if "flow_rows" not in state:  # written before mid-epoch checkpoints existed
            self.flow_history = list(arrays)
            return
        self.recorder.epoch_flow_so_far = (arrays[0], int(state["flow_rows"]))
        self.flow_history = list(arrays[1:])
        if "diagnosis" in state:  # (not in checkpoints of runs before episodes)
            self.diagnosis.restore(state["diagnosis"])
            self._logged, self.stopped_by = state["logged"], state["stopped_by"]

    def on_train_end(self, logs=None):
        recorder = self.recorder
        recorder.flush()
        if self._pending_epoch is not None:
            self._log_image(self._pending_epoch)
        step = int(self.model.optimizer.iterations.numpy())
        self.diagnosis.finish()
        self._add_non_finite()
        flow = self.flow_history[-1] if self.flow_history else None
        if flow is not None:
            (self.log_dir / "gradient_flow.png").write_bytes(
                to_png(gradient_flow_figure(self.keys, flow, "gradient flow, last epoch",
                                            self._first())))
        self._report(step, final=True)
        recorder.writer.flush()

    def _add_non_finite(self) -> None:
        """The first non-finite gradient (the recorder found it) or, failing that, what else
        the guard stopped training on (the loss, a validation value)."""
        found_step, layer = self.recorder.first_nonfinite
        if found_step >= 0:
            self.diagnosis.add_non_finite(self.recorder.with_variables[layer].key, found_step,
                                          "the gradient became NaN or infinite")
        elif self.guard is not None and self.guard.failure:
            where, step = self.guard.failure_at
            self.diagnosis.add_non_finite(where, step, self.guard.failure)
