"""Gradient noise: per-example gradient statistics, the noise scale, per-layer GSNR.

For a batch of B examples with per-example gradients gᵢ = ∇ℓᵢ + ∇R, everything below is
read off two moments per parameter j, never the B × P matrix of the gᵢ themselves:

    s₁ⱼ = Σᵢ gᵢⱼ            s₂ⱼ = Σᵢ gᵢⱼ²

* the mean gradient ḡ = s₁/B, and the gradient covariance's trace
  tr(Σ) ≈ S = (Σⱼ s₂ⱼ - B‖ḡ‖²)/(B - 1) (unbiased);
* the simple noise scale B_simple = tr(Σ)/|G|² (McCandlish et al. 2018, "An Empirical
  Model of Large-Batch Training", eq. 2.8), with |G|² ≈ ‖ḡ‖² - S/B (unbiased): the batch
  size around which a step's noise and its signal are equal;
* the gradient signal-to-noise ratio of parameter j, GSNRⱼ = ḡⱼ²/Var(gⱼ) with
  Var(gⱼ) = s₂ⱼ/B - ḡⱼ² (Liu et al. 2020, "Understanding Why Neural Networks Generalize
  Well Through GSNR of Parameters"), averaged over a layer's parameters of non-zero
  variance.

s₂ for a Dense layer on 2-D inputs costs one matrix product: its per-example kernel
gradient is the outer product aᵢδᵢᵀ of the layer's input aᵢ and the gradient δᵢ = ∂ℓᵢ/∂zᵢ
at its pre-activation zᵢ, so Σᵢ (aᵢδᵢᵀ)² = (A∘A)ᵀ(Δ∘Δ) and the bias' Σᵢ δᵢ² (Goodfellow
2015, "Efficient per-example gradient computations"; BackPACK's SumGradSquared, Dangel et
al. 2020). A Dense layer on sequences and a Conv1D/Conv2D (on its input's patches) sum
aᵢₚδᵢₚᵀ over positions p per example: one batched product, B × the kernel's size. Every
other variable (recurrent cells, normalisation, a layer called twice) takes the vectorised
fallback: the Jacobian of the B per-example losses (``tf.GradientTape.jacobian`` with pfor),
B × its size, and a backward pass per example's worth of work.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from nnkit.dynamics.objective import Objective
from nnkit.dynamics.taps import PreactivationTaps, per_example_squares


@dataclass
class GradientMoments:
    """Σᵢ gᵢ and Σᵢ gᵢ² per trainable variable over a batch of ``batch_size`` examples."""

    batch_size: int
    first: list[np.ndarray]
    second: list[np.ndarray]
    fast: list[bool] = field(default_factory=list)  # s₂ from the Dense identity


@dataclass
class GradientNoise:
    """What :func:`gradient_noise_scale` measured (see the module's docstring)."""

    b_simple: float  # tr(Σ)/|G|²; inf where the batch cannot resolve |G|² (estimate ≤ 0)
    trace_sigma: float  # tr(Σ), unbiased
    gradient_norm_sq: float  # |G|², unbiased (may be ≤ 0 for a small, noisy batch)
    mean_gradient_norm_sq: float  # ‖ḡ‖², the batch gradient's (biased by tr(Σ)/B)
    batch_size: int
    gsnr: dict[str, float]  # per layer key: mean GSNR over its parameters
    variance: dict[str, float]  # per layer key: Σⱼ Var(gⱼ) over its parameters
    loss: float = float("nan")  # the batch's loss L(θ) where it was measured


def _dense(gradient):
    return None if gradient is None else tf.convert_to_tensor(gradient)


class MomentsFunction:
    """:class:`GradientMoments` of an :class:`Objective`, compiled once."""

    def __init__(self, objective: Objective):
        self.objective = objective
        self.taps = PreactivationTaps(objective.model)
        self._compiled = tf.function(self._moments)
        self._fast: list[bool] = []

    def _moments(self):
        objective, taps = self.objective, self.taps
        variables = objective.variables
        index = {id(v): i for i, v in enumerate(variables)}
        with tf.GradientTape(persistent=True) as tape:
            with taps.active():
                per_example = objective.per_example()
            total = tf.reduce_sum(per_example)
            regularization = objective.regularization()
        tapped = []
        for layer, _ in taps.layers:
            if taps.usable(layer) is not None:
                tapped.append((layer, taps.usable(layer)))
        # one backward pass for the variables and every tapped pre-activation z, whose
        # gradient's example-i slice is ∂ℓᵢ/∂zᵢ
        gradients = tape.gradient(total, [*variables, *(z for _, (_, z) in tapped)])
        first = [_dense(g) for g in gradients[:len(variables)]]
        second: list = [None] * len(variables)
        for (layer, (a, _)), delta in zip(tapped, gradients[len(variables):]):
            kernel, bias = per_example_squares(layer, a, delta)
            second[index[id(layer.kernel)]] = kernel
            if layer.bias is not None:
                second[index[id(layer.bias)]] = bias
        rest = [i for i, s in enumerate(second) if s is None]
        if rest:
            jacobians = tape.jacobian(per_example, [variables[i] for i in rest],
                                      unconnected_gradients=tf.UnconnectedGradients.ZERO)
            for i, jacobian in zip(rest, jacobians):
                second[i] = tf.reduce_sum(tf.square(tf.cast(jacobian, tf.float32)), 0)
        self._fast = [s is not None and i not in rest for i, s in enumerate(second)]
        r = tape.gradient(regularization, variables)
        del tape
        batch = tf.cast(tf.shape(per_example)[0], tf.float32)
        firsts, seconds = [], []
        for v, s1, s2, rj in zip(variables, first, second, r):
            s1 = tf.zeros(v.shape) if s1 is None else tf.cast(s1, tf.float32)
            if rj is not None:  # gᵢ = dᵢ + r: Σ(dᵢ + r)² = Σdᵢ² + 2rΣdᵢ + Br²
                rj = tf.cast(_dense(rj), tf.float32)
                s2 = s2 + 2.0 * rj * s1 + batch * tf.square(rj)
                s1 = s1 + batch * rj
            firsts.append(s1)
            seconds.append(s2)
        self._loss = total / batch + regularization
        return firsts, seconds

    def __call__(self) -> GradientMoments:
        firsts, seconds = self._compiled()
        return GradientMoments(self.objective.batch_size,
                               [f.numpy().astype(np.float64) for f in firsts],
                               [s.numpy().astype(np.float64) for s in seconds], list(self._fast))

    def statistics(self) -> tuple[np.ndarray, float]:
        """Per variable [V, 5], reduced in the compiled function (no P-sized transfer):
        Σⱼ s₂ⱼ, Σⱼ ḡⱼ², Σⱼ Var(gⱼ), Σⱼ GSNRⱼ and the count of parameters in that sum; and
        the batch's loss L(θ), from the same forward pass."""
        if self._statistics is None:
            self._statistics = tf.function(self._reduced)
        rows, loss = self._statistics()
        return rows.numpy().astype(np.float64), float(loss)

    _statistics = None

    def _reduced(self):
        firsts, seconds = self._moments()
        batch = float(self.objective.batch_size)
        return variable_rows(firsts, seconds, batch), self._loss


def variable_rows(firsts: list, seconds: list, batch) -> tf.Tensor:
    """Per variable [V, 5] from its moments s₁ = Σᵢgᵢ, s₂ = Σᵢgᵢ² over ``batch`` examples
    (None for a variable not measured: a row of NaN): Σⱼ s₂ⱼ, Σⱼ ḡⱼ², Σⱼ Var(gⱼ), Σⱼ GSNRⱼ and
    the count of parameters in that sum. (Variable by variable: one flat vector for all,
    reduced by segment, measured 2.3× slower on the CPU here.)"""
    rows = []
    for s1, s2 in zip(firsts, seconds):
        if s2 is None:
            rows.append(tf.fill([5], np.nan))
            continue
        mean = tf.cast(s1, tf.float32) / batch
        m2 = tf.square(mean)
        var = tf.maximum(s2 / batch - m2, 0.0)
        noisy = var > 1e-12 * tf.maximum(m2, 1e-30)  # rounding, not variance, below this
        ratio = tf.where(noisy, m2 / tf.where(noisy, var, 1.0), 0.0)
        rows.append(tf.stack([tf.reduce_sum(s2), tf.reduce_sum(m2), tf.reduce_sum(var),
                              tf.reduce_sum(ratio), tf.reduce_sum(tf.cast(noisy, tf.float32))]))
    return tf.stack(rows)


def gradient_moments(model, x, y, loss=None, training: bool = False) -> GradientMoments:
    """Σᵢ gᵢ and Σᵢ gᵢ² per trainable variable over the batch (x, y) (module docstring)."""
    return MomentsFunction(Objective(model, x, y, loss, training))()


def noise_from_statistics(statistics: tuple[np.ndarray, float], batch_size: int,
                          groups: dict[str, list[int]]) -> GradientNoise:
    """B_simple, tr(Σ), |G|² and per-group GSNR and variance from the per-variable sums of
    :meth:`MomentsFunction.statistics` (and its loss); ``groups`` maps a layer key to the
    indices of its variables."""
    statistics, loss = statistics
    B = batch_size
    if B < 2:
        raise ValueError("gradient noise needs a batch of at least 2 examples")
    measured = np.isfinite(statistics).all(axis=1)  # (rows of NaN: variables not measured)
    statistics = np.where(measured[:, None], statistics, 0.0)
    second, mean_sq = float(statistics[:, 0].sum()), float(statistics[:, 1].sum())
    trace_sigma = max((second - B * mean_sq) / (B - 1), 0.0)
    signal = mean_sq - trace_sigma / B
    b_simple = trace_sigma / signal if signal > 0 else float("inf")
    gsnr, variance = {}, {}
    for key, indices in groups.items():
        indices = [i for i in indices if measured[i]]
        if not indices:
            continue
        rows = statistics[indices]
        count = rows[:, 4].sum()
        gsnr[key] = float(rows[:, 3].sum() / count) if count else float("nan")
        variance[key] = float(rows[:, 2].sum())
    return GradientNoise(b_simple, trace_sigma, signal, mean_sq, B, gsnr, variance, loss)


def layer_groups(model) -> dict[str, list[int]]:
    """Layer key → indices of its trainable variables (the instrumentation's keys)."""
    from nnkit.instrument.plan import plan_layers

    return {p.key: [i for _, i in p.variables] for p in plan_layers(model) if p.variables}


def gradient_noise_scale(model, x, y, loss=None, training: bool = False) -> GradientNoise:
    """The gradient noise of the batch (x, y): B_simple, tr(Σ), |G|², and per layer the
    GSNR and gradient variance (module docstring).

    Example::

        noise = nnkit.dynamics.gradient_noise_scale(model, x[:512], y[:512])
        noise.b_simple, noise.gsnr["h01_dense"]
    """
    function = MomentsFunction(Objective(model, x, y, loss, training))
    return noise_from_statistics(function.statistics(), function.objective.batch_size,
                                 layer_groups(model))
