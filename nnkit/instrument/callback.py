"""The Keras callback around the recorder: the writer, per-epoch flow, final diagnosis."""

from __future__ import annotations

import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from nnkit.instrument.diagnosis import Thresholds, diagnose
from nnkit.instrument.flow_plot import gradient_flow_figure, to_png
from nnkit.instrument.recorder import Recorder


class InstrumentationCallback(keras.callbacks.Callback):
    """Opens the recorder's event files; once per epoch, writes out its rows, reads the mean
    gradient norm per layer and logs the gradient-flow image (at most every
    ``image_every_seconds``, and always the last epoch's); at the end, writes
    ``gradient_flow.png`` and the diagnosis (also as TensorBoard text).

    Args:
        recorder: the model's :class:`Recorder`.
        log_dir: the run folder; events go to ``<log_dir>/train`` beside Keras' own.
        thresholds: for the diagnosis.
    """

    def __init__(self, recorder: Recorder, log_dir: str | Path, thresholds: Thresholds,
                 image_every_seconds: float = 10.0):
        super().__init__()
        self.recorder, self.log_dir, self.thresholds = recorder, Path(log_dir), thresholds
        self.image_every_seconds = image_every_seconds
        self.flow_history: list[np.ndarray] = []
        self.findings = []
        self.keys = [p.key for p in recorder.with_variables]
        self._last_image = -float("inf")
        self._pending_epoch = None  # an epoch whose image was skipped

    def on_train_begin(self, logs=None):
        self.recorder.open(self.log_dir / "train")

    def on_epoch_end(self, epoch, logs=None):
        self.recorder.flush()
        self.recorder.writer.flush()  # on disk before the epoch's checkpoint
        flow = self.recorder.take_epoch_flow()
        if flow is None:
            return
        self.flow_history.append(flow)
        self._pending_epoch = epoch
        if time.monotonic() - self._last_image >= self.image_every_seconds:
            self._log_image(epoch)

    def _log_image(self, epoch: int) -> None:
        """The flow picture as a TensorBoard image (drawing it costs ~0.1-0.2 s, so epochs
        shorter than ``image_every_seconds`` are drawn only every so often, and the last)."""
        png = to_png(gradient_flow_figure(self.keys, self.flow_history[-1],
                                          f"gradient flow, epoch {epoch + 1}"))
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
        return {"flow_rows": flow_count, "has_flow": bool(self.flow_history)}, [
            flow_sum, *self.flow_history[-1:]]

    def restore_checkpoint_state(self, state: dict, arrays: list[np.ndarray]) -> None:
        if "flow_rows" not in state:  # written before mid-epoch checkpoints existed
            self.flow_history = list(arrays)
            return
        self.recorder.epoch_flow_so_far = (arrays[0], int(state["flow_rows"]))
        self.flow_history = list(arrays[1:])

    def on_train_end(self, logs=None):
        recorder = self.recorder
        recorder.flush()
        if self._pending_epoch is not None:
            self._log_image(self._pending_epoch)
        step = int(self.model.optimizer.iterations.numpy())
        flow = self.flow_history[-1] if self.flow_history else None
        units = [int(self.model.trainable_variables[p.kernel].shape[-1])
                 for p in recorder.with_kernel]
        distinct = recorder.distinct.numpy()
        if recorder.histogram_every == 0 or not np.any(distinct):
            distinct = np.full(len(units), -1)  # never measured: no symmetry verdict
        self.findings = diagnose(
            self.keys, flow, step, [p.key for p in recorder.can_die], recorder.dead.numpy(),
            [p.key for p in recorder.with_kernel], distinct, units,
            recorder.first_nonfinite, self.thresholds)
        if flow is not None:
            (self.log_dir / "gradient_flow.png").write_bytes(
                to_png(gradient_flow_figure(self.keys, flow, "gradient flow, last epoch")))
        text = "\n".join(f"- {f}" for f in self.findings) or "no problems found"
        with recorder.writer.as_default(step=step):
            tf.summary.text("diagnosis", text)
        recorder.writer.flush()
