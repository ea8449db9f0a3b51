"""Batched TensorBoard writes for use inside a compiled step.

One ``tf.summary.scalar`` per tag costs several graph ops per tag and per step; with a
hundred tags that is most of a small model's step time. Here all of a step's values of one
kind go into a single ``Summary`` protocol buffer, encoded with ``tf.io.encode_proto``
(vectorised over the tags) and written with one ``write_raw_pb``: TensorBoard reads each
value under its own tag, exactly as if written one by one. Scalars (:class:`ScalarRows`) are
only stored by the step and encoded in batches from Python; histograms, rare,
(:class:`HistogramWriter`) are written from the step.
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


class HistogramWriter:
    """Writes one histogram per tag for a fixed list of tags, in a single summary.

    ``values`` of shape [n, BINS, 3] (rows of :func:`histogram`), written at the default
    writer's step. A tag's first value carries its metadata (TensorBoard reads it there).
    """

    def __init__(self, tags: list[str]):
        self.tags = list(tags)
        self._metadata = histogram_metadata.create_summary_metadata(
            display_name="", description="").SerializeToString()
        shape = tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=s) for s in (BINS, 3)])
        self._shape = shape.SerializeToString()
        self._first = None

    def write(self, values) -> None:
        """Write ``values`` (call inside the step, under ``writer.as_default``)."""
        n = len(self.tags)
        if n == 0:
            return
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


class ScalarRows:
    """Per-step scalar rows kept in a variable by the compiled step, written in batches.

    :meth:`append` (inside the step: a few scatter ops) stores one step's values and its step
    number; :meth:`flush` (from Python, once per epoch or when ``capacity`` rows are filled:
    the caller counts them in ``pending``) encodes all stored rows into one ``Summary`` per
    step with two vectorised ``encode_proto`` and writes them in a loop of
    ``write_raw_pb`` at their own steps. Encoding and writing thus leave the training step.
    A tag's first value carries its metadata (TensorBoard reads it from there).
    """

    def __init__(self, tags: list[str], capacity: int = 256):
        self.tags, self.capacity, self.pending = list(tags), int(capacity), 0
        n = max(len(self.tags), 1)
        self.rows = tf.Variable(tf.zeros([self.capacity, n]), trainable=False, name="rows")
        self.steps = tf.Variable(tf.zeros([self.capacity], tf.int64), trainable=False,
                                 name="row_steps")
        self.filled = tf.Variable(0, trainable=False, name="rows_filled")
        self._metadata = scalar_metadata.create_summary_metadata(
            display_name="", description="").SerializeToString()
        self._tag_column = tf.constant([[t.encode()] for t in self.tags] or [[b""]])
        self._first = True
        self._write = tf.function(self._write_rows, input_signature=[
            tf.TensorSpec([None, n], tf.float32), tf.TensorSpec([None], tf.int64),
            tf.TensorSpec([], tf.bool)])

    def append(self, step, values) -> None:
        """Store one step's values (call inside the compiled step)."""
        if not self.tags:
            return
        index = self.filled.read_value()[None, None]
        self.rows.scatter_nd_update(index, tf.cast(values, tf.float32)[None])
        self.steps.scatter_nd_update(index, tf.cast(step, tf.int64)[None])
        self.filled.assign_add(1)

    def flush(self, writer) -> None:
        """Write the stored rows with ``writer`` and empty the store (eager)."""
        filled = int(self.filled.numpy())
        if filled:
            with writer.as_default():
                self._write(self.rows[:filled], self.steps[:filled], tf.constant(self._first))
            self._first = False
        self.filled.assign(0)
        self.pending = 0

    def _write_rows(self, rows, steps, first):
        n, k = len(self.tags), tf.shape(rows)[0]
        count = k * n
        tensors = tf.io.encode_proto(
            tf.ones([count, 2], tf.int32),
            [tf.fill([count, 1], DT_FLOAT), tf.reshape(rows, [count, 1])],
            ["dtype", "float_val"], "tensorflow.TensorProto")
        with_metadata = tf.logical_and(first, tf.range(count) < n)  # the first row only
        sizes = tf.stack([tf.ones([count], tf.int32), tf.cast(with_metadata, tf.int32),
                          tf.ones([count], tf.int32)], axis=1)
        values = tf.io.encode_proto(
            sizes, [tf.tile(self._tag_column, [k, 1]), tf.fill([count, 1], self._metadata),
                    tf.reshape(tensors, [count, 1])],
            ["tag", "metadata", "tensor"], "tensorflow.Summary.Value")
        summaries = tf.io.encode_proto(tf.fill([k, 1], n), [tf.reshape(values, [k, n])],
                                       ["value"], "tensorflow.Summary")
        for i in tf.range(k):
            tf.summary.experimental.write_raw_pb(summaries[i], step=steps[i])


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
