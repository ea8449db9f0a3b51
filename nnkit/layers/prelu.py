"""Parametric and randomised leaky ReLUs: the leaky slope learned or drawn at random."""

from __future__ import annotations

import keras
from keras import ops

from nnkit import initializers


@keras.saving.register_keras_serializable(package="nnkit")
class PReLU(keras.layers.Layer):
    """PReLU(x) = x for x > 0, else a·x, with a learned (He et al. 2015).

    Args:
        alpha_initializer: the slope's initializer (default constant 0.25, the paper's;
            Keras' own PReLU starts from zeros, a documented difference).
        alpha_regularizer, alpha_constraint: Keras regularizer and constraint for a.
        shared: one slope for the whole layer (True) or one per channel, the last axis
            (False, default).
        shared_axes: Keras' argument: a slope per element of every non-batch axis, shared
            along these axes (``[1, 2]`` after a Conv2D: one slope per filter). When given it
            overrides ``shared``.

    Masks pass through unchanged, as in Keras. Without ``shared_axes`` the default is one slope
    per channel, where Keras' default is one per element; on (batch, features) inputs the two
    agree.
    """

    def __init__(self, alpha_initializer=None, shared: bool = False, alpha_regularizer=None,
                 alpha_constraint=None, shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(
            alpha_initializer if alpha_initializer is not None else {"name": "constant", "value": 0.25}
        )
        self.shared = shared
        self.alpha_regularizer = keras.regularizers.get(alpha_regularizer)
        self.alpha_constraint = keras.constraints.get(alpha_constraint)
        if shared_axes is not None and not isinstance(shared_axes, (list, tuple)):
            shared_axes = [shared_axes]
        self.shared_axes = None if shared_axes is None else [int(a) for a in shared_axes]
        self.supports_masking = True

    def _alpha_shape(self, input_shape) -> tuple:
        if self.shared_axes is not None:  # Keras' rule: axis i of the input is shape[i - 1]
            shape = list(input_shape[1:])
            for axis in self.shared_axes:
                shape[axis - 1] = 1
            return tuple(shape)
        return (1,) if self.shared else (input_shape[-1],)

    def build(self, input_shape):
        self.alpha = self.add_weight(name="alpha", shape=self._alpha_shape(input_shape),
                                     initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint)

    def call(self, inputs):
        return ops.where(inputs > 0, inputs, self.alpha * inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "shared": self.shared, "shared_axes": self.shared_axes,
                "alpha_initializer": keras.initializers.serialize(self.alpha_initializer),
                "alpha_regularizer": keras.regularizers.serialize(self.alpha_regularizer),
                "alpha_constraint": keras.constraints.serialize(self.alpha_constraint)}


@keras.saving.register_keras_serializable(package="nnkit")
class RReLU(keras.layers.Layer):
    """RReLU(x) = x for x ≥ 0, else a·x (Xu et al. 2015).

    Training: a ~ U[lower, upper] drawn per element and per step. Inference: a is the mean
    slope (lower + upper) / 2, the expected value of the training-time layer.

    Args:
        lower, upper: the slope range, 0 ≤ lower ≤ upper (defaults 1/8 and 1/3, the paper's).
        seed: an integer seed, or None to follow the global seed.
    """

    def __init__(self, lower: float = 1 / 8, upper: float = 1 / 3, seed: int | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= lower <= upper:
            raise ValueError(f"need 0 <= lower <= upper, got lower={lower}, upper={upper}")
        self.lower, self.upper, self.seed = float(lower), float(upper), seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        if training:
            slope = keras.random.uniform(ops.shape(inputs), self.lower, self.upper,
                                         dtype=inputs.dtype, seed=self.seed_generator)
        else:
            slope = (self.lower + self.upper) / 2.0
        return ops.where(inputs >= 0, inputs, slope * inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "lower": self.lower, "upper": self.upper,
                "seed": self.seed}
