"""Signal propagation through depth: the length q^l and the correlation c^l of the signal.

At initialisation, a layer's pre-activations zˡ = Wˡφ(zˡ⁻¹) + bˡ with Wᵢⱼ ~ N(0, σ_w²/N)
and bᵢ ~ N(0, σ_b²) have, for a wide layer, a length q^l = (1/N) Σᵢ (zᵢˡ)² that follows
the mean-field map (Poole et al. 2016; Schoenholz et al. 2017, "Deep Information
Propagation")

    qˡ = σ_w² E_{u~N(0,1)}[φ(√qˡ⁻¹ u)²] + σ_b²,

and two inputs' pre-activations have a correlation cˡ = qˡ₁₂/√(qˡ₁₁qˡ₂₂) with a map of its
own. q shrinking to 0 or growing without bound through depth is the signal vanishing or
exploding; c → 1 means every input looks the same to the output (the ordered phase),
c → a fixed point below 1 with a fast approach means chaos. :func:`signal_propagation`
measures both on real inputs; :func:`mean_field_length` iterates the map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from nnkit.dynamics.taps import PreactivationTaps
from nnkit.dynamics.objective import as_tensor, forward


@dataclass
class SignalPropagation:
    layers: list[str]  # the layers with a kernel, input first (instrumentation keys)
    q: np.ndarray  # [L] mean squared pre-activation per unit
    c: np.ndarray  # [L] mean correlation of the pairs (x[2i], x[2i+1]); NaN for one input

    @property
    def ratio(self) -> float:
        """q^L / q^1: below 1 the signal shrinks through depth, above 1 it grows."""
        return float(self.q[-1] / self.q[0]) if len(self.q) and self.q[0] > 0 else float("nan")


def _pair_correlation(z: np.ndarray) -> float:
    pairs = len(z) // 2
    if pairs == 0:
        return float("nan")
    a, b = z[0:2 * pairs:2], z[1:2 * pairs:2]
    norms = np.sqrt(np.sum(a * a, 1) * np.sum(b * b, 1))
    ok = norms > 0
    return float(np.mean(np.sum(a * b, 1)[ok] / norms[ok])) if ok.any() else float("nan")


def signal_propagation(model, x) -> SignalPropagation:
    """q^l and c^l at every layer with a kernel, on inputs ``x`` (inference mode).

    A Dense or conv layer's pre-activation zˡ is read even where its activation is fused
    (``Dense(activation="tanh")``; a conv layer's flattened over positions and channels);
    for other layers with a kernel the layer's output stands in. Consecutive inputs (x[0],
    x[1]), (x[2], x[3]), ... are the pairs whose correlation is c.
    """
    from nnkit.instrument.capture import ActivationCapture
    from nnkit.instrument.plan import kernel_plans

    x = tf.nest.map_structure(as_tensor, x)
    plans = kernel_plans(model)
    taps = PreactivationTaps(model)
    tapped = {id(layer) for layer, _ in taps.layers}
    others = [p.layer for p in plans if id(p.layer) not in tapped]
    capture = ActivationCapture(others)
    capture.install()
    try:
        with taps.active(), capture.collecting() as outputs:
            forward(model, x, False)
    finally:
        capture.remove()
    captured = dict(zip(map(id, others), outputs))
    q, c = [], []
    for p in plans:
        calls = taps.kept.get(id(p.layer))
        z = calls[0][1] if calls else captured.get(id(p.layer))
        if z is None:
            q.append(np.nan)
            c.append(np.nan)
            continue
        z = tf.cast(z, tf.float32).numpy().astype(np.float64)
        z = z.reshape(len(z), -1)
        q.append(float(np.mean(z * z)))
        c.append(_pair_correlation(z))
    return SignalPropagation([p.key for p in plans], np.array(q), np.array(c))


def mean_field_length(phi, sigma_w: float, sigma_b: float, q1: float, depth: int,
                      points: int = 101) -> np.ndarray:
    """q^1, ..., q^depth under the mean-field map from q^1 (Gauss-Hermite quadrature of
    ``points`` nodes); ``phi`` is a NumPy function."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(points)
    weights = weights / weights.sum()  # E over N(0, 1)
    q = [float(q1)]
    for _ in range(depth - 1):
        q.append(sigma_w ** 2 * float(weights @ phi(np.sqrt(q[-1]) * nodes) ** 2)
                 + sigma_b ** 2)
    return np.array(q)
