"""A recurrent network for sequence data."""

from __future__ import annotations

import keras

from nnkit import initializers, layers
from nnkit.models.parts import block_name, kernel_regularizer, output_head

CELLS = {"simple": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}


def build_rnn(cfg, input_shape, task: str, output_size: int, loss: str,
              per_position: bool = False) -> keras.Model:
    """Input [time, features] → ``layers`` × recurrent layer (every hₜ to the next layer,
    h_T from the last; every hₜ with ``per_position``, a label per step) → output.

    Layers are named by block (``h01_lstm``, ``h02_lstm``, ``output``). The LSTM's
    forget-gate bias starts at ``forget_bias``.
    """
    if len(input_shape) != 2:
        raise ValueError(
            f"model.architecture: 'rnn' needs sequences of shape (time, features), but this "
            f"dataset's samples have shape {tuple(input_shape)}; use a sequence task "
            f"(adding, memory, digits_sequence) or an npz file of [samples, time, features]")
    inputs = keras.Input(shape=input_shape, name="inputs")
    x, regularizer = inputs, kernel_regularizer(cfg)
    extra = {"forget_bias": cfg.forget_bias} if cfg.cell == "lstm" else {}
    for index in range(1, cfg.layers + 1):
        # initializers made per layer: one seeded instance shared would repeat its values
        x = CELLS[cfg.cell](cfg.units, return_sequences=per_position or index < cfg.layers,
                            unroll=cfg.unroll,
                            name=f"{block_name(index, cfg.layers)}_{cfg.cell}",
                            activation=cfg.activation,
                            kernel_initializer=initializers.get(cfg.kernel_initializer),
                            recurrent_initializer=initializers.get(cfg.recurrent_initializer),
                            bias_initializer=initializers.get(cfg.bias_initializer),
                            kernel_regularizer=regularizer, **extra)(x)
    outputs = output_head(x, task, output_size, loss, initializers.get(cfg.kernel_initializer),
                          regularizer)
    return keras.Model(inputs, outputs, name="rnn")
