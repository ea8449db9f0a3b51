"""Gradient check: ``tf.GradientTape`` vs backprop by hand vs central finite differences.

All three work in float64 on the same weights, batch and loss. The relative error of two
gradients a, b is ‖a - b‖ / max(‖a‖ + ‖b‖, 1e-30), per variable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from nnkit import activations, layers as nnkit_layers
from nnkit.backprop.losses import LOSSES
from nnkit.backprop.mlp import Layer, forward, loss_and_gradients


class GradcheckError(ValueError):
    """The config describes a model gradcheck cannot derive by hand."""


@dataclass
class Row:
    layer: str
    variable: str
    hand_vs_tape: float
    differences_vs_tape: float


def relative_error(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-30))


def check_supported(config) -> None:
    """Raise GradcheckError unless the config is a plain MLP with a hand-derived loss."""
    model = config.model
    problems = []
    if model.architecture != "mlp":
        problems.append(f"model.architecture is '{model.architecture}' (only mlp)")
    else:
        if model.batch_norm != "none":
            problems.append("model.batch_norm must be none")
        if model.dropout:
            problems.append("model.dropout must be 0")
        if model.residual:
            problems.append("model.residual must be false")
    name = model.activation if isinstance(model.activation, str) else model.activation["name"]
    if name not in activations.elementwise_names():
        problems.append(f"model.activation '{name}' has no hand-written derivative; use one of "
                        f"{', '.join(activations.elementwise_names())}")
    loss = config.loss if isinstance(config.loss, str) else config.loss["name"]
    if loss != "auto" and loss not in LOSSES:
        problems.append(f"loss '{loss}' is not derived by hand; use one of {', '.join(LOSSES)}")
    if problems:
        raise GradcheckError("gradcheck derives plain MLPs by hand: " + "; ".join(problems))


def extract_layers(network) -> tuple[list[Layer], list[str]]:
    """The network's dense layers as float64 :class:`Layer`s, and their tag keys."""
    layers, keys = [], []
    for index, layer in enumerate(network.layers):
        if isinstance(layer, nnkit_layers.Dense):
            activation = layer.activation.removeprefix("keras:")
            kernel, bias = (np.asarray(w, np.float64) for w in layer.get_weights())
            layers.append(Layer(kernel, bias, activation))
            keys.append(f"{index:02d}_{layer.name}")
        elif isinstance(layer, nnkit_layers.Activation) and layers:
            layers[-1].activation, layers[-1].params = layer.activation, dict(layer.params)
    return layers, keys


def tape_gradients(layers: list[Layer], x, y, loss: str):
    """The same forward pass in TensorFlow float64 ops, differentiated by the tape."""
    variables = [(tf.Variable(l.weights), tf.Variable(l.bias)) for l in layers]
    with tf.GradientTape() as tape:
        a = tf.constant(x, tf.float64)
        for layer, (w, b) in zip(layers, variables):
            z = a @ w + b
            a = tf.nn.softmax(z) if layer.activation == "softmax" else \
                activations.get(layer.activation)(z, **layer.params)
        value = LOSSES[loss].tensorflow(tf.constant(y, tf.float64), a)
    flat = [v for pair in variables for v in pair]
    grads = tape.gradient(value, flat)
    return [(grads[2 * i].numpy(), grads[2 * i + 1].numpy()) for i in range(len(layers))]


def finite_differences(layers: list[Layer], x, y, loss: str, epsilon: float = 1e-6,
                       max_entries: int = 64, seed: int = 0):
    """(∂L/∂θ)ᵢ ≈ (L(θ + εeᵢ) - L(θ - εeᵢ)) / 2ε on up to ``max_entries`` entries per variable.

    Returns, per layer and variable, (indices checked, estimates).
    """
    rng = np.random.default_rng(seed)
    value = LOSSES[loss].value
    results = []
    for layer in layers:
        pair = []
        for array in (layer.weights, layer.bias):
            flat = array.reshape(-1)
            chosen = rng.choice(flat.size, min(max_entries, flat.size), replace=False)
            estimates = []
            for i in chosen:
                original = flat[i]
                flat[i] = original + epsilon
                plus = value(y, forward(layers, x)[0])
                flat[i] = original - epsilon
                minus = value(y, forward(layers, x)[0])
                flat[i] = original
                estimates.append((plus - minus) / (2 * epsilon))
            pair.append((chosen, np.array(estimates)))
        results.append(pair)
    return results


def gradcheck(layers: list[Layer], keys: list[str], x, y, loss: str) -> list[Row]:
    """Per variable: relative error of the hand-derived and finite-difference gradients
    against the tape's."""
    _, hand = loss_and_gradients(layers, x, y, loss)
    tape = tape_gradients(layers, x, y, loss)
    numeric = finite_differences(layers, x, y, loss)
    rows = []
    for key, hand_pair, tape_pair, numeric_pair in zip(keys, hand, tape, numeric):
        for name, h, t, (indices, estimates) in zip(("kernel", "bias"), hand_pair, tape_pair,
                                                     numeric_pair):
            rows.append(Row(key, name, relative_error(h, t),
                            relative_error(estimates, t.reshape(-1)[indices])))
    return rows
