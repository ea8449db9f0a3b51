"""Lean TensorBoard summary writers for use inside a compiled step.

``tf.summary.scalar``/``histogram`` build many ops per call (scopes, assertions, lazy
conditionals); with hundreds of tags that multiplies the time to trace the training step.
These write the same data, in the formats TensorBoard's scalar and histogram plugins read,
with one ``tf.summary.write`` each.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from tensorboard.plugins.histogram import metadata as histogram_metadata
from tensorboard.plugins.scalar import metadata as scalar_metadata

BINS = 30
_SCALAR = scalar_metadata.create_summary_metadata(display_name="", description="")
_HISTOGRAM = histogram_metadata.create_summary_metadata(display_name="", description="")


def write_scalar(tag: str, value) -> None:
    tf.summary.write(tag, tf.cast(value, tf.float32), metadata=_SCALAR)


def write_histogram(tag: str, data) -> None:
    """``data`` is a [bins, 3] tensor from :func:`histogram`."""
    tf.summary.write(tag, data, metadata=_HISTOGRAM)


_LEFT = np.arange(BINS, dtype="float32") / BINS
_RIGHT = np.arange(1, BINS + 1, dtype="float32") / BINS


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
