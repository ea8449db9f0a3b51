"""The training batches: each epoch's order a function of (seed, epoch) alone.

Epoch e visits the samples in the order π_e = stateless_shuffle(0..n-1, seed=(seed, e)) (or
0..n-1 without shuffling), cut into ⌈n / batch_size⌉ batches, the last one partial. Because
π_e depends on nothing that happened before epoch e, training can start at any epoch and see
exactly the batches an uninterrupted run would have seen: this is what makes ``nnkit run
--resume`` reproduce an uninterrupted run (Keras' own shuffling draws from a stateful
generator, whose state a restarted process has lost).

Batches are gathered from the arrays in one vectorised ``tf.gather`` per batch, the way
Keras' array adapter does it.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf


def steps_per_epoch(n_samples: int, batch_size: int) -> int:
    return math.ceil(n_samples / batch_size)


def epoch_order(n_samples: int, epoch, seed: int, shuffle: bool) -> tf.Tensor:
    """π_e: the sample indices of epoch ``epoch`` in the order they are visited."""
    indices = tf.range(n_samples, dtype=tf.int64)
    if not shuffle:
        return indices
    key = tf.stack([tf.constant(seed, tf.int64), tf.cast(epoch, tf.int64)])
    return tf.random.experimental.stateless_shuffle(indices, seed=key)


def training_batches(x: np.ndarray, y: np.ndarray, batch_size: int, *, seed: int,
                     shuffle: bool = True, first_epoch: int = 0,
                     epochs: int = 1, skip: int = 0) -> tf.data.Dataset:
    """The batches of epochs ``first_epoch .. epochs - 1``, one after the other, less the
    first ``skip`` (the part of ``first_epoch`` a run resumed mid-epoch has done).

    Fit it with ``steps_per_epoch=steps_per_epoch(len(x), batch_size)`` and
    ``initial_epoch=first_epoch``.
    """
    n = len(x)
    full = n // batch_size

    def batch_indices(epoch):
        order = epoch_order(n, epoch, seed, shuffle)
        batches = tf.data.Dataset.from_tensor_slices(
            tf.reshape(order[:full * batch_size], [full, batch_size]))
        if n % batch_size:
            batches = batches.concatenate(tf.data.Dataset.from_tensors(order[full * batch_size:]))
        return batches

    epochs_ = tf.data.Dataset.range(first_epoch, max(first_epoch, epochs))
    indices = epochs_.flat_map(batch_indices).skip(skip)
    arrays = tf.data.Dataset.from_tensors((x, y)).repeat()
    dataset = tf.data.Dataset.zip((indices, arrays)).map(
        lambda index, xy: (tf.gather(xy[0], index), tf.gather(xy[1], index)))
    return dataset.prefetch(tf.data.AUTOTUNE)
