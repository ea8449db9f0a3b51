"""Stop training at the first non-finite loss or gradient, and say where it happened."""

from __future__ import annotations

import math

import keras


from nnkit.errors import NonFiniteError

__all__ = ["NonFiniteError", "NonFiniteGuard"]


def non_finite_values(values: dict) -> list[str]:
    """The names in ``values`` (metric → number) whose number is NaN or infinite."""
    return [name for name, value in values.items()
            if isinstance(value, (int, float)) and not math.isfinite(float(value))]


class NonFiniteGuard(keras.callbacks.Callback):
    """Stops ``fit`` after the first step whose loss or gradients are NaN/Inf and says where;
    ``failure`` then holds a one-line description.

    The loss is checked after every step, the validation loss and metrics after every
    epoch that evaluates them. The gradients: without instrumentation, the step
    marks the first non-finite one (the model's ``nonfinite_step``, read every step); with
    it, no read per step: the recorder finds it in the rows it writes out, at each epoch's
    end and as soon as the loss fails (a non-finite gradient usually makes the next loss
    non-finite), and the message also names the first layer, in depth order, whose gradient
    went non-finite.

    Replaces ``keras.callbacks.TerminateOnNaN``, which knows only the loss.
    """

    def __init__(self):
        super().__init__()
        self.failure: str | None = None
        self.failure_at: tuple[str, int] = ("", -1)  # (loss, gradient or validation; step)

    def on_train_batch_end(self, batch, logs=None):
        if self.failure is not None:
            return
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            if self.model.recorder is not None:
                self.model.recorder.flush()  # its rows may hold the gradient that caused it
            self._stop("loss", int(self.model.optimizer.iterations.numpy()) - 1)
        elif self.model.recorder is None and self.model.nonfinite_step >= 0:
            self._stop("gradient", self.model.nonfinite_step)

    def on_epoch_end(self, epoch, logs=None):
        if self.failure is None and self.model.recorder is not None:
            self.model.recorder.flush()
            if self.model.nonfinite_step >= 0:
                self._stop("gradient", self.model.nonfinite_step)
        if self.failure is None:
            bad = non_finite_values({k[len("val_"):]: v for k, v in (logs or {}).items()
                                     if k.startswith("val_")})
            if bad:
                self.failure = (f"the validation {bad[0]} became NaN or infinite at epoch "
                                f"{epoch + 1}")
                self.failure_at = ("validation", int(self.model.optimizer.iterations.numpy()) - 1)
                self.model.stop_training = True

    def _stop(self, what: str, step: int) -> None:
        """Describe the failure, naming the gradient's layer when the recorder found it in the
        rows written out so far (the callers flush it first)."""
        recorder, where = self.model.recorder, ""
        if recorder is not None:
            found_step, layer = recorder.first_nonfinite
            if 0 <= found_step <= step:
                what, step = "gradient", found_step
                where = (f" in {recorder.with_variables[layer].key} (the first layer, from "
                         "the input, whose gradient is not finite)")
        self.failure = f"the {what} became NaN or infinite at step {step}{where}"
        self.failure_at = (what, step)
        self.model.stop_training = True
