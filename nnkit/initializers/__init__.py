"""Initializers by name: ``get(identifier)`` and the ``INITIALIZERS`` registry.

``get`` takes a registered name (``he_normal``), ``keras:<name>`` for Keras' own,
a dict ``{name: ..., **params}``, or an initializer instance.
"""

from __future__ import annotations

from typing import Any

import keras

from nnkit.initializers.base import compute_fans
from nnkit.initializers.constant import Constant, Ones, Zeros
from nnkit.initializers.orthogonal import Orthogonal
from nnkit.initializers.random import RandomNormal, RandomUniform, TruncatedNormal
from nnkit.initializers.variance_scaling import (
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    LecunNormal,
    LecunUniform,
    VarianceScaling,
)
from nnkit.registry import KERAS_PREFIX, Registry

INITIALIZERS = Registry("initializer", keras_resolver=keras.initializers.get)

for _name, _cls, _description in [
    ("zeros", Zeros, "all zeros (symmetry trap for kernels)"),
    ("ones", Ones, "all ones"),
    ("constant", Constant, "all equal to `value` (symmetry trap)"),
    ("random_normal", RandomNormal, "N(mean, stddev^2)"),
    ("random_uniform", RandomUniform, "U[minval, maxval)"),
    ("truncated_normal", TruncatedNormal, "N(mean, stddev^2) truncated at 2 stddev"),
    ("variance_scaling", VarianceScaling, "Var = scale/fan (mode, distribution)"),
    ("glorot_normal", GlorotNormal, "Var = 2/(fan_in+fan_out), truncated normal"),
    ("glorot_uniform", GlorotUniform, "U[-l,l], l = sqrt(6/(fan_in+fan_out))"),
    ("he_normal", HeNormal, "Var = 2/fan_in, truncated normal (ReLU)"),
    ("he_uniform", HeUniform, "U[-l,l], l = sqrt(6/fan_in) (ReLU)"),
    ("lecun_normal", LecunNormal, "Var = 1/fan_in, truncated normal (SELU)"),
    ("lecun_uniform", LecunUniform, "U[-l,l], l = sqrt(3/fan_in)"),
    ("orthogonal", Orthogonal, "gain * orthogonal matrix (Saxe et al. 2014)"),
]:
    INITIALIZERS.register(_name, _description, _cls)


def get(identifier: Any) -> keras.initializers.Initializer:
    """An initializer instance from a name, ``{name: ..., **params}``, or an instance.

    Keras' own serialized form (``{class_name: ..., config: ...}``) is accepted too, which
    is how layers get their initializers back from a saved model.
    """
    if isinstance(identifier, keras.initializers.Initializer):
        return identifier
    params: dict = {}
    if isinstance(identifier, dict) and "class_name" in identifier:
        return keras.initializers.deserialize(identifier)
    if isinstance(identifier, dict):
        params = {k: v for k, v in identifier.items() if k != "name"}
        identifier = identifier.get("name")
    if isinstance(identifier, str) and identifier.startswith(KERAS_PREFIX):
        keras_name = identifier[len(KERAS_PREFIX):]
        if params:
            return keras.initializers.get({"class_name": keras_name, "config": params})
        return keras.initializers.get(keras_name)
    return INITIALIZERS.get(identifier)(**params)


__all__ = [
    "INITIALIZERS", "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform",
    "LecunNormal", "LecunUniform", "Ones", "Orthogonal", "RandomNormal", "RandomUniform",
    "TruncatedNormal", "VarianceScaling", "Zeros", "compute_fans", "get",
]
