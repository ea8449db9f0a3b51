"""Tensors kept from inside chosen layers during one forward pass of the training step.

A layer that supports a tap has an attribute (``state_tap`` on nnkit's RNN, the hidden
states; ``attention_tap`` on nnkit's MultiHeadAttention, the attention weights) which is
None except while :meth:`ForwardTaps.active`; then the layer hands the tensor to
:meth:`ForwardTaps.keep` (a layer called twice: its first call is kept). A call in another
graph (Keras tracing the layer to build it) is not tapped: :meth:`ForwardTaps.here`.
"""

from __future__ import annotations

import contextlib

import tensorflow as tf


class ForwardTaps:
    """Taps set on ``layers`` through their attribute ``attribute``."""

    def __init__(self, layers: list, attribute: str):
        self.layers, self.attribute = list(layers), attribute
        self.kept: dict[int, object] = {}
        self._graph = None
        self._watch = None

    def here(self) -> bool:
        """Whether the layer is being called in the pass the taps are active for."""
        return self._graph is not None and tf.compat.v1.get_default_graph() is self._graph

    def keep(self, layer, tensor):
        """Keep ``layer``'s tensor (watched by the tape given to :meth:`active`, if any)."""
        if self._watch is not None:
            self._watch(tensor)
        self.kept.setdefault(id(layer), tensor)
        return tensor

    @contextlib.contextmanager
    def active(self, watch=None):
        """Within: the layers hand their tensors here; ``watch``: the tape's, to take
        gradients with respect to them."""
        self.kept, self._watch = {}, watch
        self._graph = tf.compat.v1.get_default_graph()
        for layer in self.layers:
            setattr(layer, self.attribute, self)
        try:
            yield self
        finally:
            self._graph = self._watch = None
            for layer in self.layers:
                setattr(layer, self.attribute, None)

    def taps(self) -> list:
        """The kept tensors, one per layer in order (None: the layer was not called)."""
        return [self.kept.get(id(layer)) for layer in self.layers]

    def called(self) -> list:
        """The kept tensors of the layers the pass called, in order."""
        return [tensor for tensor in self.taps() if tensor is not None]
