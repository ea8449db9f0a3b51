"""Statistics computed inside the compiled training step (pure TensorFlow functions)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def squared_norm(tensor) -> tf.Tensor:
    """‖t‖₂² in float32."""
    return tf.reduce_sum(tf.square(tf.cast(tensor, tf.float32)))


def dense_values(gradient):
    """The values of a gradient as a dense tensor would hold them: for a sparse one
    (``tf.IndexedSlices``, an Embedding's), the rows it touches, duplicates summed (the
    rows it does not touch are 0 and add nothing to a norm), without forming the table."""
    if not isinstance(gradient, tf.IndexedSlices):
        return gradient
    rows, position = tf.unique(gradient.indices)
    return tf.math.unsorted_segment_sum(gradient.values, position, tf.shape(rows)[0])


def half_squared_norm(gradient) -> tf.Tensor:
    """½‖g‖₂² in float32 (``tf.nn.l2_loss``), sparse gradients included."""
    return tf.nn.l2_loss(tf.cast(dense_values(gradient), tf.float32))


def mean_and_std(output) -> tuple[tf.Tensor, tf.Tensor]:
    """Mean and standard deviation of every value of ``output``, without overflow.

    Squaring in float32 overflows past |x| ≈ 1.8e19 (an exploding forward signal reaches
    that: a 24-layer ReLU MLP with N(0, 1) kernels), which made a finite activation's std
    read as inf. With m = max |x|: mean = m·mean(x/m), std = m·std(x/m), every term ≤ 1. A
    NaN or infinite value anywhere still gives NaN: not finite is reported as not finite.
    """
    x = tf.cast(output, tf.float32)
    scale = tf.reduce_max(tf.abs(x))
    scale = tf.where(scale > 0, scale, tf.ones_like(scale))
    scaled = x / scale
    return scale * tf.reduce_mean(scaled), scale * tf.math.reduce_std(scaled)


def dead_fraction(output) -> tf.Tensor:
    """Fraction of units (last axis) with no positive output anywhere in the batch.

    A ReLU unit whose pre-activation is ≤ 0 for every input gets no gradient and stays dead.
    """
    units = output.shape[-1] if output.shape[-1] is not None else tf.shape(output)[-1]
    alive = tf.reduce_any(tf.reshape(output, [-1, units]) > 0, axis=0)
    return 1.0 - tf.reduce_mean(tf.cast(alive, tf.float32))


def _sigmoid_slope(y):
    return 4.0 * y * (1.0 - y)  # σ' = σ(1 - σ), at most 1/4


def _tanh_slope(y):
    return 1.0 - tf.square(y)  # tanh' = 1 - tanh², at most 1


def _hard_tanh_slope(y):
    return tf.cast(tf.abs(y) < 1.0, y.dtype)  # 1 inside [-1, 1], 0 outside


# f'(x) / max f', written from the output y = f(x): what the probed layer has.
RELATIVE_SLOPE = {"sigmoid": _sigmoid_slope, "tanh": _tanh_slope, "hard_tanh": _hard_tanh_slope}
SATURATED_BELOW = 0.1  # a value is saturated where f' is under a tenth of its maximum


def saturated_fraction(output, activation: str) -> tf.Tensor:
    """Fraction of the values of ``output`` (a sigmoid, tanh or hard_tanh layer's) where the
    activation's derivative is below a tenth of its maximum: |x| > 3.6 for sigmoid (y below
    0.026 or above 0.974), |x| > 1.8 for tanh (|y| > 0.949). Such a value passes back less
    than a tenth of the gradient it could (Glorot & Bengio 2010 watch the top layer of a
    deep sigmoid net saturate at 0)."""
    slope = RELATIVE_SLOPE[activation](tf.cast(output, tf.float32))
    return tf.reduce_mean(tf.cast(slope < SATURATED_BELOW, tf.float32))


def distinct_units(kernel, tolerance: float = 1e-6) -> tf.Tensor:
    """How many units (columns of the kernel, last axis) differ from one another.

    Each unit's weights are projected on a fixed random direction and rounded to
    ``tolerance`` relative to the largest projection; units that round alike count as one.
    A layer whose units all start equal (constant initialisation) receives equal gradients
    and stays at 1: the symmetry the notes warn about.
    """
    fan_in = int(np.prod(kernel.shape[:-1]))
    direction = np.random.default_rng(7).normal(size=(fan_in, 1)).astype("float32")
    projection = tf.matmul(tf.reshape(tf.cast(kernel, tf.float32), [fan_in, -1]), direction,
                           transpose_a=True)
    scale = tf.reduce_max(tf.abs(projection)) + 1e-30
    buckets = tf.cast(tf.round(projection / (scale * tolerance)), tf.int64)
    return tf.size(tf.unique(tf.reshape(buckets, [-1]))[0])
