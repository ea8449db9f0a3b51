"""Architectures by name: ``build(config.model, dataset, loss)`` returns a Keras model."""

from __future__ import annotations

import keras

from nnkit.models.cnn import build_cnn
from nnkit.models.custom import build_custom
from nnkit.models.mlp import build_mlp
from nnkit.registry import Registry

ARCHITECTURES = Registry("architecture")
ARCHITECTURES.register("mlp", "multi-layer perceptron (depth, units, residual, BN, dropout)",
                       build_mlp)
ARCHITECTURES.register("cnn", "small conv net for images (filters, kernel_size, pool, LRN)",
                       build_cnn)
ARCHITECTURES.register("custom", "your own Keras model: builder (module:function) or keras_file",
                       build_custom)


def build(model_cfg, dataset, loss: str) -> keras.Model:
    """The model for a validated ``model`` section and a prepared dataset."""
    builder = ARCHITECTURES.get(model_cfg.architecture)
    return builder(model_cfg, dataset.input_shape, dataset.task, dataset.output_size, loss)


__all__ = ["ARCHITECTURES", "build"]
