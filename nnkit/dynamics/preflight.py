"""The pre-flight check: before any training, will the signal and the gradient vanish or
explode through depth? (``nnkit check CONFIG``, and at step 0 of every ``nnkit run``.)

On a fixed probe batch, at initialisation, in inference mode:

* **signal**: the pre-activations' length q^l at every kernel layer
  (:func:`~nnkit.dynamics.signal_propagation`); the fitted trend of √q across depth
  (:mod:`nnkit.instrument.depth_trend`), output end over input end, against the diagnosis'
  ``signal_collapse_threshold`` and ``signal_explosion_threshold``;
* **gradient**: ‖∇W‖/‖W‖ of every kernel from one backward pass on the batch; its trend,
  input end over output end, against ``vanishing_threshold`` and ``exploding_threshold``
  (the statistic the diagnosis watches during training);
* **Jacobian**: the singular values of the input-to-logits Jacobian (the output layer's
  pre-activation: a softmax is not part of the signal path), mean square and largest
  (:func:`~nnkit.dynamics.jacobian_spectrum`); dynamical isometry is both near 1;
* **symmetry**: kernel layers whose units all have identical weights (constant
  initialisation), which gradient descent can never tell apart.

The thresholds are the diagnosis', so a pre-flight warning predicts the finding training
would produce.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass, field

import keras
import numpy as np
import tensorflow as tf

from nnkit.dynamics.jacobian import jacobian_spectrum
from nnkit.dynamics.objective import Objective
from nnkit.dynamics.propagation import signal_propagation
from nnkit.dynamics.taps import dense_activation
from nnkit.instrument.depth_trend import depth_trend


@dataclass
class Preflight:
    samples: int
    layers: list[str]
    signal_span: float | None  # √q output end / input end (fitted), None below 2 layers
    gradient_span: float | None  # ‖∇W‖/‖W‖ input end / output end (fitted)
    jacobian_mean_squared: float | None  # None: token inputs (no derivative by an id)
    jacobian_max: float | None
    symmetric: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # each a kind of finding predicted

    def lines(self) -> list[str]:
        """What ``nnkit check`` prints."""
        def span(value):
            return "n/a (fewer than 2 kernel layers)" if value is None else f"{value:.3g}"

        words = {"signal_collapse": "the signal vanishes through depth",
                 "signal_explosion": "the signal explodes through depth",
                 "vanishing_gradients": "the gradient vanishes toward the input",
                 "exploding_gradients": "the gradient explodes toward the input",
                 "symmetric_layer": "units with identical weights stay identical"}
        found = [words[p] for p in self.problems]
        return [
            f"at initialisation, on {self.samples} training samples, {len(self.layers)} kernel "
            f"layers:",
            f"  signal    √q output end / input end (fitted): {span(self.signal_span)}",
            f"  gradient  ‖∇W‖/‖W‖ input end / output end (fitted): {span(self.gradient_span)}",
            ("  jacobian  n/a (token inputs: the logits have no derivative by a token id)"
             if self.jacobian_mean_squared is None else
             f"  jacobian  input → logits: mean s² {self.jacobian_mean_squared:.3g}, largest s "
             f"{self.jacobian_max:.3g} (dynamical isometry: both near 1)"),
            f"  symmetry  {', '.join(self.symmetric) if self.symmetric else 'none'}",
            "predicted: " + ("; ".join(found) if found else "no vanishing or exploding signal "
                                                             "or gradient"),
        ]

    def to_dict(self) -> dict:
        return asdict(self)


@contextlib.contextmanager
def _logits(plans):
    """The output layer's fused activation off (the last of the kernel ``plans``, a Dense
    layer), while active."""
    attribute = dense_activation(plans[-1].layer) if plans else None
    if attribute is None:
        yield
        return
    layer = plans[-1].layer
    saved = getattr(layer, attribute)
    setattr(layer, attribute, lambda z: z)
    try:
        yield
    finally:
        setattr(layer, attribute, saved)


def _distinct_units(kernel: np.ndarray) -> int:
    return len(np.unique(kernel.reshape(-1, kernel.shape[-1]).T, axis=0))


def preflight(model, x, y, loss, thresholds) -> Preflight:
    """The pre-flight check of ``model`` on the batch (x, y) (module docstring);
    ``thresholds`` is the config's ``logging`` section (or anything with its threshold
    attributes)."""
    from nnkit.instrument.plan import kernel_plans

    plans = kernel_plans(model)
    propagation = signal_propagation(model, x)
    with np.errstate(divide="ignore", invalid="ignore"):
        signal = depth_trend(np.log10(np.sqrt(propagation.q)))
    objective = Objective(model, x, y, loss)
    variables = model.trainable_variables
    with tf.GradientTape() as tape:
        value = objective()
    gradients = tape.gradient(value, [variables[p.kernel] for p in plans])
    relative = [float(tf.norm(g) / tf.norm(variables[p.kernel])) if g is not None else np.nan
                for g, p in zip(gradients, plans)]
    with np.errstate(divide="ignore", invalid="ignore"):
        gradient = depth_trend(np.log10(relative))
    jacobian = None
    if not any(isinstance(layer, keras.layers.Embedding) for layer in model._flatten_layers()):
        with _logits(plans):
            jacobian = jacobian_spectrum(model, x[:32], probes=8, iterations=20)
    symmetric = [p.key for p in plans if variables[p.kernel].shape[-1] > 1
                 and _distinct_units(np.asarray(variables[p.kernel])) == 1]
    signal_span = None if signal is None else signal.span
    gradient_span = None if gradient is None else 1.0 / gradient.span
    problems = []
    if signal_span is not None and signal_span < thresholds.signal_collapse_threshold:
        problems.append("signal_collapse")
    if signal_span is not None and signal_span > thresholds.signal_explosion_threshold:
        problems.append("signal_explosion")
    if gradient_span is not None and gradient_span < thresholds.vanishing_threshold:
        problems.append("vanishing_gradients")
    if gradient_span is not None and gradient_span > thresholds.exploding_threshold:
        problems.append("exploding_gradients")
    if symmetric:
        problems.append("symmetric_layer")
    return Preflight(len(x), [p.key for p in plans], signal_span, gradient_span,
                     None if jacobian is None else jacobian.mean_squared,
                     None if jacobian is None else jacobian.max, symmetric, problems)


def check_experiment(experiment, samples: int = 256) -> Preflight:
    """The pre-flight check of an nnkit experiment's network on its probe batch."""
    x, y = experiment.probe_batch(max(samples, 2))
    from nnkit import losses

    loss = losses.build(experiment.config.loss, experiment.dataset.task)
    return preflight(experiment.network, x, y, loss, experiment.config.logging)
