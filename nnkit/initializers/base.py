"""Shared pieces of nnkit's initializers: fan computation and seeding."""

from __future__ import annotations

import math
import random

import keras


def compute_fans(shape) -> tuple[float, float]:
    """(fan_in, fan_out) of a kernel, as Keras computes them.

    Dense kernel (in, out): fan_in = in, fan_out = out. Convolution kernel
    (k1, ..., kd, in, out): each fan is multiplied by the receptive field k1·...·kd.
    A vector has fan_in = fan_out = its length; a scalar has 1 and 1.
    """
    shape = tuple(int(s) for s in shape)
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


class SeededInitializer(keras.initializers.Initializer):
    """An initializer that owns an integer seed.

    With ``seed=None`` a seed is drawn from Python's ``random`` module, which
    ``keras.utils.set_random_seed`` seeds, so a seeded experiment is reproducible while two
    initializers created in a row still differ. The drawn seed is stored in ``get_config``,
    so a saved model re-creates the same initializer.
    """

    def __init__(self, seed: int | None = None):
        self.seed = int(seed) if seed is not None else random.randint(1, 2**31 - 1)

    def get_config(self) -> dict:
        return {"seed": self.seed}
