"""Constant initializers: the symmetry trap of the notes.

Every unit of a layer initialised to the same value computes the same output and receives the
same gradient, so the units stay identical for ever: the layer behaves like a single unit.
With zeros and ReLU, nothing even moves (all gradients are 0).
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="nnkit")
class Constant(keras.initializers.Initializer):
    """W = c everywhere.

    Args:
        value: the constant c (default 0).
    """

    def __init__(self, value: float = 0.0):
        self.value = float(value)

    def __call__(self, shape, dtype=None):
        return ops.full(shape, self.value, dtype=dtype or keras.backend.floatx())

    def get_config(self) -> dict:
        return {"value": self.value}


@keras.saving.register_keras_serializable(package="nnkit")
class Zeros(Constant):
    """W = 0 everywhere (biases' usual initializer; a symmetry trap for kernels)."""

    def __init__(self):
        super().__init__(0.0)

    def get_config(self) -> dict:
        return {}


@keras.saving.register_keras_serializable(package="nnkit")
class Ones(Constant):
    """W = 1 everywhere (batch-norm scales' usual initializer)."""

    def __init__(self):
        super().__init__(1.0)

    def get_config(self) -> dict:
        return {}
