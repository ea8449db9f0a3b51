"""The model nnkit trains: a functional Keras model with its own ``train_step``."""

from __future__ import annotations

import keras
import tensorflow as tf


class TrainingModel(keras.Model):
    """A functional model whose training step is written out on ``tf.GradientTape``.

    It is what ``nnkit run`` compiles and fits, so Keras' ``fit``, callbacks and
    ``tf.distribute`` keep working. The step adds what Keras' own cannot do:

    * Nesterov's look-ahead form: with an optimizer whose ``lookahead`` is set (``NAG``), the
      weights are moved to W - βV before the forward pass and back before the update, so the
      gradient is ∇L(W - βV) exactly as the notes define it.

    Build it over an existing network with ``TrainingModel(net.inputs, net.outputs)``; save
    the network itself, which needs no nnkit training code to reload.
    """

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        variables = self.trainable_variables
        lookahead = getattr(self.optimizer, "lookahead", False)
        if lookahead:
            if not self.optimizer.built:
                self.optimizer.build(variables)
            self.optimizer.to_lookahead(variables)
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                     training=True)
        gradients = tape.gradient(loss, variables)
        if lookahead:
            self.optimizer.from_lookahead(variables)
        self.optimizer.apply(gradients, variables)
        batch_size = tf.shape(tf.nest.flatten(x)[0])[0]
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss, sample_weight=batch_size)
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)
