"""Constant initializers: the symmetry trap of the notes.

Every unit of a layer initialised to the same value computes the same output and receives the
same gradient, so the units stay identical for ever: the layer behaves like a single unit.
With zeros and ReLU, nothing even moves (all gradients are 0).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="nnkit")
class Constant(keras.initializers.Initializer):
    """W = c everywhere, or c broadcast to the weight's shape.

    Args:
        value: the constant c (default 0): a number, or an array (list, NumPy array or
            tensor) that broadcasts to the shape asked for, as Keras' ``Constant`` takes.
    """

    def __init__(self, value=0.0):
        if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
            self.value = float(value)
        else:
            self.value = np.asarray(value, dtype="float64")

    def __call__(self, shape, dtype=None):
        dtype = dtype or keras.backend.floatx()
        if isinstance(self.value, float):
            return ops.full(shape, self.value, dtype=dtype)
        try:
            values = np.broadcast_to(self.value, tuple(shape))
        except ValueError:
            raise ValueError(f"Constant: a value of shape {self.value.shape} does not "
                             f"broadcast to the weight's shape {tuple(shape)}") from None
        return ops.convert_to_tensor(values, dtype=dtype)

    def get_config(self) -> dict:
        value = self.value if isinstance(self.value, float) else self.value.tolist()
        return {"value": value}


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
