"""Shared pieces of nnkit's initializers: fan computation and seeding."""

from __future__ import annotations

import math
import random

import keras
import numpy as np


def compute_fans(shape, input_axes=None, output_axes=None) -> tuple[float, float]:
    """(fan_in, fan_out) of a kernel, as Keras computes them.

    With ``input_axes`` and ``output_axes`` (both given): the products of the kernel's sizes on
    those axes. This is how EinsumDense and MultiHeadAttention tell their initializer which
    axes are inputs: a query kernel (dim, heads, key_dim) has fan_in = dim, not dim·heads.

    Otherwise, dense kernel (in, out): fan_in = in, fan_out = out. Convolution kernel
    (k1, ..., kd, in, out): each fan is multiplied by the receptive field k1·...·kd.
    A vector has fan_in = fan_out = its length; a scalar has 1 and 1.
    """
    shape = tuple(int(s) for s in shape)
    if input_axes is not None and output_axes is not None:
        return (float(math.prod(shape[a] for a in input_axes)),
                float(math.prod(shape[a] for a in output_axes)))
    if len(shape) == 0:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    if len(shape) == 2:
        return float(shape[0]), float(shape[1])
    receptive_field = math.prod(shape[:-2])
    return float(shape[-2] * receptive_field), float(shape[-1] * receptive_field)


def check_positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value}")


def seed_of(seed):
    """An integer or a ``keras.random.SeedGenerator``, as Keras' random initializers take.

    ``None`` draws an integer from Python's ``random`` module, which
    ``keras.utils.set_random_seed`` seeds. A dict is a serialized SeedGenerator."""
    if seed is None:
        return random.randint(1, 2**31 - 1)
    if isinstance(seed, dict):
        seed = keras.saving.deserialize_keras_object(seed)
    if isinstance(seed, keras.random.SeedGenerator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError("`seed` argument should be an instance of "
                         f"`keras.random.SeedGenerator()` or an integer. Received: seed={seed}")
    return int(seed)


class SeededInitializer(keras.initializers.Initializer):
    """An initializer that owns a seed: an integer or a ``keras.random.SeedGenerator``.

    With ``seed=None`` a seed is drawn from Python's ``random`` module, which
    ``keras.utils.set_random_seed`` seeds, so a seeded experiment is reproducible while two
    initializers created in a row still differ. The drawn seed is stored in ``get_config``,
    so a saved model re-creates the same initializer (Keras stores None and draws anew).
    A SeedGenerator advances at every call, so one initializer gives a new draw each time,
    as in Keras; it is serialized with its state.
    """

    def __init__(self, seed=None):
        self.seed = seed_of(seed)

    def get_config(self) -> dict:
        seed = self.seed
        if isinstance(seed, keras.random.SeedGenerator):
            seed = keras.saving.serialize_keras_object(seed)
        return {"seed": seed}
