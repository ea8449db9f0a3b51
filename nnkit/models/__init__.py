"""Architectures by name: ``build(config.model, dataset, loss)`` returns a Keras model."""

from __future__ import annotations

import keras

from nnkit.config.schema import wrong_kind
from nnkit.models.cnn import build_cnn
from nnkit.models.custom import build_custom
from nnkit.models.mlp import build_mlp
from nnkit.models.resnet import build_resnet
from nnkit.models.rnn import build_rnn
from nnkit.models.transformer import build_transformer
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
ARCHITECTURES.register("transformer", "Transformer encoder for token or feature sequences (blocks, "
                       "width, heads, norm pre/post); logs per-head attention entropy",
                       build_transformer)
ARCHITECTURES.register("custom", "your own Keras model: builder (module:function) or keras_file",
                       build_custom)


def build(model_cfg, dataset, loss: str) -> keras.Model:
    """The model for a validated ``model`` section and a prepared dataset."""
    builder = ARCHITECTURES.get(model_cfg.architecture)
    problem = wrong_kind(model_cfg.architecture, dataset.kind,
                         f"this dataset's samples (shape {tuple(dataset.input_shape)}) are")
    if problem:
        raise ValueError(f"model.architecture: {problem}")
    per_position = dataset.y_train.ndim == 2 and dataset.task == "multiclass"  # a label a step
    if model_cfg.architecture == "transformer":  # it reads token ids too
        return builder(model_cfg, dataset.input_shape, dataset.task, dataset.output_size, loss,
                       vocabulary=dataset.vocabulary, per_position=per_position)
    if model_cfg.architecture == "rnn":
        return builder(model_cfg, dataset.input_shape, dataset.task, dataset.output_size, loss,
                       per_position=per_position)
    return builder(model_cfg, dataset.input_shape, dataset.task, dataset.output_size, loss)


__all__ = ["ARCHITECTURES", "build"]
