"""The parameter-free shortcut of CIFAR ResNets (He et al. 2016, option A)."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="nnkit")
class PaddedShortcut(keras.layers.Layer):
    """x[:, ::s, ::s, :] with its channels zero-padded to ``filters``: the identity shortcut
    across a stage boundary, where the block halves the feature map (stride ``s``) and
    widens it. No weights: the skip stays an identity on the first channels, so the
    gradient still reaches earlier blocks unattenuated (He et al. 2016, section 4.2,
    option A).

    Args:
        filters: output channels (≥ the input's).
        strides: the subsampling step of both spatial axes.
    """

    def __init__(self, filters: int, strides: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.strides = int(filters), int(strides)

    def build(self, input_shape):
        if input_shape[-1] > self.filters:
            raise ValueError(f"PaddedShortcut pads channels: the input has {input_shape[-1]}, "
                             f"more than filters={self.filters}")

    def call(self, inputs):
        x = inputs[:, ::self.strides, ::self.strides, :]
        extra = self.filters - inputs.shape[-1]
        if extra:
            x = ops.pad(x, [[0, 0], [0, 0], [0, 0], [extra // 2, extra - extra // 2]])
        return x

    def compute_output_shape(self, input_shape):
        def reduced(size):
            return None if size is None else -(-size // self.strides)
        return (input_shape[0], reduced(input_shape[1]), reduced(input_shape[2]), self.filters)

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters, "strides": self.strides}
