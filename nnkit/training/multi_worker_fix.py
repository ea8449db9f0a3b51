"""Work around keras-team/keras#20585: Keras 3's ``fit`` under ``MultiWorkerMirroredStrategy``.

Keras calls ``strategy.reduce`` in two ways that this strategy refuses:

* on the whole (x, y) tuple of a distributed batch, to build the model's metrics before the
  first step (``axis=None``): the strategy cannot convert a tuple of per-replica values;
* on each scalar log (loss, metrics) with ``axis=0``: a scalar has no axis 0.

Reducing element by element, and scalars with ``axis=None``, gives what Keras meant: the mean
over replicas, which for these values is their common value. With this, two workers on
loopback train to the weights one process reaches on the same global batch.
"""

from __future__ import annotations

import tensorflow as tf


def install(strategy: tf.distribute.Strategy) -> None:
    """Replace ``strategy.reduce`` on this strategy object only."""
    original = strategy.reduce

    def reduce(reduce_op, value, axis=None):
        def one(v):
            rank = getattr(getattr(v, "shape", None), "rank", None)
            return original(reduce_op, v, axis=None if rank == 0 else axis)

        return tf.nest.map_structure(one, value)

    strategy.reduce = reduce
