"""Position information for attention, which by itself ignores the order of its inputs."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="nnkit")
class PositionalEncoding(keras.layers.Layer):
    """Adds a vector per position to inputs [batch, time, d]:

    * ``sinusoidal`` (Vaswani et al. 2017): P[t, 2i] = sin(t / 10000^(2i/d)),
      P[t, 2i+1] = cos(t / 10000^(2i/d)); fixed, no weights;
    * ``learned``: a trainable [max_length, d] table (BERT, ViT), starting N(0, 0.02²).

    Args:
        kind: ``sinusoidal`` or ``learned``.
        max_length: the longest sequence (learned; sinusoidal tables are built per length).
    """

    def __init__(self, kind: str = "sinusoidal", max_length: int = 512, **kwargs):
        super().__init__(**kwargs)
        if kind not in ("sinusoidal", "learned"):
            raise ValueError(f"kind must be 'sinusoidal' or 'learned', got {kind!r}")
        self.kind, self.max_length = kind, int(max_length)

    def build(self, input_shape):
        length, width = input_shape[-2], input_shape[-1]
        if self.kind == "learned":
            self.table = self.add_weight(
                name="positions", shape=(self.max_length, width),
                initializer=keras.initializers.RandomNormal(stddev=0.02))
        elif length is not None:
            self.table = ops.convert_to_tensor(sinusoids(length, width))

    def call(self, inputs):
        length = ops.shape(inputs)[-2]
        table = self.table if self.kind == "learned" or hasattr(self, "table") else None
        if table is None:
            table = ops.convert_to_tensor(sinusoids(inputs.shape[-2], inputs.shape[-1]))
        return inputs + ops.cast(table[:length], inputs.dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "kind": self.kind, "max_length": self.max_length}


def sinusoids(length: int, width: int) -> np.ndarray:
    """The sinusoidal table P [length, width] of Vaswani et al. (2017), float32."""
    position = np.arange(length)[:, None]
    frequency = 1.0 / np.power(10000.0, (2 * (np.arange(width) // 2)) / width)
    angle = position * frequency[None, :]
    return np.where(np.arange(width) % 2 == 0, np.sin(angle), np.cos(angle)).astype("float32")
