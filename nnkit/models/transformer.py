"""A Transformer encoder (Vaswani et al. 2017) for token or feature sequences."""

from __future__ import annotations

import keras

from nnkit import initializers, layers
from nnkit.models.parts import activation_layer, block_name, kernel_regularizer, output_head


def build_transformer(cfg, input_shape, task: str, output_size: int, loss: str,
                      vocabulary: int = 0, per_position: bool = False) -> keras.Model:
    """Tokens [time] → embedding, or features [time, f] → a dense "patch" embedding; a
    positional encoding; ``blocks`` encoder blocks; the output layer at every position
    (``per_position``: a label per token) or on the mean over positions.

    A block is multi-head self-attention and a two-layer MLP, each with a residual
    connection and LayerNorm, placed as ``norm`` says:

        post (Vaswani et al. 2017):  x ← LN(x + Attn(x));  x ← LN(x + MLP(x))
        pre (Xiong et al. 2020):     x ← x + Attn(LN(x));  x ← x + MLP(LN(x)),  LN at the end

    Post-LN puts the norm after the residual sum, so the gradient at the output layers is
    large at initialisation and needs a learning-rate warm-up; pre-LN keeps an identity
    path from output to input and trains without one (Xiong et al. 2020). Layers are named
    by block (``h01_attention``, ``h01_norm1``, ``h01_mlp1`` ...).
    """
    inputs = keras.Input(shape=input_shape, name="inputs")
    regularizer = kernel_regularizer(cfg)

    def dense(units, name, activation=None):
        return layers.Dense(units, activation, name=name, kernel_regularizer=regularizer,
                            kernel_initializer=initializers.get(cfg.kernel_initializer))

    if vocabulary:
        x = keras.layers.Embedding(vocabulary, cfg.width, name="embedding")(inputs)
    else:
        x = dense(cfg.width, "embedding")(inputs)
    x = layers.PositionalEncoding(cfg.positional, max_length=int(input_shape[0]),
                                  name="positions")(x)
    blocks = cfg.blocks + 1
    for index in range(1, cfg.blocks + 1):
        block = block_name(index, blocks)

        def attention(h):
            return layers.MultiHeadAttention(
                cfg.heads, cfg.width // cfg.heads, dropout=cfg.attention_dropout,
                kernel_initializer=initializers.get(cfg.kernel_initializer),
                name=f"{block}_attention")(h)

        def mlp(h):
            h = dense(cfg.mlp_width or 4 * cfg.width, f"{block}_mlp1")(h)
            h = activation_layer(cfg.activation, f"{block}_activation")(h)
            return dense(cfg.width, f"{block}_mlp2")(h)

        for part, sublayer in ((1, attention), (2, mlp)):
            norm = layers.LayerNormalization(name=f"{block}_norm{part}")
            branch = sublayer(norm(x) if cfg.norm == "pre" else x)
            if cfg.dropout:
                branch = layers.Dropout(cfg.dropout, name=f"{block}_dropout{part}")(branch)
            x = keras.layers.Add(name=f"{block}_residual{part}")([x, branch])
            if cfg.norm == "post":
                x = norm(x)
    if cfg.norm == "pre":
        x = layers.LayerNormalization(name=f"{block_name(blocks, blocks)}_norm")(x)
    if not per_position:
        x = keras.layers.GlobalAveragePooling1D(name="pool")(x)
    outputs = output_head(x, task, output_size, loss, initializers.get(cfg.kernel_initializer),
                          regularizer)
    return keras.Model(inputs, outputs, name="transformer")
