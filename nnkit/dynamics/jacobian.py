"""The input-output Jacobian's singular values: dynamical isometry.

For each example, J = ∂f(x)/∂x (outputs × inputs, in inference mode). Pennington, Schoenholz
& Ganguli (2017, "Resurrecting the sigmoid in deep learning through dynamical isometry")
show that a deep network learns fast when all of J's singular values sit near 1, not just
their mean square: a tanh net with orthogonal weights at criticality has that property, a
ReLU net or Gaussian weights do not, and the spread grows with depth.

* ``method="exact"``: J from ``tf.GradientTape.batch_jacobian`` and NumPy's SVD;
* ``method="probes"``: never forms J. The mean squared singular value is ‖J‖_F²/k, with
  ‖J‖_F² = E‖Jv‖² over Gaussian probes v (forward mode, one JVP each) and k = min(outputs,
  inputs); the largest by power iteration on JᵀJ (a JVP then a VJP per iteration).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from nnkit.dynamics.objective import as_tensor, forward


@dataclass
class JacobianSpectrum:
    mean_squared: float  # mean over examples of the mean of s² over J's k singular values
    max: float  # the largest singular value over the examples
    singular_values: np.ndarray | None  # [B, k], descending (method="exact" only)

    @property
    def spread(self) -> float:
        """max² / mean square: 1 for perfect isometry, large for a few dominant directions."""
        return self.max ** 2 / self.mean_squared if self.mean_squared > 0 else float("inf")


def _flat(tensor):
    return tf.reshape(tf.cast(tensor, tf.float32), [tf.shape(tensor)[0], -1])


def _exact(model, x) -> JacobianSpectrum:
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = _flat(forward(model, x, False))
    jacobian = tape.batch_jacobian(y, x)
    jacobian = tf.reshape(jacobian, [jacobian.shape[0], y.shape[1], -1]).numpy()
    s = np.linalg.svd(jacobian.astype(np.float64), compute_uv=False)
    return JacobianSpectrum(float(np.mean(s ** 2)), float(s.max()), s)


def _probes(model, x, probes: int, iterations: int, seed: int) -> JacobianSpectrum:
    rng = np.random.default_rng(seed)
    shape = x.shape

    @tf.function
    def jvp(v):
        with tf.autodiff.ForwardAccumulator(x, v) as acc:
            y = _flat(forward(model, x, False))
        return acc.jvp(y)

    @tf.function
    def jtjv(v):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = _flat(forward(model, x, False))
        return tape.gradient(y, x, output_gradients=jvp(v))

    def normal():
        return tf.constant(rng.standard_normal(shape), tf.float32)

    frobenius = np.mean([np.sum(jvp(normal()).numpy() ** 2, axis=1) for _ in range(probes)],
                        axis=0)  # per example: E‖Jv‖² = ‖J‖_F²
    outputs = int(jvp(normal()).shape[1])
    k = min(outputs, int(np.prod(shape[1:])))
    v = normal().numpy().reshape(shape[0], -1)
    value = np.zeros(shape[0])
    for _ in range(iterations):  # per example: power iteration on JᵀJ (block diagonal)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        w = jtjv(tf.constant(v.reshape(shape), tf.float32)).numpy().reshape(shape[0], -1)
        value = np.sum(v * w, axis=1)
        v = w
    return JacobianSpectrum(float(np.mean(frobenius / k)),
                            float(np.sqrt(max(value.max(), 0.0))), None)


def jacobian_spectrum(model, x, method: str = "auto", probes: int = 16,
                      iterations: int = 30, seed: int = 0) -> JacobianSpectrum:
    """The singular values of each example's input-output Jacobian (module docstring).

    Args:
        model: a Keras model with one input and one output (for a softmax head, pass the
            model up to its logits: the softmax is not part of the signal path studied).
        x: inputs [B, ...].
        method: ``exact``, ``probes``, or ``auto`` (exact while a Jacobian has at most 10⁶
            entries).
        probes, iterations, seed: for ``probes``: the JVPs averaged for ‖J‖_F², the power
            iterations for the largest singular value, and their random draws.
    """
    x = tf.cast(as_tensor(x), tf.float32)
    if method == "auto":
        outputs = int(np.prod(forward(model, x[:1], False).shape[1:]))
        method = "exact" if outputs * int(np.prod(x.shape[1:])) <= 10 ** 6 else "probes"
    if method == "exact":
        return _exact(model, x)
    if method == "probes":
        return _probes(model, x, probes, iterations, seed)
    raise ValueError(f"method must be 'auto', 'exact' or 'probes', got {method!r}")
