"""Multi-layer perceptron."""

from __future__ import annotations

import keras

from nnkit import initializers, layers
from nnkit.models.parts import block_name, kernel_regularizer, normalised_activation, output_head


def build_mlp(cfg, input_shape, task: str, output_size: int, loss: str) -> keras.Model:
    """Input → [flatten] → depth × (dense → [BN] → g → [BN] → [dropout]) → output.

    With ``residual``, each hidden layer adds its input back:
    h_{l+1} = P·h_l + layer(h_l), P the identity when widths agree, else a learned
    projection (dense, no bias). Layers are named by hidden block, ``h01_dense``,
    ``h01_activation``, ... from the input, and ``output`` (:func:`block_name`).
    """
    inputs = keras.Input(shape=input_shape, name="inputs")
    x = keras.layers.Flatten(name="flatten")(inputs) if len(input_shape) > 1 else inputs
    widths, regularizer = cfg.widths(), kernel_regularizer(cfg)
    for index, width in enumerate(widths, start=1):
        block = block_name(index, len(widths))
        h = layers.Dense(width, name=f"{block}_dense",
                         kernel_initializer=initializers.get(cfg.kernel_initializer),
                         bias_initializer=initializers.get(cfg.bias_initializer),
                         kernel_regularizer=regularizer)(x)
        h = normalised_activation(h, cfg, block)
        if cfg.dropout > 0:
            h = layers.Dropout(cfg.dropout, name=f"{block}_dropout")(h)
        if cfg.residual:
            shortcut = x
            if x.shape[-1] != width:
                shortcut = layers.Dense(width, use_bias=False, name=f"{block}_projection",
                                        kernel_regularizer=regularizer)(x)
            h = keras.layers.Add(name=f"{block}_residual")([shortcut, h])
        x = h
    outputs = output_head(x, task, output_size, loss, initializers.get(cfg.kernel_initializer),
                          regularizer)
    return keras.Model(inputs, outputs, name="mlp")
