"""Batched TensorBoard writes: all of a step's values of one kind in one ``Summary``.

One ``tf.summary.scalar`` per tag costs several graph ops per tag and per step; with a
hundred tags that is most of a small model's step time. Here all of a step's values of one
kind go into a single ``Summary`` protocol buffer; TensorBoard reads each value under its
own tag, exactly as if written one by one.

* Scalars are only stored by the step (:class:`ScalarRows`), encoded in batches from Python
  (:class:`ScalarWriter`) and appended to an event file of their own (:mod:`event_file`).
* Histograms, rare, are encoded with ``tf.io.encode_proto`` (vectorised over the tags) and
  written from the step with one ``write_raw_pb`` (:class:`HistogramWriter`).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from tensorboard.compat.proto import tensor_shape_pb2
from tensorboard.plugins.histogram import metadata as histogram_metadata
from tensorboard.plugins.scalar import metadata as scalar_metadata

from nnkit.instrument.wire import field, varint_field

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
    """Rows of per-step values kept in a variable by the compiled step, taken out in batches.

    :meth:`append` (inside the step: a few scatter ops) stores one step's row and its step
    number; :meth:`take` (from Python, once per epoch or when ``capacity`` rows are filled)
    returns the stored rows and empties the store. The caller counts the rows it has the
    step append in ``pending``.
    What the rows hold, and how they become scalars, is the caller's (the recorder stores raw
    squared norms and derives the logged values from them in NumPy).
    """

    def __init__(self, width: int, capacity: int = 256):
        self.width, self.capacity, self.pending = int(width), int(capacity), 0
        self.rows = tf.Variable(tf.zeros([self.capacity, max(self.width, 1)]),
                                trainable=False, name="rows")
        self.steps = tf.Variable(tf.zeros([self.capacity], tf.int64), trainable=False,
                                 name="row_steps")
        self.filled = tf.Variable(0, trainable=False, name="rows_filled")

    def append(self, step, values) -> None:
        """Store one step's row (call inside the compiled step)."""
        if not self.width:
            return
        index = self.filled.read_value()[None, None]
        self.rows.scatter_nd_update(index, tf.cast(values, tf.float32)[None])
        self.steps.scatter_nd_update(index, tf.cast(step, tf.int64)[None])
        self.filled.assign_add(1)

    def take(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows [k, width], their steps [k]) stored since the last call (eager)."""
        pending, self.pending = self.pending, 0
        filled = int(self.filled.numpy()) if pending else 0  # no read when none were due
        if not filled:
            return np.zeros((0, self.width), "float32"), np.zeros(0, "int64")
        self.filled.assign(0)
        return self.rows.numpy()[:filled, :self.width], self.steps.numpy()[:filled]


class ScalarWriter:
    """Writes rows of scalars, one value per tag, one ``Summary`` per step (from Python).

    A scalar ``Summary`` for fixed tags has fixed bytes but for the 4 bytes of each float:

        Summary  { value = 1: Value { tag = 1, metadata = 9, tensor = 8: TensorProto {
                   dtype = 1: DT_FLOAT, float_val = 5: [x] } } ... }

    so rows are encoded by copying a template and writing the floats into it with NumPy (no
    per-value protocol-buffer work), then appended to an
    :class:`~nnkit.instrument.event_file.EventFile` at their own steps. A tag's first value
    carries its metadata (TensorBoard reads it from there).
    """

    def __init__(self, tags: list[str]):
        self.tags = list(tags)
        metadata = scalar_metadata.create_summary_metadata(
            display_name="", description="").SerializeToString()
        self._templates = [self._template(metadata if first else None) for first in (True, False)]
        self._first = True

    def _template(self, metadata: bytes | None) -> tuple[np.ndarray, np.ndarray]:
        """(the bytes of a row with zeros for the floats, the floats' byte positions)."""
        chunks, holes, offset = [], [], 0
        for tag in self.tags:
            tensor = varint_field(1, DT_FLOAT) + field(5, bytes(4))
            value = field(1, tag.encode()) + (field(9, metadata) if metadata else b"")
            chunk = field(1, value + field(8, tensor))
            holes.append(offset + len(chunk) - 4)
            chunks.append(chunk)
            offset += len(chunk)
        template = np.frombuffer(b"".join(chunks), np.uint8)
        return template, (np.array(holes, "int64")[:, None] + np.arange(4)).reshape(-1)

    def encode(self, values: np.ndarray, first: bool = False) -> list[bytes]:
        """Serialized ``Summary`` protocol buffers, one per row of ``values`` [k, tags]
        (the first with the metadata when ``first``)."""
        values = np.ascontiguousarray(values, "<f4")
        rows = self._fill(self._templates[1], values)
        if first and rows:
            rows[0] = self._fill(self._templates[0], values[:1])[0]
        return rows

    @staticmethod
    def _fill(template_holes, values) -> list[bytes]:
        template, holes = template_holes
        out = np.tile(template, (len(values), 1))
        out[:, holes] = values.view(np.uint8).reshape(len(values), -1)
        return [row.tobytes() for row in out]

    def write(self, event_file, values: np.ndarray, steps: np.ndarray) -> None:
        """Append ``values`` [k, tags] at ``steps`` [k] to ``event_file``."""
        if len(values) and self.tags:
            for summary, step in zip(self.encode(values, self._first), steps):
                event_file.write(summary, step)
            self._first = False


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
