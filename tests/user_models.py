"""Builders of users' own models for ``model.architecture: custom`` (tests/test_custom_model.py).

Each is called as ``build(model_section, input_shape)``, as nnkit calls a user's builder.
"""

import keras


def sequential(model, input_shape):
    return keras.Sequential([keras.Input(input_shape),
                             keras.layers.Dense(model.options.get("width", 8),
                                                activation=model.activation),
                             keras.layers.Dense(1, activation="sigmoid")], name="user_seq")


class TwoLayer(keras.Model):
    """Subclassed, not serialisable (no get_config): trains, but is not saved."""

    def __init__(self, width):
        super().__init__(name="two_layer")
        self.hidden = keras.layers.Dense(width, activation="relu", name="hidden")
        self.out = keras.layers.Dense(1, activation="sigmoid", name="out")

    def call(self, x):
        return self.out(self.hidden(x))


def subclassed(model, input_shape):
    return TwoLayer(model.options.get("width", 8))


def not_a_model(model, input_shape):
    return keras.layers.Dense(3)


def wrong_input(model, input_shape):
    return keras.Sequential([keras.Input((7,)), keras.layers.Dense(1, activation="sigmoid")])


def wrong_output(model, input_shape):
    return keras.Sequential([keras.Input(input_shape), keras.layers.Dense(4)])
