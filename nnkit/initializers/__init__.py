"""Initializers by name: ``get(identifier)`` and the ``INITIALIZERS`` registry.

``get`` takes a registered name (``he_normal``, or Keras' spelling ``HeNormal``),
``keras:<name>`` for Keras' own, a dict ``{name: ..., **params}``, Keras' serialized form, an
initializer instance or class, a function ``(shape, dtype=None)``, a tensor or array (the
values themselves, as Keras), or None (no initializer: the layer's default).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from nnkit.initializers.base import compute_fans
from nnkit.initializers.constant import Constant, Ones, Zeros
from nnkit.initializers.identity import Identity
from nnkit.initializers.lsuv import LSUV, lsuv_rescale
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
    ("identity", Identity, "gain * identity matrix (Le et al. 2015)"),
    ("lsuv", LSUV, "orthogonal, then rescaled on a batch to unit output variance (Mishkin & "
                   "Matas 2016)"),
]:
    INITIALIZERS.register(_name, _description, _cls)
    INITIALIZERS.alias(_cls.__name__, _name)  # Keras' class names: HeNormal, Zeros, ...
for _alias, _name in {"normal": "random_normal", "uniform": "random_uniform", "one": "ones",
                      "zero": "zeros", "OrthogonalInitializer": "orthogonal",
                      "IdentityInitializer": "identity"}.items():  # Keras' other aliases
    INITIALIZERS.alias(_alias, _name)


def get(identifier: Any) -> keras.initializers.Initializer:
    """An initializer from any identifier ``keras.initializers.get`` takes (see the module's
    docstring), names resolving to nnkit's own classes.

    Keras' own serialized form (``{class_name: ..., config: ...}``) is how layers get their
    initializers back from a saved model.
    """
    if isinstance(identifier, keras.initializers.Initializer):
        return identifier
    if identifier is None or ops.is_tensor(identifier) or callable(identifier) or isinstance(
            identifier, (np.ndarray, np.generic)):
        # None, the values themselves, a class or a function (shape, dtype=None): Keras' reading
        return keras.initializers.get(identifier)
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
    "Identity", "LSUV", "LecunNormal", "LecunUniform", "Ones", "Orthogonal", "RandomNormal", "RandomUniform",
    "TruncatedNormal", "VarianceScaling", "Zeros", "compute_fans", "get", "lsuv_rescale",
]
