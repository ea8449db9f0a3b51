"""The dynamics instruments on a schedule during ``fit`` (``logging.dynamics``).

At the start of every step due (the weights the step's gradient is taken at; step 0 shows
the initialisation), on a fixed probe batch of training samples in inference mode:

==================================  =======================================================
``gradient_noise_scale``            B_simple = tr(Σ)/|G|² (not written while |G|²'s
                                    estimate is ≤ 0: the batch cannot resolve the gradient)
``gradient_noise/trace_sigma``,     its parts, unbiased
``gradient_noise/signal``
``gsnr/<layer>``                    mean gradient signal-to-noise ratio of the layer's
                                    parameters
``probe_loss``                      the probe batch's loss (inference mode), where the noise
                                    was measured: B_simple against the loss it goes with
                                    (``batch_loss``, the step's own, with
                                    ``gradient_noise_on: batch``: then the noise is the
                                    training batch's, from the step's backward pass)
``effective_rank``                  of the penultimate features (the last kernel layer's
                                    input)
``hessian_trace``                   Hutchinson's estimate of tr(H)
``sharpness``                       λ_max(H) (Lanczos)
``preconditioned_sharpness``        λ_max(D⁻¹H) for Adam and RMSProp (their threshold's)
``sharpness_limit``                 the optimizer's stability limit at its current
                                    learning rate: 2/η, (2 + 2β)/η, 38/η for Adam, ...
==================================  =======================================================

Each measurement is a few forward and backward passes on the probe batch, compiled once, run
from Python between steps (so none of it is in the training step's graph). The sharpness
also feeds the diagnosis (``edge_of_stability``).
"""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from nnkit.dynamics import stability
from nnkit.dynamics.hessian import HessianVectorProduct, top_eigenvalue, trace_estimate
from nnkit.dynamics.in_step import ATTRIBUTE as STEP_NOISE, StepNoise
from nnkit.dynamics.noise import MomentsFunction, layer_groups, noise_from_statistics
from nnkit.dynamics.objective import LayerInputs, Objective
from nnkit.dynamics.rank import effective_rank
from nnkit.instrument.event_file import EventFile
from nnkit.instrument.summaries import ScalarWriter


