"""Gradient check: ``tf.GradientTape`` vs backprop by hand vs central finite differences.

All three work in float64 on the same weights, batch and loss. The relative error of two
gradients a, b is ‖a - b‖ / max(‖a‖ + ‖b‖, 1e-30), per variable.

Hand vs tape must agree to a fixed relative tolerance (both are exact up to float64
round-off). Finite differences cannot: the central difference (L(θ+ε) - L(θ-ε)) / 2ε carries
a round-off error of about c·u·|L| / ε per entry (u = 2⁻⁵², c ≈ 10 for the few ops whose
rounding reaches L), whatever the gradient's size. On a tiny gradient (a deep sigmoid MLP's
first layer: ‖∇‖ ≈ 1e-5) that floor is a large relative error although the backprop is
right. Each variable's finite-difference tolerance is therefore
``rtol + √n · c·u·|L|/ε / (‖a‖ + ‖b‖)`` over its n checked entries.

Dropout is the identity in inference mode; gradcheck checks the network without it.
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
    differences_tolerance: float = 0.0  # what differences_vs_tape may reach (see module)


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


ROUNDING = 10 * np.finfo(np.float64).eps  # c·u: the rounding that reaches L (see module)


def gradcheck(layers: list[Layer], keys: list[str], x, y, loss: str,
              differences_rtol: float = 1e-4, epsilon: float = 1e-6) -> list[Row]:
    """Per variable: relative error of the hand-derived and finite-difference gradients
    against the tape's, and the finite differences' tolerance (``differences_rtol`` plus
    their round-off floor relative to this gradient's size)."""
    value, hand = loss_and_gradients(layers, x, y, loss)
    tape = tape_gradients(layers, x, y, loss)
    numeric = finite_differences(layers, x, y, loss, epsilon)
    noise_per_entry = ROUNDING * max(abs(float(value)), 1.0) / epsilon
    rows = []
    for key, hand_pair, tape_pair, numeric_pair in zip(keys, hand, tape, numeric):
        for name, h, t, (indices, estimates) in zip(("kernel", "bias"), hand_pair, tape_pair,
                                                     numeric_pair):
            exact = t.reshape(-1)[indices]
            size = max(np.linalg.norm(estimates) + np.linalg.norm(exact), 1e-30)
            floor = np.sqrt(len(indices)) * noise_per_entry / size
            rows.append(Row(key, name, relative_error(h, t), relative_error(estimates, exact),
                            differences_rtol + floor))
    return rows
