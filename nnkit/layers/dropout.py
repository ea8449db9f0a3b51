"""Inverted dropout (Srivastava et al. 2014)."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="nnkit")
class Dropout(keras.layers.Layer):
    """Training: y = x ⊙ m / (1 - rate), m ~ Bernoulli(1 - rate); inference: y = x.

    Dividing by the keep probability keeps E[y] = x, so nothing needs rescaling at inference.

    Args:
        rate: the fraction of units dropped, in [0, 1] (1: every unit, the output is 0).
        noise_shape: the shape of the mask, broadcast over the input, as Keras'
            (``(batch, 1, features)`` drops the same features at every time step); None
            entries take the input's size there. None: one draw per value.
        seed: an integer seed, or None to follow the global seed.

    As Keras' ``Dropout``: built on construction, and it passes a mask on unchanged.
    """

    def __init__(self, rate: float, noise_shape=None, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be in [0, 1], got {rate}")
        self.rate, self.seed = float(rate), seed
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True
        self.built = True

    def _mask_shape(self, inputs):
        shape = ops.shape(inputs)
        if self.noise_shape is None:
            return shape
        return tuple(shape[i] if size is None else size
                     for i, size in enumerate(self.noise_shape))

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        if self.rate == 1.0:
            return ops.zeros_like(inputs)
        keep = 1.0 - self.rate
        u = keras.random.uniform(self._mask_shape(inputs), dtype=inputs.dtype,
                                 seed=self.seed_generator)
        kept = ops.cast(u < keep, inputs.dtype)  # broadcast over the input
        return inputs * kept / keep

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape,
                "seed": self.seed}
