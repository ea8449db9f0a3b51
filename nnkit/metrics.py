"""Metrics by name. ``auto`` means accuracy for classification and MAE for regression."""

from __future__ import annotations

import keras

from nnkit.registry import Registry

METRICS = Registry("metric", keras_resolver=keras.metrics.get)
for _name, _description in [
    ("accuracy", "fraction of correct predictions (binary or categorical, from the loss)"),
    ("mae", "mean absolute error"),
    ("mse", "mean squared error"),
    ("auc", "area under the ROC curve (binary)"),
    ("precision", "true positives / predicted positives (binary)"),
    ("recall", "true positives / actual positives (binary)"),
]:
    METRICS.register(_name, _description, _name)

_KERAS_OBJECTS = {"auc": keras.metrics.AUC, "precision": keras.metrics.Precision,
                  "recall": keras.metrics.Recall}


def resolve(names: list[str] | None, task: str) -> list[str]:
    """The metric names to log: the given ones, or the task's default."""
    if names is None:
        return ["mae"] if task == "regression" else ["accuracy"]
    return list(names)


def build(name: str):
    """What ``model.compile(metrics=...)`` takes for ``name``."""
    if name.startswith("keras:"):
        return keras.metrics.get(name[len("keras:"):])
    factory = _KERAS_OBJECTS.get(name)
    return factory(name=name) if factory else name
