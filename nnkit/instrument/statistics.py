"""Statistics computed inside the compiled training step (pure TensorFlow functions)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def squared_norm(tensor) -> tf.Tensor:
    """‖t‖₂² in float32."""
    return tf.reduce_sum(tf.square(tf.cast(tensor, tf.float32)))


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
