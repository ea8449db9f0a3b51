"""Local response normalisation across channels (Krizhevsky et al. 2012, AlexNet)."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="nnkit")
class LocalResponseNormalization(keras.layers.Layer):
    """b_c = a_c / (k + α Σ_{c'=c-r}^{c+r} a_{c'}²)^β over the last (channel) axis.

    The sum runs over the 2r+1 neighbouring channels (clipped at the edges). This is
    ``tf.nn.local_response_normalization``'s definition (α is not divided by 2r+1); the
    defaults are AlexNet's: r = 2 (n = 5), k = 2, α = 1e-4, β = 0.75.

    Args:
        depth_radius: r ≥ 0. bias: k > 0. alpha: α ≥ 0. beta: β ≥ 0.
    """

    def __init__(self, depth_radius: int = 2, bias: float = 2.0, alpha: float = 1e-4,
                 beta: float = 0.75, **kwargs):
        super().__init__(**kwargs)
        if int(depth_radius) < 0:
            raise ValueError(f"depth_radius must be >= 0, got {depth_radius}")
        if not bias > 0:
            raise ValueError(f"bias must be > 0, got {bias}")
        if alpha < 0 or beta < 0:
            raise ValueError(f"alpha and beta must be >= 0, got alpha={alpha}, beta={beta}")
        self.depth_radius, self.bias = int(depth_radius), float(bias)
        self.alpha, self.beta = float(alpha), float(beta)

    def call(self, inputs):
        r = self.depth_radius
        squares = ops.square(inputs)
        pad = [[0, 0]] * (len(inputs.shape) - 1) + [[r + 1, r]]
        cumulative = ops.cumsum(ops.pad(squares, pad), axis=-1)
        channels = ops.shape(inputs)[-1]
        window = cumulative[..., 2 * r + 1:] - cumulative[..., :channels]
        return inputs / ops.power(self.bias + self.alpha * window, self.beta)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "depth_radius": self.depth_radius, "bias": self.bias,
                "alpha": self.alpha, "beta": self.beta}
