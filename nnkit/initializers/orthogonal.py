"""Orthogonal initialisation (Saxe et al. 2014)."""

from __future__ import annotations

import math

import keras
from keras import ops

from nnkit.initializers.base import SeededInitializer, check_positive


@keras.saving.register_keras_serializable(package="nnkit")
class Orthogonal(SeededInitializer):
    """W = gain · Q, Q with orthonormal rows or columns.

    The kernel is flattened to (rows, cols) = (prod(shape[:-1]), shape[-1]); Q comes from the
    QR decomposition A = QR of a standard-normal matrix, with each column's sign set by
    sign(diag R) so that Q is uniformly distributed (Mezzadri 2007). Then QᵀQ = I when
    rows ≥ cols, QQᵀ = I otherwise.

    Args:
        gain: multiplicative factor (default 1).
        seed: an integer, a ``keras.random.SeedGenerator`` or None (drawn from the global seed).
    """

    def __init__(self, gain: float = 1.0, seed=None):
        check_positive("gain", gain)
        super().__init__(seed)
        self.gain = float(gain)

    def __call__(self, shape, dtype=None):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal needs a kernel of rank ≥ 2, got shape {tuple(shape)}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        flat = (max(rows, cols), min(rows, cols))
        a = keras.random.normal(flat, dtype="float32", seed=self.seed)
        q, r = ops.qr(a)
        q = q * ops.sign(ops.diagonal(r))
        if rows < cols:
            q = ops.transpose(q)
        return ops.cast(self.gain * ops.reshape(q, shape), dtype or keras.backend.floatx())

    def get_config(self) -> dict:
        return {"gain": self.gain, **super().get_config()}
