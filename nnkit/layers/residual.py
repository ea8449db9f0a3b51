"""Residual block for MLPs (He et al. 2016)."""

from __future__ import annotations

import keras

from nnkit.layers.activation import Activation
from nnkit.layers.dense import Dense


@keras.saving.register_keras_serializable(package="nnkit")
class ResidualBlock(keras.layers.Layer):
    """y = g(P·x + F(x)), F = ``depth`` dense layers with g between them.

    The skip connection gives the gradient a path that skips F: ∂y/∂x contains the identity
    (or P), so it does not vanish with depth. P is the identity when the input already has
    ``units`` features, else a learned linear projection without bias.

    Args:
        units: width of the block's layers and output.
        depth: dense layers inside F (≥ 1, default 2).
        activation: the activation g by name (default ``relu``).
        kernel_initializer: initializer of every kernel (default ``he_normal``).
    """

    def __init__(self, units: int, depth: int = 2, activation: str = "relu",
                 kernel_initializer="he_normal", **kwargs):
        super().__init__(**kwargs)
        if int(depth) < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.units, self.depth = int(units), int(depth)
        self.activation, self.kernel_initializer = activation, kernel_initializer
        self.layers_ = [
            Dense(units, activation if i < depth - 1 else None,
                  kernel_initializer=kernel_initializer, name=f"dense_{i}")
            for i in range(depth)
        ]
        self.output_activation = Activation(activation, name="activation")
        self.projection = None

    def build(self, input_shape):
        if input_shape[-1] != self.units:
            self.projection = Dense(self.units, use_bias=False, name="projection",
                                    kernel_initializer=self.kernel_initializer)
            self.projection.build(input_shape)
        shape = input_shape
        for layer in self.layers_:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)

    def call(self, inputs):
        h = inputs
        for layer in self.layers_:
            h = layer(h)
        shortcut = self.projection(inputs) if self.projection is not None else inputs
        return self.output_activation(shortcut + h)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self) -> dict:
        init = self.kernel_initializer
        if isinstance(init, keras.initializers.Initializer):
            init = keras.initializers.serialize(init)
        return {**super().get_config(), "units": self.units, "depth": self.depth,
                "activation": self.activation, "kernel_initializer": init}
