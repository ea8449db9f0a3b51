"""Stop training at the first non-finite loss or gradient, and say where it happened."""

from __future__ import annotations

import math

import keras


class NonFiniteError(Exception):
    """Training stopped because the loss or a gradient became NaN or infinite."""


class NonFiniteGuard(keras.callbacks.Callback):
    """Stops ``fit`` after the first step whose loss or gradients are NaN/Inf (the model's
    ``nonfinite_step``); with instrumentation, the message also names the first layer in depth
    order whose gradient went non-finite. ``failure`` then holds a one-line description.

    Replaces ``keras.callbacks.TerminateOnNaN``, which knows only the loss.
    """

    def __init__(self):
        super().__init__()
        self.failure: str | None = None
        self._step = 0

    def on_train_batch_end(self, batch, logs=None):
        step = self._step
        self._step += 1
        if self.failure is not None:
            return
        loss = (logs or {}).get("loss")
        what = "loss" if loss is not None and not math.isfinite(float(loss)) else None
        bad_step = self.model.nonfinite_step
        where = ""
        if bad_step >= 0:
            what, step = "gradient", bad_step
            recorder = self.model.recorder
            if recorder is not None:
                found_step, layer = (int(v) for v in recorder.first_nonfinite.numpy())
                if found_step >= 0:
                    where = (f" in {recorder.with_variables[layer].key} (the first layer, from "
                             "the input, whose gradient is not finite)")
        if what:
            self.failure = f"the {what} became NaN or infinite at step {step}{where}"
            self.model.stop_training = True
