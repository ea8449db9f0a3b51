"""Losses for backprop by hand: the value, ∂L/∂Ŷ, and a TensorFlow twin for the tape.

Every loss averages over the n samples of the batch and the k outputs, as Keras does:
L = (1/n) Σᵢ (1/k) Σⱼ ℓ(yᵢⱼ, ŷᵢⱼ), so ∂L/∂ŷᵢⱼ = ℓ'(yᵢⱼ, ŷᵢⱼ) / (n·k). Categorical
cross-entropy sums over classes instead of averaging: L = -(1/n) Σᵢ Σⱼ yᵢⱼ log ŷᵢⱼ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import tensorflow as tf


@dataclass(frozen=True)
class HandLoss:
    value: Callable[[np.ndarray, np.ndarray], float]
    gradient: Callable[[np.ndarray, np.ndarray], np.ndarray]  # ∂L/∂Ŷ, shape of Ŷ
    tensorflow: Callable  # the same loss in TF ops, for tf.GradientTape


def _mse():
    return HandLoss(lambda y, p: float(np.mean((y - p) ** 2)),
                    lambda y, p: -2.0 * (y - p) / y.size,
                    lambda y, p: tf.reduce_mean((y - p) ** 2))


def _bce():
    def value(y, p):
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))

    return HandLoss(value, lambda y, p: -(y / p - (1 - y) / (1 - p)) / y.size,
                    lambda y, p: -tf.reduce_mean(y * tf.math.log(p) + (1 - y) * tf.math.log(1 - p)))


def _cce():
    n = lambda y: y.shape[0]  # noqa: E731
    return HandLoss(lambda y, p: float(-np.sum(y * np.log(p)) / n(y)),
                    lambda y, p: -(y / p) / n(y),
                    lambda y, p: -tf.reduce_sum(y * tf.math.log(p)) / tf.cast(tf.shape(y)[0],
                                                                                y.dtype))


def _huber(delta: float = 1.0):
    def value(y, p):
        e = np.abs(p - y)
        return float(np.mean(np.where(e <= delta, 0.5 * e ** 2, delta * (e - 0.5 * delta))))

    def gradient(y, p):
        e = p - y
        return np.where(np.abs(e) <= delta, e, delta * np.sign(e)) / y.size

    def tensorflow(y, p):
        e = tf.abs(p - y)
        return tf.reduce_mean(tf.where(e <= delta, 0.5 * e ** 2, delta * (e - 0.5 * delta)))

    return HandLoss(value, gradient, tensorflow)


def _hinge():
    """max(0, 1 - t·ŷ) with t = 2y - 1 ∈ {-1, +1}, Keras' convention for 0/1 labels."""
    return HandLoss(lambda y, p: float(np.mean(np.maximum(0.0, 1 - (2 * y - 1) * p))),
                    lambda y, p: np.where(1 - (2 * y - 1) * p > 0, -(2 * y - 1), 0.0) / y.size,
                    lambda y, p: tf.reduce_mean(tf.maximum(0.0, 1 - (2 * y - 1) * p)))


LOSSES: dict[str, HandLoss] = {
    "mse": _mse(), "binary_crossentropy": _bce(), "categorical_crossentropy": _cce(),
    "sparse_categorical_crossentropy": _cce(), "huber": _huber(), "hinge": _hinge(),
}
