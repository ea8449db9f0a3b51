"""Multi-layer perceptron."""

from __future__ import annotations

import keras

from nnkit import initializers, layers
from nnkit.models.parts import normalised_activation, output_head


def build_mlp(cfg, input_shape, task: str, output_size: int, loss: str) -> keras.Model:
    """Input → [flatten] → depth × (dense → [BN] → g → [BN] → [dropout]) → output.

    With ``residual``, each hidden layer adds its input back:
    h_{l+1} = P·h_l + layer(h_l), P the identity when widths agree, else a learned
    projection (dense, no bias). Layers are named ``dense_<l>``, ``activation_<l>``, ... with
    l = 1 at the input, so their names sort by depth.
    """
    inputs = keras.Input(shape=input_shape, name="inputs")
    x = keras.layers.Flatten(name="flatten")(inputs) if len(input_shape) > 1 else inputs
    for index, width in enumerate(cfg.widths(), start=1):
        h = layers.Dense(width, name=f"dense_{index}",
                         kernel_initializer=initializers.get(cfg.kernel_initializer),
                         bias_initializer=initializers.get(cfg.bias_initializer))(x)
        h = normalised_activation(h, cfg, index)
        if cfg.dropout > 0:
            h = layers.Dropout(cfg.dropout, name=f"dropout_{index}")(h)
        if cfg.residual:
            shortcut = x
            if x.shape[-1] != width:
                shortcut = layers.Dense(width, use_bias=False, name=f"projection_{index}")(x)
            h = keras.layers.Add(name=f"residual_{index}")([shortcut, h])
        x = h
    outputs = output_head(x, task, output_size, loss, initializers.get(cfg.kernel_initializer))
    return keras.Model(inputs, outputs, name="mlp")
