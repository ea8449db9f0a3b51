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
        kernel_regularizer, bias_regularizer, activity_regularizer: Keras regularizers (names,
            dicts or instances), added to the model's losses as in Keras.
        kernel_constraint, bias_constraint: Keras constraints, applied after each update.

    As Keras' ``Dense``: inputs of rank ≥ 2 (the last axis checked against the kernel once
    built, with Keras' InputSpec error), masks passed on unchanged. Keras' LoRA and
    quantization arguments are not supported.
    """

    def __init__(self, units: int, activation: str | None = None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        # Keras' check and message: a Python int only (2.5, "64", None are refused, not
        # coerced; NumPy integers too, as in Keras)
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"Received an invalid value for `units`, expected a positive "
                             f"integer. Received: units={units}")
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.units = units
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)
        self.input_spec = keras.layers.InputSpec(min_ndim=2)
        self.supports_masking = True
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
            name="kernel", shape=(input_shape[-1], self.units), initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
        )
        self.bias = (
            self.add_weight(name="bias", shape=(self.units,), initializer=self.bias_initializer,
                            regularizer=self.bias_regularizer, constraint=self.bias_constraint)
            if self.use_bias else None
        )
        self.input_spec = keras.layers.InputSpec(min_ndim=2, axes={-1: input_shape[-1]})

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
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": keras.constraints.serialize(self.kernel_constraint),
            "bias_constraint": keras.constraints.serialize(self.bias_constraint),
        }
