"""The forward and backward pass of an MLP written from the notes' equations (no autodiff).

Notation of the notes, per layer l = 1..L, with n samples as rows:

    I¹ = X,  Zˡ = Iˡ Wˡ + bˡ,  Aˡ = g(Zˡ),  Iˡ⁺¹ = Aˡ,  Ŷ = Aᴸ
    Pᴸ = ∂L/∂Ŷ                          (from the loss, batch-averaged)
    Fˡ = Pˡ ⊙ g'(Zˡ)                    (softmax: Fˡ = Ŷ ⊙ (P - Σⱼ P ⊙ Ŷ), its Jacobian)
    ∇Wˡ = (Iˡ)ᵀ Fˡ,   ∇bˡ = Σ_rows Fˡ,   Pˡ⁻¹ = Fˡ (Wˡ)ᵀ

Everything is NumPy float64. Activation derivatives come from
``nnkit.activations.derivative``, the functions the rest of nnkit is tested against.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nnkit import activations
from nnkit.backprop.losses import LOSSES


@dataclass
class Layer:
    """A dense layer and its activation (an nnkit name, or ``softmax`` for the output)."""

    weights: np.ndarray
    bias: np.ndarray
    activation: str = "linear"
    params: dict = field(default_factory=dict)


def _apply(name: str, params: dict, z: np.ndarray) -> np.ndarray:
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    return np.asarray(activations.get(name)(z, **params), dtype=np.float64)


def _local_gradient(name: str, params: dict, z, a, upstream) -> np.ndarray:
    """Fˡ = downstream gradient = upstream gradient × local gradient of the activation."""
    if name == "softmax":
        return a * (upstream - np.sum(upstream * a, axis=1, keepdims=True))
    return upstream * np.asarray(activations.derivative(name)(z, **params), dtype=np.float64)


def forward(layers: list[Layer], x: np.ndarray):
    """Ŷ and the cache (Iˡ, Zˡ, Aˡ) of every layer."""
    cache, inputs = [], np.asarray(x, np.float64)
    for layer in layers:
        z = inputs @ layer.weights + layer.bias
        a = _apply(layer.activation, layer.params, z)
        cache.append((inputs, z, a))
        inputs = a
    return inputs, cache


def backward(layers: list[Layer], cache, upstream: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """(∇Wˡ, ∇bˡ) for every layer, from Pᴸ = ∂L/∂Ŷ, by the equations above."""
    gradients = []
    for layer, (inputs, z, a) in zip(reversed(layers), reversed(cache)):
        f = _local_gradient(layer.activation, layer.params, z, a, upstream)
        gradients.append((inputs.T @ f, f.sum(axis=0)))
        upstream = f @ layer.weights.T
    return gradients[::-1]


def loss_and_gradients(layers: list[Layer], x, y, loss: str):
    """L and [(∇Wˡ, ∇bˡ)] for a batch, entirely by hand."""
    y_hat, cache = forward(layers, x)
    hand = LOSSES[loss]
    return hand.value(y, y_hat), backward(layers, cache, hand.gradient(y, y_hat))
