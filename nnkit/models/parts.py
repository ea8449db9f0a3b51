"""Pieces shared by the architectures: activation layers, normalisation, output head."""

from __future__ import annotations

import keras

from nnkit import activations, layers, losses
from nnkit.registry import KERAS_PREFIX


def activation_layer(reference, name: str) -> keras.layers.Layer:
    """A layer applying ``reference`` (a name, or ``{name: ..., **params}``)."""
    params = {}
    if isinstance(reference, dict):
        params = {k: v for k, v in reference.items() if k != "name"}
        reference = reference["name"]
    if reference.startswith(KERAS_PREFIX):
        return keras.layers.Activation(reference[len(KERAS_PREFIX):], name=name)
    target = activations.get(reference)
    if isinstance(target, type):
        return target(**params, name=name)
    return layers.Activation(reference, params, name=name)


def kernel_regularizer(cfg):
    """Coupled L2 on a kernel, c·ΣW² added to the loss (``model.l2`` = c), or None.

    Its gradient 2cW joins the data's gradient before the optimizer sees it; with SGD that is
    decoupled weight decay λ = 2c, with Adam it is not (Loshchilov & Hutter 2019)."""
    return keras.regularizers.L2(cfg.l2) if getattr(cfg, "l2", 0.0) else None


def block_name(index: int, blocks: int) -> str:
    """``h03``: the name prefix of hidden block ``index`` (1 at the input) of ``blocks``.

    A layer's TensorBoard key is its name, so naming layers by block (``h03_dense``,
    ``h03_batch_norm``, ``h03_activation``) gives the same layer the same key whatever
    dropout, batch norm or activation layers a run adds around it, and keys sort by depth
    (``output`` sorts after every ``h``)."""
    return f"h{index:0{max(2, len(str(blocks)))}d}"


def normalised_activation(x, cfg, block: str):
    """Activation with batch norm ``before`` or ``after`` it, as the config asks."""
    if cfg.batch_norm == "before":
        x = layers.BatchNormalization(name=f"{block}_batch_norm")(x)
    x = activation_layer(cfg.activation, name=f"{block}_activation")(x)
    if cfg.batch_norm == "after":
        x = layers.BatchNormalization(name=f"{block}_batch_norm")(x)
    return x


def output_head(x, task: str, output_size: int, loss_name: str, kernel_initializer,
                regularizer=None):
    """The last dense layer: softmax (multiclass), sigmoid or tanh (binary), linear."""
    spec = losses.spec(losses.resolve_name(loss_name, task))
    if task == "multiclass":
        activation = (spec.output_activation if spec and spec.output_activation
                      else "keras:softmax")
    elif task == "binary":
        activation = (spec.output_activation if spec and spec.output_activation else "sigmoid")
    else:
        activation = "linear"
    return layers.Dense(output_size, activation=activation, name="output",
                        kernel_initializer=kernel_initializer, kernel_regularizer=regularizer)(x)
