"""Architectures by name: ``build(config.model, dataset, loss)`` returns a Keras model."""

from __future__ import annotations

import keras

from nnkit.config.schema import READS_SEQUENCES
from nnkit.models.cnn import build_cnn
from nnkit.models.custom import build_custom
from nnkit.models.mlp import build_mlp
from nnkit.models.resnet import build_resnet
from nnkit.models.rnn import build_rnn
from nnkit.registry import Registry

ARCHITECTURES = Registry("architecture")
ARCHITECTURES.register("mlp", "multi-layer perceptron (depth, units, residual, BN, dropout)",
                       build_mlp)
ARCHITECTURES.register("cnn", "small conv net for images (filters, kernel_size, pool, LRN)",
                       build_cnn)
ARCHITECTURES.register("resnet", "CIFAR-style residual net (depth 20/32/56, widths, shortcut, "
                       "preactivation, plain twin, zero_init_residual)", build_resnet)
ARCHITECTURES.register("rnn", "recurrent net for sequences (cell simple/lstm/gru, units, layers, "
                       "forget_bias); logs ‖∂L/∂h_t‖ through time", build_rnn)
ARCHITECTURES.register("custom", "your own Keras model: builder (module:function) or keras_file",
                       build_custom)


def build(model_cfg, dataset, loss: str) -> keras.Model:
    """The model for a validated ``model`` section and a prepared dataset."""
    builder = ARCHITECTURES.get(model_cfg.architecture)
    reads = READS_SEQUENCES.get(model_cfg.architecture)
    if reads is not None and reads != getattr(dataset, "sequence", False):
        shape = tuple(dataset.input_shape)
        raise ValueError(
            f"model.architecture: '{model_cfg.architecture}' "
            + (f"reads sequences [time, features], but this dataset's samples have shape "
               f"{shape}" if reads else f"does not read sequences, and this dataset's "
                                        f"samples are sequences of shape {shape}; use 'rnn'"))
    return builder(model_cfg, dataset.input_shape, dataset.task, dataset.output_size, loss)


__all__ = ["ARCHITECTURES", "build"]
