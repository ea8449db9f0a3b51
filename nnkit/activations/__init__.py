"""Activations by name: ``get(name)``, ``derivative(name)`` and the ``ACTIVATIONS`` registry.

Entries are either plain functions (``relu``) or layer classes with state or randomness
(``prelu``, ``rrelu``, which live in :mod:`nnkit.layers`). ``keras:<name>`` reaches Keras' own.
"""

from __future__ import annotations

from typing import Callable

import keras

from nnkit.activations.functions import (
    SELU_ALPHA,
    SELU_SCALE,
    elu,
    elu_derivative,
    hard_tanh,
    hard_tanh_derivative,
    leaky_relu,
    leaky_relu_derivative,
    linear,
    linear_derivative,
    relu,
    relu_derivative,
    selu,
    selu_derivative,
    sigmoid,
    sigmoid_derivative,
    step,
    step_derivative,
    tanh,
    tanh_derivative,
)
from nnkit.registry import Registry, UnknownNameError


def _keras_activation(name: str):
    fn = keras.activations.get(name)
    if fn is None:
        raise ValueError(f"unknown activation {name!r}")
    return fn


ACTIVATIONS = Registry("activation", keras_resolver=_keras_activation)
_DERIVATIVES: dict[str, Callable] = {}

for _fn, _derivative, _description in [
    (sigmoid, sigmoid_derivative, "logistic 1/(1+e^-x); saturates, gradient ≤ 1/4"),
    (tanh, tanh_derivative, "hyperbolic tangent; zero-centred, saturates"),
    (hard_tanh, hard_tanh_derivative, "clip(x, -1, 1)"),
    (relu, relu_derivative, "max(0, x)"),
    (leaky_relu, leaky_relu_derivative, "x if x>0 else alpha*x (alpha=0.01)"),
    (elu, elu_derivative, "x if x>0 else alpha*(e^x-1) (alpha=1)"),
    (selu, selu_derivative, "scaled ELU, self-normalising (Klambauer et al. 2017)"),
    (step, step_derivative, "Heaviside step (perceptron); zero gradient"),
    (linear, linear_derivative, "identity"),
]:
    ACTIVATIONS.register(_fn.__name__, _description, _fn)
    _DERIVATIVES[_fn.__name__] = _derivative


def get(name: str | None) -> Callable:
    """The activation function (or layer class) registered as ``name``; None is linear
    (as ``keras.activations.get(None)``)."""
    return linear if name is None else ACTIVATIONS.get(name)


def derivative(name: str) -> Callable:
    """The hand-written derivative f'(x) of the elementwise activation ``name``."""
    if name not in _DERIVATIVES:
        raise UnknownNameError(
            f"no hand-written derivative for '{name}'; available: {', '.join(_DERIVATIVES)}"
        )
    return _DERIVATIVES[name]


def elementwise_names() -> list[str]:
    """Names of activations that are plain elementwise functions with a derivative."""
    return list(_DERIVATIVES)


__all__ = [
    "ACTIVATIONS", "SELU_ALPHA", "SELU_SCALE", "derivative", "elementwise_names", "get",
    "elu", "hard_tanh", "leaky_relu", "linear", "relu", "selu", "sigmoid", "step", "tanh",
]


def _register_layer_activations() -> None:
    """PReLU and RReLU hold weights or randomness, so they are layers (nnkit.layers)."""
    from nnkit.layers.prelu import PReLU, RReLU

    ACTIVATIONS.register("prelu", "leaky ReLU with a learned slope (He et al. 2015)", PReLU)
    ACTIVATIONS.register("rrelu", "leaky ReLU with a random slope in training (Xu et al. 2015)",
                         RReLU)


_register_layer_activations()
