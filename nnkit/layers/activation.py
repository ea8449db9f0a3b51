"""A layer that applies a named activation, with its parameters saved in the config."""

from __future__ import annotations

import keras

from nnkit import activations


@keras.saving.register_keras_serializable(package="nnkit")
class Activation(keras.layers.Layer):
    """y = f(x; params) for an activation registered in :mod:`nnkit.activations`.

    Unlike ``keras.layers.Activation``, parameters such as leaky ReLU's slope survive a
    save/reload, and instrumentation can find activation outputs by this class.

    Args:
        activation: a registered name (``relu``) or ``keras:<name>``.
        **params: the activation's parameters, e.g. ``alpha=0.2`` for ``leaky_relu``.
    """

    def __init__(self, activation: str = "linear", params: dict | None = None, **kwargs):
        super().__init__(**kwargs)
        activations.ACTIVATIONS.check(activation)
        self.activation = activation
        self.params = dict(params or {})
        self._fn = activations.get(activation)
        if isinstance(self._fn, type):
            raise ValueError(
                f"'{activation}' is a layer with weights or randomness; use it directly"
            )

    def call(self, inputs):
        return self._fn(inputs, **self.params)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "activation": self.activation, "params": self.params}
