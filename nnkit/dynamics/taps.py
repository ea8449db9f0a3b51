"""Taps on Dense and conv layers: each layer's input a and pre-activation z = aW + b, kept
from the forward pass, and the per-example gradient identities they allow.

A Dense layer's ``call`` computes z and then its activation (``activation`` on Keras' Dense
and Conv, ``_activation_fn`` on nnkit's); wrapping the instance's ``call`` keeps a, and
wrapping its activation keeps z, whatever the activation (fused or linear). The class is
untouched (as in :mod:`nnkit.instrument.capture`). With the gradient δ = ∂(Σᵢℓᵢ)/∂z, whose
example-i slice is ∂ℓᵢ/∂zᵢ, the per-example kernel gradient is aᵢδᵢᵀ (summed over positions
for sequences and convolutions).
"""

from __future__ import annotations

import contextlib

import keras
import tensorflow as tf


def dense_activation(layer) -> str | None:
    """The attribute holding a Dense layer's activation (its pre-activation is z = aW + b),
    or None for any other layer."""
    from nnkit.layers import Dense

    if isinstance(layer, Dense):
        return "_activation_fn"
    if type(layer) is keras.layers.Dense and not getattr(layer, "lora_enabled", False) \
            and getattr(layer, "quantization_mode", None) is None:
        return "activation"
    return None


def conv_activation(layer) -> str | None:
    """``activation`` for a Keras Conv1D/Conv2D whose per-example kernel gradient the
    patch identity gives (channels last, no groups, dilation or causal padding)."""
    if type(layer) not in (keras.layers.Conv1D, keras.layers.Conv2D):
        return None
    plain = (layer.data_format == "channels_last" and layer.groups == 1
             and all(d == 1 for d in layer.dilation_rate) and layer.padding in ("valid", "same"))
    return "activation" if plain else None


def _tappable(layer) -> str | None:
    return dense_activation(layer) or conv_activation(layer)


def _patches(layer, a):
    """A conv layer's input as rows of patches [B, positions, kernel size], in the order of
    its kernel reshaped to [-1, filters]."""
    if isinstance(layer, keras.layers.Conv1D):
        a = a[:, None]  # [B, 1, L, C]: a 1-row image
        sizes, strides = [1, 1, layer.kernel_size[0], 1], [1, 1, layer.strides[0], 1]
    else:
        sizes = [1, *layer.kernel_size, 1]
        strides = [1, *layer.strides, 1]
    patches = tf.image.extract_patches(a, sizes, strides, [1, 1, 1, 1], layer.padding.upper())
    return tf.reshape(patches, [tf.shape(a)[0], -1, patches.shape[-1]])


def _rows(layer, a, delta) -> tuple:
    """The layer's input and per-example pre-activation gradient in float32, a conv layer's
    input as patches: then aᵢₚ δᵢₚᵀ summed over positions p is example i's kernel gradient."""
    a, delta = tf.cast(a, tf.float32), tf.cast(delta, tf.float32)
    return (_patches(layer, a) if conv_activation(layer) is not None else a), delta


def per_example_sums(layer, a, delta) -> tuple:
    """Σᵢ gᵢ for the layer's kernel and bias from its input a and the per-example gradient
    δ at its pre-activation: Σᵢ Σₚ aᵢₚδᵢₚᵀ, one product over examples and positions."""
    a, delta = _rows(layer, a, delta)
    a = tf.reshape(a, [-1, a.shape[-1]])
    delta = tf.reshape(delta, [-1, delta.shape[-1]])
    kernel = tf.reshape(tf.matmul(a, delta, transpose_a=True), layer.kernel.shape)
    return kernel, tf.reduce_sum(delta, 0)


def per_example_squares(layer, a, delta) -> tuple:
    """Σᵢ gᵢ² for the layer's kernel and bias from its input a and the per-example gradient
    δ at its pre-activation. A Dense layer on [B, in]: (A∘A)ᵀ(Δ∘Δ); on sequences, and a
    conv layer on patches: gᵢ = Σ_positions aᵢₚδᵢₚᵀ per example, then squared and summed."""
    a, delta = _rows(layer, a, delta)
    if a.shape.rank == 2:
        kernel = tf.matmul(tf.square(a), tf.square(delta), transpose_a=True)
        bias = tf.reduce_sum(tf.square(delta), 0)
    else:
        batch = tf.shape(a)[0]
        a = tf.reshape(a, [batch, -1, a.shape[-1]])
        delta = tf.reshape(delta, [batch, -1, delta.shape[-1]])
        kernel = tf.reduce_sum(tf.square(tf.einsum("bpi,bpo->bio", a, delta)), 0)
        bias = tf.reduce_sum(tf.square(tf.reduce_sum(delta, 1)), 0)
    return tf.reshape(kernel, layer.kernel.shape), bias


class PreactivationTaps:
    """While :meth:`active`, keeps each trainable Dense or conv layer's inputs and
    pre-activations: ``kept[id(layer)]`` is a list of [a, z], one per call."""

    def __init__(self, model):
        self.layers = [(layer, attr) for layer in model._flatten_layers(include_self=False)
                       if (attr := _tappable(layer)) is not None and layer.trainable]
        self.kept: dict[int, list] = {}

    @contextlib.contextmanager
    def active(self):
        saved = []
        for layer, attr in self.layers:
            saved.append((layer, attr, layer.__dict__.get("call"), getattr(layer, attr)))
            self.kept[id(layer)] = []
            layer.call = self._tapped_call(layer, layer.call)
            setattr(layer, attr, self._tapped_activation(layer, getattr(layer, attr)))
        try:
            yield self
        finally:
            for layer, attr, call, activation in saved:
                if call is None:
                    del layer.__dict__["call"]
                else:
                    layer.call = call
                setattr(layer, attr, activation)

    def _tapped_call(self, layer, call):
        def tapped(inputs, *args, **kwargs):
            self.kept[id(layer)].append([inputs, None])
            return call(inputs, *args, **kwargs)
        return tapped

    def _tapped_activation(self, layer, activation):
        def tapped(z):
            calls = self.kept[id(layer)]
            if calls and calls[-1][1] is None:
                calls[-1][1] = z
            return activation(z) if activation is not None else z
        return tapped

    def usable(self, layer) -> tuple | None:
        """(a, z) of a layer called once (its pre-activation seen), else None."""
        calls = self.kept.get(id(layer), [])
        if len(calls) != 1 or calls[0][1] is None:
            return None
        return calls[0]
