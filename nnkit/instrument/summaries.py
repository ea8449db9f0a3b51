"""Batched TensorBoard writes for use inside a compiled step.

One ``tf.summary.scalar`` per tag costs several graph ops per tag and per step; with a
hundred tags that is most of a small model's step time. :class:`BatchWriter` instead encodes
all of a step's values of one kind into a single ``Summary`` protocol buffer with
``tf.io.encode_proto`` (vectorised over the tags) and writes it with one
``write_raw_pb``: TensorBoard reads each value under its own tag, exactly as if written
one by one.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from tensorboard.compat.proto import tensor_shape_pb2
from tensorboard.plugins.histogram import metadata as histogram_metadata
from tensorboard.plugins.scalar import metadata as scalar_metadata

BINS = 30
DT_FLOAT, DT_DOUBLE = 1, 2  # tensorflow.DataType
_LEFT = np.arange(BINS, dtype="float32") / BINS
_RIGHT = np.arange(1, BINS + 1, dtype="float32") / BINS


class BatchWriter:
    """Writes one value per tag for a fixed list of tags, in a single summary.

    Args:
        tags: the tags, in the order of the values given to :meth:`write`.
        kind: ``scalars`` (values of shape [n]) or ``histograms`` (values [n, BINS, 3]).
    """

    def __init__(self, tags: list[str], kind: str = "scalars"):
        self.tags, self.kind = list(tags), kind
        metadata = (scalar_metadata if kind == "scalars" else histogram_metadata)
        self._metadata = metadata.create_summary_metadata(
            display_name="", description="").SerializeToString()
        shape = tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=s) for s in (BINS, 3)])
        self._shape = shape.SerializeToString()
        self._first = None  # metadata goes with a tag's first value only, as TensorBoard needs

    def write(self, values) -> None:
        """Write ``values`` at the default writer's step (call under ``writer.as_default``)."""
        n = len(self.tags)
        if n == 0:
            return
        if self.kind == "scalars":
            tensors = tf.io.encode_proto(
                tf.ones([n, 2], tf.int32),
                [tf.fill([n, 1], DT_FLOAT), tf.reshape(tf.cast(values, tf.float32), [n, 1])],
                ["dtype", "float_val"], "tensorflow.TensorProto")
        else:
            tensors = tf.io.encode_proto(
                tf.constant([[1, 1, BINS * 3]] * n, tf.int32),
                [tf.fill([n, 1], DT_DOUBLE), tf.fill([n, 1], self._shape),
                 tf.reshape(tf.cast(values, tf.float64), [n, BINS * 3])],
                ["dtype", "tensor_shape", "double_val"], "tensorflow.TensorProto")
        if self._first is None:
            with tf.init_scope():
                self._first = tf.Variable(True, trainable=False, name="first_write")
        sizes = tf.where(self._first, tf.ones([n, 3], tf.int32),
                         tf.tile(tf.constant([[1, 0, 1]], tf.int32), [n, 1]))
        summary_values = tf.io.encode_proto(
            sizes,
            [tf.constant([[t.encode()] for t in self.tags]), tf.fill([n, 1], self._metadata),
             tf.reshape(tensors, [n, 1])],
            ["tag", "metadata", "tensor"], "tensorflow.Summary.Value")
        self._first.assign(False)
        summary = tf.io.encode_proto(tf.constant([[n]], tf.int32),
                                     [tf.reshape(summary_values, [1, n])], ["value"],
                                     "tensorflow.Summary")
        tf.summary.experimental.write_raw_pb(summary[0])


def histogram(values) -> tf.Tensor:
    """TensorBoard's histogram format: rows of (left edge, right edge, count).

    The range spans the values; NaN and ±Inf (a failing run) are counted as 0. Written with
    few graph ops, since every histogram tag adds them to the traced training step.
    """
    values = tf.reshape(tf.cast(values, tf.float32), [-1])
    values = tf.where(tf.math.is_finite(values), values, 0.0)
    low, high = tf.reduce_min(values), tf.reduce_max(values)
    width = tf.maximum(high - low, 1e-6 * (tf.abs(low) + 1.0))  # > float32 spacing at low
    counts = tf.histogram_fixed_width(values, tf.stack([low, low + width]), nbins=BINS)
    rows = tf.stack([low + width * _LEFT, low + width * _RIGHT, tf.cast(counts, tf.float32)], 1)
    return tf.cast(rows, tf.float64)
