"""What batch and layer normalisation share: the feature axes, γ and β, and the affine map
y = γ (x - μ) / √(σ² + ε) + β computed in float32 at least."""

from __future__ import annotations

import keras
from keras import ops

from nnkit import initializers

AFFINE_ARGS = ("beta_initializer", "gamma_initializer", "beta_regularizer",
               "gamma_regularizer", "beta_constraint", "gamma_constraint")


def check_axes(axis, rank: int) -> list[int]:
    """``axis`` (an int or a list) as sorted non-negative axes of a rank-``rank`` input."""
    axes = axis if isinstance(axis, list) else [axis]
    for a in axes:
        if not -rank <= a < rank:
            raise ValueError(f"Axis {a} is out of bounds for an input of rank {rank}. "
                             f"Received: axis={axis}")
    return sorted(a % rank for a in axes)


class AffineNormalization(keras.layers.Layer):
    """A layer normalising over or per ``axis``, with learned γ (``scale``) and β (``center``)
    of the shape of the feature axes, as Keras' normalisation layers hold them."""

    def __init__(self, axis, epsilon, center, scale, beta_initializer, gamma_initializer,
                 beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint,
                 **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            axis = [int(a) for a in axis]
        elif not isinstance(axis, int):
            raise TypeError(f"Expected an int or a list/tuple of ints for the argument 'axis', "
                            f"but received: {axis!r}")
        if not epsilon > 0:
            raise ValueError(f"epsilon must be > 0, got {epsilon}")
        self.axis, self.epsilon, self.center, self.scale = axis, float(epsilon), center, scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = keras.regularizers.get(beta_regularizer)
        self.gamma_regularizer = keras.regularizers.get(gamma_regularizer)
        self.beta_constraint = keras.constraints.get(beta_constraint)
        self.gamma_constraint = keras.constraints.get(gamma_constraint)
        self.supports_masking = True
        self.gamma = self.beta = None

    def build_affine(self, input_shape) -> tuple:
        """Create γ and β; returns the feature axes' shape (that of every parameter)."""
        rank = len(input_shape)
        self.feature_axes = check_axes(self.axis, rank)
        shape = tuple(input_shape[a] for a in self.feature_axes)
        # parameters are reshaped to broadcast against the input: 1 on the other axes
        self._broadcast_shape = tuple(input_shape[a] if a in self.feature_axes else 1
                                      for a in range(rank))
        if self.scale:
            self.gamma = self.add_weight(name="gamma", shape=shape,
                                         initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer,
                                         constraint=self.gamma_constraint, autocast=False)
        if self.center:
            self.beta = self.add_weight(name="beta", shape=shape,
                                        initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer,
                                        constraint=self.beta_constraint, autocast=False)
        return shape

    def broadcast(self, weight, dtype):
        """A parameter-shaped tensor, cast and reshaped to broadcast against the input."""
        return ops.reshape(ops.cast(weight, dtype), self._broadcast_shape)

    @staticmethod
    def statistics_dtype(inputs) -> str:
        """float32 at least: a float16 variance saturates at 65504."""
        return keras.backend.result_type(inputs.dtype, "float32")

    def normalise(self, x, mean, variance):
        """γ (x - μ) / √(σ² + ε) + β, in the layer's compute dtype."""
        inverse_std = ops.rsqrt(variance + self.epsilon)
        if self.gamma is not None:
            inverse_std = inverse_std * self.broadcast(self.gamma, x.dtype)
        y = (x - mean) * inverse_std
        if self.beta is not None:
            y = y + self.broadcast(self.beta, x.dtype)
        return ops.cast(y, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        check_axes(self.axis, len(input_shape))
        return input_shape

    def get_config(self) -> dict:
        serialize = {"initializer": keras.initializers.serialize,
                     "regularizer": keras.regularizers.serialize,
                     "constraint": keras.constraints.serialize}
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                **{arg: serialize[arg.split("_")[1]](getattr(self, arg)) for arg in AFFINE_ARGS}}
