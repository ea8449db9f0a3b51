"""Fully connected layer."""

from __future__ import annotations

import keras
from keras import ops

from nnkit import activations, initializers


@keras.saving.register_keras_serializable(package="nnkit")
class Dense(keras.layers.Layer):
    """Z = X·W + b, then Y = g(Z).

    X is (batch, in), W is (in, units), b is (units,): each row of X is one sample, as in the
    notes' matrix form of the forward pass.

    Args:
        units: number of output units (> 0).
        activation: an nnkit activation name, ``keras:<name>``, a callable (a registered
            serializable function, e.g. ``nnkit.activations.elu``), or None for linear.
        use_bias: whether to add b (default True).
        kernel_initializer: name, dict or instance (default ``glorot_uniform``, as Keras).
        bias_initializer: name, dict or instance (default ``zeros``).
    """

    def __init__(self, units: int, activation: str | None = None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        # Keras' check and message: a Python int only (2.5, "64", None are refused, not
        # coerced; NumPy integers too, as in Keras)
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"Received an invalid value for `units`, expected a positive "
                             f"integer. Received: units={units}")
        self.units = units
        if isinstance(activation, dict):  # a callable as get_config wrote it
            activation = keras.saving.deserialize_keras_object(activation)
        self.activation = activation or "linear"
        self._activation_fn = (self.activation if callable(self.activation)
                               else activations.get(self.activation))
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="kernel", shape=(input_shape[-1], self.units), initializer=self.kernel_initializer
        )
        self.bias = (
            self.add_weight(name="bias", shape=(self.units,), initializer=self.bias_initializer)
            if self.use_bias else None
        )

    def call(self, inputs):
        z = ops.matmul(inputs, self.kernel)
        if self.bias is not None:
            z = z + self.bias
        return self._activation_fn(z)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": (keras.saving.serialize_keras_object(self.activation)
                           if callable(self.activation) else self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }
