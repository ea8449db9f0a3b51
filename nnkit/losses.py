"""Losses by name, each with the tasks it fits and the output layer it needs.

``auto`` picks the usual loss for the task: sparse categorical cross-entropy for multiclass,
binary cross-entropy for binary, mean squared error for regression. ``keras:<name>`` reaches
any Keras loss (and skips the task check).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import keras

from nnkit.registry import KERAS_PREFIX, Registry

TASKS = ("binary", "multiclass", "regression")


@dataclass(frozen=True)
class LossSpec:
    """A loss factory, the tasks it fits, and the output activation it expects."""

    factory: Callable[..., keras.losses.Loss]
    tasks: tuple[str, ...]
    output_activation: str | None = None  # None: the task's usual one
    one_hot: bool = False  # labels must be one-hot encoded

    def __call__(self, **params):
        return self.factory(**params)


LOSSES = Registry("loss", keras_resolver=keras.losses.get)
for _name, _spec, _description in [
    ("mse", LossSpec(keras.losses.MeanSquaredError, ("regression", "binary")),
     "mean squared error, (1/n) sum (y - y_hat)^2"),
    ("mae", LossSpec(keras.losses.MeanAbsoluteError, ("regression",)),
     "mean absolute error"),
    ("huber", LossSpec(keras.losses.Huber, ("regression",)),
     "quadratic below delta, linear above (robust to outliers)"),
    ("binary_crossentropy", LossSpec(keras.losses.BinaryCrossentropy, ("binary",)),
     "-[y log p + (1-y) log(1-p)] with a sigmoid output"),
    ("categorical_crossentropy",
     LossSpec(keras.losses.CategoricalCrossentropy, ("multiclass",), one_hot=True),
     "-sum y_k log p_k, one-hot labels, softmax output"),
    ("sparse_categorical_crossentropy",
     LossSpec(keras.losses.SparseCategoricalCrossentropy, ("multiclass",)),
     "-log p_y, integer labels, softmax output"),
    ("hinge", LossSpec(keras.losses.Hinge, ("binary",), output_activation="tanh"),
     "max(0, 1 - y*y_hat), labels mapped to -1/+1, tanh output"),
    ("mse_one_hot", LossSpec(keras.losses.MeanSquaredError, ("multiclass",),
                             output_activation="linear", one_hot=True),
     "classification with the square loss: (1/K) sum (y_k - z_k)^2 on one-hot labels, linear "
     "output (Hui & Belkin 2021; Cohen et al. 2021)"),
]:
    LOSSES.register(_name, _description, _spec)

DEFAULT_LOSS = {
    "binary": "binary_crossentropy",
    "multiclass": "sparse_categorical_crossentropy",
    "regression": "mse",
}


def resolve_name(name: str, task: str) -> str:
    """The loss name for ``task`` (``auto`` → the task's default)."""
    return DEFAULT_LOSS[task] if name == "auto" else name


def fits(name: str, task: str) -> bool:
    """Whether loss ``name`` suits ``task`` (Keras' own losses are trusted)."""
    name = resolve_name(name, task)
    return name.startswith(KERAS_PREFIX) or task in LOSSES.get(name).tasks


def losses_for(task: str) -> list[str]:
    return [e.name for e in LOSSES.entries() if task in e.obj.tasks]


def spec(name: str) -> LossSpec | None:
    """The LossSpec of an nnkit loss name, or None for ``keras:<name>``."""
    return None if name.startswith(KERAS_PREFIX) else LOSSES.get(name)


def build(loss, task: str) -> keras.losses.Loss:
    """The Keras loss object for the config's ``loss``: a name (``auto`` resolved against
    ``task``) or ``{name: ..., <parameter>: value}``, e.g. ``{name: huber, delta: 0.5}``."""
    params = {}
    if isinstance(loss, dict):
        params = {k: v for k, v in loss.items() if k != "name"}
        loss = loss["name"]
    spec_or_loss = LOSSES.get(resolve_name(loss, task))
    return spec_or_loss(**params) if isinstance(spec_or_loss, LossSpec) else spec_or_loss
