"""A ``tf.cond`` that stays one ``If`` op, so a branch not taken costs one kernel call.

Inside a ``tf.function`` TensorFlow lowers ``tf.cond`` to Switch/Merge: one Switch op per
tensor the branches capture, executed on every step whichever branch runs. The recorder's
branches capture every gradient, weight and activation (100+ tensors on a 20-layer MLP), so
lowering made the *skipped* statistics cost ~0.3 ms a step. An ``If`` op marked
``_lower_using_switch_merge=False`` (the attribute TensorFlow itself sets for XLA and
single-threaded executors) runs the chosen branch as a function call instead.
"""

from __future__ import annotations

import tensorflow as tf
from tensorflow.core.framework import attr_value_pb2


def _if_op(tensor):
    op = tensor.op
    while op.type not in ("If", "StatelessIf"):
        if not op.inputs:
            return None
        op = op.inputs[0].op
    return op


def unlowered_cond(pred, true_fn, false_fn):
    """``tf.cond(pred, true_fn, false_fn)``, kept as one ``If`` op when inside a graph."""
    outputs = tf.cond(pred, true_fn, false_fn)
    first = tf.nest.flatten(outputs)[0] if tf.nest.flatten(outputs) else None
    if first is not None and hasattr(first, "op") and not tf.executing_eagerly():
        op = _if_op(first)
        if op is not None:
            try:  # a private attribute: if a TensorFlow release drops it, cond still works
                op._set_attr("_lower_using_switch_merge", attr_value_pb2.AttrValue(b=False))
            except (AttributeError, ValueError):
                pass
    return outputs
