"""CIFAR-style residual networks (He et al. 2016) and their plain twins."""

from __future__ import annotations

import keras

from nnkit import initializers, layers
from nnkit.models.parts import activation_layer, block_name, kernel_regularizer, output_head


def build_resnet(cfg, input_shape, task: str, output_size: int, loss: str) -> keras.Model:
    """Input (h, w, c) → 3×3 conv stem → stages of basic blocks → global average pool →
    output.

    A basic block is two 3×3 convolutions, each followed by batch norm, with the block's
    input added back before the last activation (post-activation, He et al. 2016a):

        y = g(x + BN(conv(g(BN(conv(x))))))

    or with ``preactivation`` (He et al. 2016b): y = x + conv(g(BN(conv(g(BN(x)))))). The
    first block of each stage after the first halves the feature map (stride 2) and widens
    it; its shortcut is a 1×1 convolution with batch norm (``projection``) or the
    subsampled input zero-padded to the new width (``identity``, option A). ``plain``
    drops every shortcut: the same layers without the skips (He et al. 2016a, Figure 1).
    ``zero_init_residual`` starts the last batch-norm scale γ of each block at 0, so every
    block starts as the identity (Goyal et al. 2017). Depth = 2 · blocks · stages + 2
    (20, 32, 56 with 3 stages). Blocks are named ``h01`` … from the input; the stem is
    ``h00``.
    """
    if len(input_shape) != 3:
        raise ValueError(
            f"model.architecture: 'resnet' needs image data of shape (height, width, "
            f"channels), but this dataset's samples have shape {tuple(input_shape)}")
    inputs = keras.Input(shape=input_shape, name="inputs")
    regularizer = kernel_regularizer(cfg)
    blocks = cfg.blocks_per_stage() * len(cfg.widths)

    def conv(filters, strides, name, size=3):
        return keras.layers.Conv2D(filters, size, strides=strides, padding="same",
                                   use_bias=not cfg.batch_norm, name=name,
                                   kernel_initializer=initializers.get(cfg.kernel_initializer),
                                   kernel_regularizer=regularizer)

    def norm(name, zero=False):
        if not cfg.batch_norm:
            return lambda x: x
        gamma = "zeros" if zero else "ones"
        return layers.BatchNormalization(name=name, gamma_initializer=gamma)

    stem = block_name(0, blocks)
    x = conv(cfg.widths[0], 1, f"{stem}_conv")(inputs)
    if not cfg.preactivation:
        x = activation_layer(cfg.activation, f"{stem}_activation")(
            norm(f"{stem}_batch_norm")(x))
    index = 0
    for stage, width in enumerate(cfg.widths):
        for position in range(cfg.blocks_per_stage()):
            index += 1
            block = block_name(index, blocks)
            strides = 2 if stage > 0 and position == 0 else 1
            x = _block(x, width, strides, block, cfg, conv, norm)
    if cfg.preactivation:  # the last block's sum still needs its normalisation and g
        last = block_name(blocks + 1, blocks)
        x = activation_layer(cfg.activation, f"{last}_activation")(
            norm(f"{last}_batch_norm")(x))
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = output_head(x, task, output_size, loss, initializers.get(cfg.kernel_initializer),
                          regularizer)
    return keras.Model(inputs, outputs, name="plain" if cfg.plain else "resnet")


def _block(x, width, strides, block, cfg, conv, norm):
    """One basic block (post- or pre-activation) with its shortcut, or without (plain)."""
    def g(name):
        return activation_layer(cfg.activation, f"{block}_{name}")

    changes = strides != 1 or x.shape[-1] != width
    if cfg.preactivation:
        h = g("activation1")(norm(f"{block}_batch_norm1")(x))
        shortcut_input = h if changes else x  # the projection reads the normalised input
        h = conv(width, strides, f"{block}_conv1")(h)
        h = g("activation2")(norm(f"{block}_batch_norm2")(h))
        h = conv(width, 1, f"{block}_conv2")(h)
    else:
        shortcut_input = x
        h = conv(width, strides, f"{block}_conv1")(x)
        h = g("activation1")(norm(f"{block}_batch_norm1")(h))
        h = conv(width, 1, f"{block}_conv2")(h)
        h = norm(f"{block}_batch_norm2", zero=cfg.zero_init_residual)(h)
    if not cfg.plain:
        shortcut = shortcut_input
        if changes and cfg.shortcut == "projection":
            shortcut = norm(f"{block}_shortcut_batch_norm")(
                conv(width, strides, f"{block}_shortcut", size=1)(shortcut_input))
        elif changes:
            shortcut = layers.PaddedShortcut(width, strides, name=f"{block}_shortcut")(
                shortcut_input)
        h = keras.layers.Add(name=f"{block}_add")([shortcut, h])
    if not cfg.preactivation:
        h = g("activation2")(h)
    return h
