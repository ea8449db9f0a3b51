"""The outputs of chosen layers, taken from the forward pass the training step runs anyway.

A functional model could expose its layers' outputs as extra model outputs, but a
subclassed model, a block inside a layer or a layer called twice has no such graph. So each
probed layer's ``call`` is wrapped, on that layer object alone (its class is untouched):
while :meth:`ActivationCapture.collecting` is active, the wrapper keeps what ``call``
returned; otherwise it only passes the call through. Wrapping happens at trace time, so the
compiled step holds exactly the ops of the model's own forward pass, plus the statistics of
the kept outputs.

A layer called several times in one pass (a shared layer, a layer inside a loop) gives the
statistics of all its calls together: the outputs are flattened to rows of units (the last
axis) and stacked. A layer the pass did not call, or called only inside a nested graph
(a branch of ``tf.cond``, a loop body), gives NaN statistics.
"""

from __future__ import annotations

import contextlib

import tensorflow as tf


class ActivationCapture:
    """Keeps the outputs of ``layers`` (Keras layers) while :meth:`collecting`."""

    def __init__(self, layers: list):
        self.layers = list(layers)
        self._kept: list[list] | None = None
        self._graph = None  # the graph being traced while collecting
        self._originals = {}

    def install(self) -> None:
        """Wrap each layer's ``call`` (once; :meth:`remove` undoes it)."""
        for index, layer in enumerate(self.layers):
            if id(layer) not in self._originals:
                self._originals[id(layer)] = (layer, layer.__dict__.get("call"))
                layer.call = self._wrapped(layer.call, index)

    def remove(self) -> None:
        for layer, own in self._originals.values():
            if own is None:
                del layer.__dict__["call"]
            else:
                layer.call = own
        self._originals = {}

    def _wrapped(self, call, index: int):
        def capturing_call(*args, **kwargs):
            output = call(*args, **kwargs)
            # (not a call in a scratch graph: Keras builds a layer by tracing it once)
            if self._kept is not None and tf.compat.v1.get_default_graph() is self._graph:
                self._kept[index].append(tf.nest.flatten(output)[0])  # an RNN's sequence
            return output

        capturing_call.__wrapped__ = call
        return capturing_call

    @contextlib.contextmanager
    def collecting(self):
        """Within: the layers' outputs are kept; yields a list filled on exit, one tensor (or
        None, not called) per layer."""
        self._kept = [[] for _ in self.layers]
        self._graph = tf.compat.v1.get_default_graph()
        result: list = []
        try:
            yield result
        finally:
            kept, self._kept = self._kept, None
            result += [_together(outputs) for outputs in kept]


def _together(outputs: list):
    if not outputs:
        return None
    if len(outputs) == 1:
        return outputs[0]
    units = outputs[0].shape[-1]
    return tf.concat([tf.reshape(tf.cast(o, tf.float32), [-1, units]) for o in outputs], 0)
