"""Layer normalisation (Ba, Kiros & Hinton 2016)."""

from __future__ import annotations

import keras
from keras import ops

from nnkit.layers.normalization import AffineNormalization


@keras.saving.register_keras_serializable(package="nnkit")
class LayerNormalization(AffineNormalization):
    """y = γ (x - μ) / √(σ² + ε) + β, with μ, σ² the mean and (biased) variance of each
    sample over ``axis``.

    Unlike batch normalisation the statistics are each sample's own, so the layer behaves the
    same in training and inference, needs no moving averages and works for any batch size,
    which is why Transformers use it (Vaswani et al. 2017). γ and β have the shape of the
    normalised axes.

    Args:
        axis: the axis or list of axes to normalise over (default -1, the features).
        epsilon: ε > 0 (default 1e-3, as Keras).
        center, scale: learn β and γ (default True).
        beta_initializer, gamma_initializer: defaults zeros and ones.
        beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint: Keras
            regularizers and constraints.

    Equal to ``keras.layers.LayerNormalization``: computed in float32 at least (float16
    inputs under mixed precision too), output in the layer's compute dtype, masks passed on.
    Keras' deprecated ``rms_scaling`` is not supported (Keras' RMSNormalization is the
    layer for that).
    """

    def __init__(self, axis=-1, epsilon: float = 1e-3, center: bool = True, scale: bool = True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint,
                         gamma_constraint, **kwargs)
        self.autocast = False

    def build(self, input_shape):
        self.build_affine(input_shape)

    def call(self, inputs):
        x = ops.cast(inputs, self.statistics_dtype(inputs))
        mean = ops.mean(x, axis=self.feature_axes, keepdims=True)
        variance = ops.mean(ops.square(x - mean), axis=self.feature_axes, keepdims=True)
        return self.normalise(x, mean, variance)
