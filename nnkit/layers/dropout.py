"""Inverted dropout (Srivastava et al. 2014)."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="nnkit")
class Dropout(keras.layers.Layer):
    """Training: y = x ⊙ m / (1 - rate), m ~ Bernoulli(1 - rate); inference: y = x.

    Dividing by the keep probability keeps E[y] = x, so nothing needs rescaling at inference.

    Args:
        rate: the fraction of units dropped, in [0, 1).
        seed: an integer seed, or None to follow the global seed.
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"rate must be in [0, 1), got {rate}")
        self.rate, self.seed = float(rate), seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        keep = 1.0 - self.rate
        u = keras.random.uniform(ops.shape(inputs), dtype=inputs.dtype, seed=self.seed_generator)
        return ops.where(u < keep, inputs / keep, ops.zeros_like(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
