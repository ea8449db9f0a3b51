"""An example of your own model for nnkit: ``model.architecture: custom`` with
``builder: "configs.my_model:build"`` (see configs/custom_model.yaml).

nnkit calls ``build(model_section, input_shape)``; any Keras model works (Sequential,
functional or subclassed). ``model_section.options`` holds your own keys, and the shared
keys (``activation``, ``kernel_initializer``, ``dropout``, ...) are there too, so a sweep
over them reaches your model.
"""

import keras


class ResidualBlock(keras.layers.Layer):
    """x + W₂ g(W₁ x): a block inside the model, instrumented layer by layer."""

    def __init__(self, units, activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.units, self.activation = units, activation
        self.inner = keras.layers.Dense(units, activation=activation, name="inner")
        self.outer = keras.layers.Dense(units, name="outer")

    def call(self, x):
        return x + self.outer(self.inner(x))

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation}


def build(model, input_shape):
    width, blocks = model.options.get("width", 64), model.options.get("blocks", 2)
    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(width, activation=model.activation, name="stem")(x)
    for index in range(1, blocks + 1):
        x = ResidualBlock(width, model.activation, name=f"block_{index}")(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="output")(x)
    return keras.Model(inputs, outputs, name="my_model")
