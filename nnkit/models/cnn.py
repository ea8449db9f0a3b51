"""A small convolutional network for image data."""

from __future__ import annotations

import keras

from nnkit import initializers, layers
from nnkit.models.parts import block_name, kernel_regularizer, normalised_activation, output_head


def build_cnn(cfg, input_shape, task: str, output_size: int, loss: str) -> keras.Model:
    """Input (h, w, c) → conv blocks → flatten → dense → output.

    A conv block is conv(k×k, "same") → [BN] → g → [BN] → [LRN] → [2×2 max-pool]; pooling
    stops once the feature map is 1 pixel wide.
    """
    if len(input_shape) != 3:
        raise ValueError(
            f"model.architecture: 'cnn' needs image data of shape (height, width, channels), "
            f"but this dataset's samples have shape {tuple(input_shape)}; use 'mlp'"
        )
    inputs = keras.Input(shape=input_shape, name="inputs")
    x, regularizer = inputs, kernel_regularizer(cfg)
    blocks = len(cfg.filters) + 1
    for index, filters in enumerate(cfg.filters, start=1):
        block = block_name(index, blocks)
        x = keras.layers.Conv2D(
            filters, cfg.kernel_size, padding="same", name=f"{block}_conv",
            kernel_initializer=initializers.get(cfg.kernel_initializer),
            bias_initializer=initializers.get(cfg.bias_initializer),
            kernel_regularizer=regularizer)(x)
        x = normalised_activation(x, cfg, block)
        if cfg.lrn:
            x = layers.LocalResponseNormalization(name=f"{block}_lrn")(x)
        if cfg.pool and min(x.shape[1], x.shape[2]) >= 2:
            x = keras.layers.MaxPooling2D(2, name=f"{block}_pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    block = block_name(blocks, blocks)
    x = layers.Dense(cfg.dense_units, name=f"{block}_dense",
                     kernel_initializer=initializers.get(cfg.kernel_initializer),
                     kernel_regularizer=regularizer)(x)
    x = normalised_activation(x, cfg, block)
    if cfg.dropout > 0:
        x = layers.Dropout(cfg.dropout, name=f"{block}_dropout")(x)
    outputs = output_head(x, task, output_size, loss, initializers.get(cfg.kernel_initializer),
                          regularizer)
    return keras.Model(inputs, outputs, name="cnn")