class DynamicsCallback(keras.callbacks.Callback):
    """Runs the instruments of ``settings`` (the ``logging.dynamics`` section: its schedule,
    iterations, probes, edge fraction) on ``(x, y)`` and writes them to ``<log_dir>/train``.

    Args:
        log_dir: the run folder.
        x, y: the probe batch.
        settings: a :class:`nnkit.config.dynamics.Dynamics`.
        loss: the loss to differentiate (None: the model's compiled loss).
        diagnosis: a callable returning the run's Diagnosis (or None), which the sharpness
            feeds.
        schedule: instrument → every N steps, instead of ``settings.schedule()``.
    """

    def __init__(self, log_dir, x, y, settings, loss=None, diagnosis=None,
                 schedule: dict[str, int] | None = None):
        super().__init__()
        self.log_dir, self.x, self.y, self.loss = Path(log_dir), x, y, loss
        self.settings = settings
        self.schedule = dict(settings.schedule() if schedule is None else schedule)
        self._diagnosis = diagnosis or (lambda: None)
        self.writer = None
        self._objective = self._hvp = self._moments = self._features = None
        self._groups: dict[str, list[int]] = {}
        self._encoders: dict[tuple, ScalarWriter] = {}
        self._unfed: list[tuple] = []  # sharpness measurements the diagnosis has not had
        self._step_noise = None  # gradient_noise_on: batch, once installed
        self._step_noise_seen = 0
        self._measured_step = self._noise_step = None  # the last step each hook handled

    # --- set-up, once the model is built --------------------------------------------------

    def _ready(self) -> bool:
        model = self.model
        if self._objective is not None:
            return True
        if not model.built:
            return False
        self._objective = Objective(model, self.x, self.y, self.loss)
        self._hvp = HessianVectorProduct(self._objective)
        self._moments = MomentsFunction(self._objective)
        self._groups = layer_groups(model)
        if self.writer is None:
            self.writer = EventFile(self.log_dir / "train", "dynamics")
        return True

    # --- Keras hooks ----------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        """With ``gradient_noise_on: batch``, the model's step measures the noise itself
        (:mod:`nnkit.dynamics.in_step`); on one device only."""
        every = self.schedule.get("gradient_noise")
        strategy = getattr(self.model, "distribute_strategy", None)
        if (every and self.settings.gradient_noise_on == "batch" and self._step_noise is None
                and (strategy is None or strategy.num_replicas_in_sync == 1)):
            self._step_noise = StepNoise(self.model, every)
            self._step_noise_seen = 0
            self.schedule.pop("gradient_noise")
        if self._step_noise is not None:
            self.model.__dict__[STEP_NOISE] = self._step_noise  # (not tracked by Keras)

    def on_train_batch_end(self, batch, logs=None):
        noise = self._step_noise
        if noise is None:
            return
        step = int(self.model.optimizer.iterations.numpy()) - 1
        if step % noise.every or step == self._noise_step:  # (a fast-forwarded batch)
            return
        self._noise_step = step
        rows, loss, size, seen = noise.read()
        if seen == self._step_noise_seen:  # the step is not nnkit's: measure on the probe
            self._step_noise = None
            self.model.__dict__.pop(STEP_NOISE, None)
            self.schedule["gradient_noise"] = noise.every
            return
        self._step_noise_seen = seen
        if self._ready():
            self._write(step, self._noise_values(noise_from_statistics(
                (rows, loss), size, self._groups), "batch_loss"))

    def on_train_batch_begin(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        if step == self._measured_step:  # a batch a resumed run fast-forwards over: the
            return  # weights (and the step number) are those measured already
        self._measured_step = step
        due = [name for name, every in self.schedule.items() if step % every == 0]
        if due and self._ready():
            values = {}
            for name in due:
                values.update(getattr(self, f"_{name}")(step))
            self._write(step, values)

    def on_epoch_end(self, epoch, logs=None):
        self._feed()
        if self.writer is not None:
            self.writer.flush()

    def on_train_end(self, logs=None):
        self._feed()
        if self.model is not None:
            self.model.__dict__.pop(STEP_NOISE, None)
        if self.writer is not None:
            self.writer.flush()

    # --- the instruments ------------------------------------------------------------------

    def _gradient_noise(self, step: int) -> dict[str, float]:
        return self._noise_values(noise_from_statistics(
            self._moments.statistics(), self._objective.batch_size, self._groups), "probe_loss")

    @staticmethod
    def _noise_values(noise, loss_tag: str) -> dict[str, float]:
        values = {loss_tag: noise.loss, "gradient_noise/trace_sigma": noise.trace_sigma,
                  "gradient_noise/signal": noise.gradient_norm_sq,
                  **{f"gsnr/{key}": value for key, value in noise.gsnr.items()}}
        if math.isfinite(noise.b_simple):
            values["gradient_noise_scale"] = noise.b_simple
        return values

    def _effective_rank(self, step: int) -> dict[str, float]:
        if self._features is None:
            last = _last_kernel_layer(self.model)
            self._features = False if last is None else LayerInputs(self.model, last, self.x)
        features = self._features() if self._features else None
        if features is None:
            return {}
        return {"effective_rank": effective_rank(tf.cast(features, tf.float32).numpy())}

    def _hessian_trace(self, step: int) -> dict[str, float]:
        return {"hessian_trace": trace_estimate(self._hvp.precondition(None),
                                                self.settings.trace_samples, seed=step)}

    def _sharpness(self, step: int) -> dict[str, float]:
        optimizer, iterations = self.model.optimizer, self.settings.sharpness_iterations
        values = {"sharpness": top_eigenvalue(self._hvp.precondition(None), iterations,
                                              seed=step)}
        compared = values["sharpness"]
        limit = stability.sharpness_limit(optimizer)
        if stability.is_preconditioned(optimizer):
            d = stability.preconditioner(optimizer, self._objective.variables)
            if d is None or step == 0:  # no second moments yet: nothing to compare
                return values
            compared = top_eigenvalue(self._hvp.precondition(d), iterations, seed=step)
            values["preconditioned_sharpness"] = compared
        if limit is not None:
            values["sharpness_limit"] = limit
            self._unfed.append((step, compared, limit, self.settings.edge_fraction,
                                "preconditioned_sharpness" in values))
            self._feed()
        return values

    def _feed(self) -> None:
        """Hand the sharpness measurements to the diagnosis, once it exists (``nnkit.watch``
        makes it on the first step, after step 0 was measured)."""
        diagnosis = self._diagnosis()
        if diagnosis is not None:
            for observation in self._unfed:
                diagnosis.add_sharpness(*observation)
            self._unfed = []

    def _write(self, step: int, values: dict[str, float]) -> None:
        """One ``Summary`` of the finite values at ``step``, encoded from a template per set
        of tags (an eager ``tf.summary.scalar`` costs ~0.2 ms a tag: more than a small
        model's step)."""
        tags = tuple(tag for tag, value in values.items() if np.isfinite(value))
        if tags not in self._encoders:
            self._encoders[tags] = ScalarWriter(list(tags))
        row = np.array([[values[tag] for tag in tags]])
        self._encoders[tags].write(self.writer, row, [step])


def _last_kernel_layer(model):
    from nnkit.instrument.plan import kernel_plans

    kernels = kernel_plans(model)
    return kernels[-1].layer if kernels else None
