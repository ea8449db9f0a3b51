"""Curvature of the loss: Hessian-vector products, the top eigenvalue, the trace.

Nothing here forms the Hessian H = ∇²L(θ) (P × P). Every quantity comes from products Hv
(Pearlmutter 1994), by default reverse over reverse: the gradient of ∇L·v
(``double_backward``). ``forward_over_reverse`` carries the tangent v through the gradient
with a forward-mode accumulator (``tf.autodiff.ForwardAccumulator``), Hv = d/dε ∇L(θ + εv)
at ε = 0: the same numbers, 1.1-1.3× slower in TensorFlow on the benchmark's models
(measured: 1.38 against 1.54 training steps per product on the deep narrow MLP, 1.58
against 2.09 on the conv net).

* :func:`sharpness`: λ_max(H), by the Lanczos method (k products build a k × k tridiagonal
  matrix whose largest eigenvalue converges to λ_max, fully reorthogonalised; Golub & Van
  Loan 2013, 10.1) or by power iteration (which finds the eigenvalue of largest |λ|);
* :func:`hessian_trace`: tr(H) by Hutchinson's estimator E[vᵀHv] with Rademacher probes
  (Hutchinson 1990): unbiased, with variance 2 Σ_{i≠j} H_ij² per probe;
* a diagonal preconditioner D (Adam's √v̂ + ε) gives the preconditioned Hessian
  D^{-1/2} H D^{-1/2}, whose eigenvalues are those of D⁻¹H (Cohen et al. 2022).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from nnkit.dynamics.objective import Objective

METHODS = ("forward_over_reverse", "double_backward")


class HessianVectorProduct:
    """v ↦ Hv for an :class:`Objective`, compiled once (flat float32 vectors of size P).

    Args:
        objective: the loss on its batch.
        method: ``double_backward`` (default) or ``forward_over_reverse``.
        preconditioner: the diagonal D [P] (positive), or None: products are then with
            D^{-1/2} H D^{-1/2}.
    """

    def __init__(self, objective: Objective, method: str = "double_backward",
                 preconditioner=None):
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
        self.objective = objective
        self.scale = None
        product = self._forward_over_reverse if method == METHODS[0] else self._double_backward
        self._product = tf.function(product, reduce_retracing=True)
        self.precondition(preconditioner)

    def precondition(self, preconditioner) -> HessianVectorProduct:
        """Products with D^{-1/2} H D^{-1/2} from now on (None: with H); the compiled
        function is kept, the scaling is done on the vectors."""
        self.scale = None if preconditioner is None else \
            1.0 / np.sqrt(np.asarray(preconditioner, np.float64))
        return self

    def _forward_over_reverse(self, v):
        objective = self.objective
        with tf.autodiff.ForwardAccumulator(objective.tf_variables, objective.split(v)) as acc:
            with tf.GradientTape() as tape:
                loss = objective()
            gradients = tape.gradient(loss, objective.tf_variables,
                                      unconnected_gradients=tf.UnconnectedGradients.ZERO)
        return objective.flat_gradient(acc.jvp(gradients,
                                               unconnected_gradients=tf.UnconnectedGradients.ZERO))

    def _double_backward(self, v):
        objective = self.objective
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                loss = objective()
            gradient = objective.flat_gradient(inner.gradient(loss, objective.variables))
            directional = tf.reduce_sum(gradient * v)
        return objective.flat_gradient(outer.gradient(directional, objective.variables))

    def __call__(self, v: np.ndarray) -> np.ndarray:
        if self.scale is None:
            return self._product(tf.constant(v, tf.float32)).numpy().astype(np.float64)
        product = self._product(tf.constant(self.scale * v, tf.float32))
        return self.scale * product.numpy().astype(np.float64)

    @property
    def size(self) -> int:
        return self.objective.size


def lanczos(product, size: int, iterations: int, rng: np.random.Generator) -> np.ndarray:
    """The Ritz values (ascending) of a symmetric operator after ``iterations`` Lanczos steps
    from a random start, with full reorthogonalisation (in float64)."""
    steps = min(iterations, size)
    Q = np.empty((steps, size))  # the Lanczos vectors, filled row by row
    Q[0] = rng.standard_normal(size)
    Q[0] /= np.linalg.norm(Q[0])
    alphas, betas = [], []
    for j in range(steps):
        w = product(Q[j])
        alphas.append(float(Q[j] @ w))
        for _ in range(2):  # twice is enough (Kahan's "twice is enough")
            w -= Q[:j + 1].T @ (Q[:j + 1] @ w)
        beta = float(np.linalg.norm(w))
        if beta <= 1e-10 * max(1.0, abs(alphas[-1])) or j + 1 == steps:
            break
        betas.append(beta)
        Q[j + 1] = w / beta
    k = len(alphas)
    T = np.diag(alphas) + np.diag(betas[:k - 1], 1) + np.diag(betas[:k - 1], -1)
    return np.linalg.eigvalsh(T)


def power_iteration(product, size: int, iterations: int, rng: np.random.Generator) -> float:
    """The eigenvalue of largest magnitude, by ``iterations`` steps of the power method."""
    v = rng.standard_normal(size)
    v /= np.linalg.norm(v)
    value = 0.0
    for _ in range(iterations):
        w = product(v)
        value = float(v @ w)
        norm = np.linalg.norm(w)
        if norm == 0:
            return 0.0
        v = w / norm
    return value


def sharpness(model, x, y, loss=None, iterations: int = 20, method: str = "lanczos",
              training: bool = False, seed: int = 0, preconditioner=None,
              hvp: str = "double_backward") -> float:
    """λ_max of the Hessian of the loss on the batch (x, y): the sharpness.

    Gradient descent with step η is stable on a quadratic only while λ_max < 2/η; Cohen et
    al. (2021) found that full-batch training drives λ_max up to that limit ("progressive
    sharpening") and then hovers there, at the edge of stability.

    Args:
        model, x, y, loss, training: the loss surface (:class:`Objective`).
        iterations: Hessian-vector products spent (20 gives λ_max to about 1e-3 relative on
            the models of the tests; more for a small spectral gap).
        method: ``lanczos`` (the largest algebraic eigenvalue) or ``power`` (the largest in
            magnitude, which is negative where the Hessian's most negative eigenvalue
            dominates).
        seed: the random start vector's.
        preconditioner: a positive diagonal D (flat, over the trainable variables): the
            sharpness of D⁻¹H instead (Adam's preconditioned sharpness).
        hvp: ``double_backward`` or ``forward_over_reverse``.

    Example::

        lam = nnkit.dynamics.sharpness(model, x_batch, y_batch)   # compare with 2 / lr
    """
    product = HessianVectorProduct(Objective(model, x, y, loss, training), hvp, preconditioner)
    return top_eigenvalue(product, iterations, method, seed)


def top_eigenvalue(product: HessianVectorProduct, iterations: int = 20,
                   method: str = "lanczos", seed: int = 0) -> float:
    """λ_max of the operator of a :class:`HessianVectorProduct` (see :func:`sharpness`)."""
    rng = np.random.default_rng(seed)
    if method == "lanczos":
        return float(lanczos(product, product.size, iterations, rng)[-1])
    if method == "power":
        return power_iteration(product, product.size, iterations, rng)
    raise ValueError(f"method must be 'lanczos' or 'power', got {method!r}")


def hessian_trace(model, x, y, loss=None, samples: int = 10, training: bool = False,
                  seed: int = 0, hvp: str = "double_backward") -> float:
    """tr(H) of the loss on the batch (x, y), by Hutchinson's estimator over ``samples``
    Rademacher probes v (entries ±1): tr(H) = E[vᵀHv]. The estimate's standard error is
    √(2 Σ_{i≠j} H_ij² / samples): exact for a diagonal Hessian, noisy where off-diagonal
    curvature dominates."""
    product = HessianVectorProduct(Objective(model, x, y, loss, training), hvp)
    return trace_estimate(product, samples, seed)


def trace_estimate(product: HessianVectorProduct, samples: int = 10, seed: int = 0) -> float:
    """Hutchinson's estimate of the trace of a :class:`HessianVectorProduct`'s operator."""
    rng = np.random.default_rng(seed)
    total = 0.0
    for _ in range(samples):
        v = rng.integers(0, 2, product.size) * 2.0 - 1.0
        total += float(v @ product(v))
    return total / samples
