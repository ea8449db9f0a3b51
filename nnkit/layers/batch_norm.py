"""Batch normalisation (Ioffe & Szegedy 2015)."""

from __future__ import annotations

import keras
from keras import ops

from nnkit import initializers


@keras.saving.register_keras_serializable(package="nnkit")
class BatchNormalization(keras.layers.Layer):
    """y = γ (x - μ) / √(σ² + ε) + β over the last axis.

    Training: μ, σ² are the batch mean and (biased) variance over every axis but the last, and
    the moving statistics follow an EWMA, m ← momentum·m + (1 - momentum)·μ (likewise for σ²).
    Inference: μ, σ² are the moving averages. Defaults equal Keras' (momentum 0.99, ε 1e-3).

    Args:
        momentum: EWMA factor in [0, 1).
        epsilon: ε > 0, added to the variance.
        center, scale: learn β and γ (default True).
    """

    def __init__(self, momentum: float = 0.99, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if not epsilon > 0:
            raise ValueError(f"epsilon must be > 0, got {epsilon}")
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.center, self.scale = center, scale

    def build(self, input_shape):
        shape = (input_shape[-1],)
        self.gamma = self.add_weight(name="gamma", shape=shape, initializer=initializers.Ones(),
                                     trainable=True) if self.scale else None
        self.beta = self.add_weight(name="beta", shape=shape, initializer=initializers.Zeros(),
                                    trainable=True) if self.center else None
        self.moving_mean = self.add_weight(name="moving_mean", shape=shape,
                                           initializer=initializers.Zeros(), trainable=False)
        self.moving_variance = self.add_weight(name="moving_variance", shape=shape,
                                               initializer=initializers.Ones(), trainable=False)

    def call(self, inputs, training=False):
        if training:
            axes = list(range(len(inputs.shape) - 1))
            mean, variance = ops.moments(inputs, axes=axes)
            m = self.momentum
            self.moving_mean.assign(self.moving_mean * m + mean * (1.0 - m))
            self.moving_variance.assign(self.moving_variance * m + variance * (1.0 - m))
        else:
            mean, variance = self.moving_mean, self.moving_variance
        y = (inputs - mean) * ops.rsqrt(variance + self.epsilon)
        if self.gamma is not None:
            y = y * self.gamma
        if self.beta is not None:
            y = y + self.beta
        return y

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale}
