"""Batch normalisation (Ioffe & Szegedy 2015)."""

from __future__ import annotations

import keras
from keras import ops

from nnkit import initializers
from nnkit.layers.normalization import AffineNormalization


@keras.saving.register_keras_serializable(package="nnkit")
class BatchNormalization(AffineNormalization):
    """y = γ (x - μ) / √(σ² + ε) + β, per feature of ``axis``.

    Training: μ, σ² are the batch mean and (biased) variance over every axis but ``axis``, and
    the moving statistics follow an EWMA, m ← momentum·m + (1 - momentum)·μ (likewise for σ²).
    Inference: μ, σ² are the moving averages. Defaults equal Keras' (momentum 0.99, ε 1e-3).

    As Keras' ``BatchNormalization`` since TF 2:

    - ``trainable = False`` freezes the layer *and* runs it in inference mode: it normalises
      with the moving statistics and no longer moves them, even inside ``fit``.
    - A mask (from ``Embedding(mask_zero=True)``, one axis fewer than the input) leaves the
      masked positions out of μ and σ²: μ = Σ m·x / (Σ m + ε_K), σ² = Σ m·(x - μ)² /
      (Σ m + ε_K), ε_K = ``keras.backend.epsilon()``. The mask is passed on.
    - The statistics are computed in float32 at least, whatever the compute dtype (under
      ``mixed_float16`` a float16 variance saturates at 65504), and γ, β and the moving
      statistics stay float32; the output is cast to the layer's compute dtype.

    Args:
        axis: the feature axis, or a list of axes (``1`` after a channels-first Conv2D).
        momentum: EWMA factor in [0, 1).
        epsilon: ε > 0, added to the variance.
        center, scale: learn β and γ (default True).
        beta_initializer, gamma_initializer, moving_mean_initializer,
            moving_variance_initializer: initializers (defaults zeros, ones, zeros, ones).
        beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint: Keras
            regularizers and constraints for β and γ.
        synchronized: under a ``tf.distribute`` strategy, μ and σ² over the global batch
            (every replica's) rather than each replica's own.

    Keras' batch renormalisation (``renorm``) is not supported.
    """

    def __init__(self, axis=-1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros",
                 moving_variance_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 synchronized: bool = False, **kwargs):
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint,
                         gamma_constraint, **kwargs)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.momentum, self.synchronized = float(momentum), bool(synchronized)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)

    def build(self, input_shape):
        shape = self.build_affine(input_shape)
        self.moving_mean = self.add_weight(name="moving_mean", shape=shape, trainable=False,
                                           initializer=self.moving_mean_initializer,
                                           autocast=False)
        self.moving_variance = self.add_weight(name="moving_variance", shape=shape,
                                               trainable=False, autocast=False,
                                               initializer=self.moving_variance_initializer)
        self._reduction_axes = [a for a in range(len(input_shape)) if a not in self.feature_axes]
        self.input_spec = keras.layers.InputSpec(
            ndim=len(input_shape), axes={a: input_shape[a] for a in self.feature_axes})

    def _moments(self, x, mask):
        """Batch mean and biased variance, shaped to broadcast against ``x``."""
        axes = self._reduction_axes
        if mask is None:
            return ops.moments(x, axes=axes, keepdims=True, synchronized=self.synchronized)
        if len(mask.shape) != len(x.shape) - 1:
            raise ValueError(f"The mask provided should be one dimension less than the "
                             f"inputs. Received: mask.shape={mask.shape}, inputs.shape={x.shape}")
        weights = ops.cast(ops.broadcast_to(ops.expand_dims(mask, -1), ops.shape(x)), x.dtype)
        count = ops.sum(weights, axes, keepdims=True) + keras.backend.epsilon()
        mean = ops.sum(weights * x, axes, keepdims=True) / count
        variance = ops.sum(weights * ops.square(x - mean), axes, keepdims=True) / count
        return mean, variance

    def _follow(self, moving, batch_value):
        """moving ← momentum·moving + (1 - momentum)·batch value."""
        value = ops.reshape(ops.cast(batch_value, "float32"), moving.shape)
        moving.assign(moving * self.momentum + value * (1.0 - self.momentum))

    def call(self, inputs, training=None, mask=None):
        x = ops.cast(inputs, self.statistics_dtype(inputs))
        if training and self.trainable:
            mean, variance = self._moments(x, mask)
            self._follow(self.moving_mean, mean)
            self._follow(self.moving_variance, variance)
        else:
            mean = self.broadcast(self.moving_mean, x.dtype)
            variance = self.broadcast(self.moving_variance, x.dtype)
        return self.normalise(x, mean, variance)

    def get_config(self) -> dict:
        return {**super().get_config(), "momentum": self.momentum,
                "moving_mean_initializer": keras.initializers.serialize(
                    self.moving_mean_initializer),
                "moving_variance_initializer": keras.initializers.serialize(
                    self.moving_variance_initializer),
                "synchronized": self.synchronized}
