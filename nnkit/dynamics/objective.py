"""The loss a dynamics instrument differentiates: a model, a batch and a loss, fixed.

Every instrument of :mod:`nnkit.dynamics` measures the loss surface of one fixed batch,

    L(θ) = (1/B) Σᵢ ℓ(f_θ(xᵢ), yᵢ) + R(θ),

with ``R`` the model's regularization losses (``model.losses``: ``kernel_regularizer``,
``model.l2``), in inference mode by default (dropout off, batch norm on its moving
statistics), so that two evaluations at the same θ agree and the Hessian is one matrix.
``training=True`` measures the training-mode surface instead (batch norm on the batch's
statistics: the examples then interact, and per-example gradients are those of the batch
the step sees).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


def forward(model, x, training: bool):
    """``model(x)`` in training or inference mode (a model whose ``call`` takes no
    ``training`` argument is called without one); the training step's forward pass too."""
    if getattr(model, "_call_has_training_arg", True):
        return model(x, training=training)
    return model(x)


def _per_example_loss(loss):
    """A function (y_true, y_pred) → one value per example (or per example and position)."""
    if isinstance(loss, keras.losses.Loss):
        return loss.call  # unreduced
    if isinstance(loss, str):
        return keras.losses.get(loss)  # Keras' loss functions are per example
    if callable(loss):
        return loss
    raise ValueError(f"expected a Keras loss, a loss name or a function (y_true, y_pred), "
                     f"got {loss!r}")


def resolve_loss(model, loss):
    """``loss`` as a per-example function; None takes the model's compiled loss."""
    if loss is None:
        loss = getattr(model, "loss", None)
        if loss is None:
            raise ValueError("the model is not compiled with a loss: pass loss=, e.g. "
                             "loss='sparse_categorical_crossentropy'")
    if isinstance(loss, (dict, list, tuple)):
        raise ValueError("nnkit.dynamics measures models with one loss; pass loss= for the "
                         "output to measure")
    return _per_example_loss(loss)


class Objective:
    """L(θ) on a fixed batch (see the module's docstring).

    Args:
        model: a built Keras model (TensorFlow backend).
        x, y: the batch (arrays or tensors; ``x`` may be a list or dict of inputs).
        loss: a Keras loss object, a loss name, or ``fn(y_true, y_pred)`` returning one
            value per example; None: the model's compiled loss.
        training: differentiate the training-mode forward pass (default: inference mode).
    """

    def __init__(self, model, x, y, loss=None, training: bool = False):
        self.model, self.training = model, training
        self.x = tf.nest.map_structure(as_tensor, x)
        self.y = as_tensor(y)
        self.loss_fn = resolve_loss(model, loss)
        if not model.built:
            forward(model, self.x, False)
        self.variables = list(model.trainable_variables)
        if not self.variables:
            raise ValueError("the model has no trainable variables")
        # the tf.Variables under Keras' variables (forward-mode accumulators watch these)
        self.tf_variables = [getattr(v, "value", v) for v in self.variables]

    @property
    def batch_size(self) -> int:
        return int(tf.nest.flatten(self.x)[0].shape[0])

    def per_example(self) -> tf.Tensor:
        """ℓᵢ for each example of the batch [B] (a per-position loss is averaged)."""
        y_pred = forward(self.model, self.x, self.training)
        values = tf.cast(self.loss_fn(*_same_rank(self.y, y_pred)), tf.float32)
        if values.shape.rank > 1:
            values = tf.reduce_mean(values, axis=list(range(1, values.shape.rank)))
        return values

    def regularization(self) -> tf.Tensor:
        """R(θ): the model's regularization losses (0 without any)."""
        extra = [tf.cast(tf.reduce_sum(v), tf.float32) for v in self.model.losses]
        return tf.add_n(extra) if extra else tf.constant(0.0)

    def __call__(self) -> tf.Tensor:
        return tf.reduce_mean(self.per_example()) + self.regularization()

    # --- parameter vectors: one flat float32 vector over every trainable variable ---

    @property
    def size(self) -> int:
        return int(sum(np.prod(v.shape) for v in self.variables))

    def split(self, flat: tf.Tensor) -> list[tf.Tensor]:
        """A flat vector [P] as tensors shaped like the variables."""
        sizes = [int(np.prod(v.shape)) for v in self.variables]
        return [tf.reshape(part, v.shape) for part, v in
                zip(tf.split(flat, sizes), self.variables)]

    def flat_gradient(self, gradients) -> tf.Tensor:
        """Gradients (None where a variable does not reach the loss) as one flat vector."""
        return tf.concat([tf.reshape(tf.zeros_like(v) if g is None else
                                     tf.convert_to_tensor(g), [-1])
                          for g, v in zip(gradients, self.variables)], 0)


def _same_rank(y_true, y_pred):
    """Labels [B] against predictions [B, 1] (or the reverse) made [B, 1] both, a size-1
    last axis of higher ranks dropped: what Keras' loss objects do before their function
    (which reduces over the last axis)."""
    t, p = y_true.shape.rank, y_pred.shape.rank
    if p == t + 1 and y_pred.shape[-1] == 1:
        if t == 1:
            y_true = tf.expand_dims(y_true, -1)
        else:
            y_pred = tf.squeeze(y_pred, -1)
    elif t == p + 1 and y_true.shape[-1] == 1:
        if p == 1:
            y_pred = tf.expand_dims(y_pred, -1)
        else:
            y_true = tf.squeeze(y_true, -1)
    return y_true, y_pred


def as_tensor(value):
    if isinstance(value, (tf.Tensor, tf.Variable)):
        return value
    array = np.asarray(value)
    if array.dtype == np.float64:
        array = array.astype(np.float32)
    return tf.constant(array)


class LayerInputs:
    """What ``layer`` receives when ``model`` runs on ``x`` in inference mode (its first
    call's first argument), compiled once; calling it gives the tensor, or None if the pass
    does not call the layer."""

    def __init__(self, model, layer, x):
        self.model, self.layer = model, layer
        self.x = tf.nest.map_structure(as_tensor, x)
        self._compiled = tf.function(self._inputs)
        self._called = True

    def _inputs(self):
        layer, kept = self.layer, []
        own = layer.__dict__.get("call")
        call = layer.call

        def keeping(inputs, *args, **kwargs):
            kept.append(inputs)
            return call(inputs, *args, **kwargs)

        layer.call = keeping
        try:
            forward(self.model, self.x, False)
        finally:
            if own is None:
                del layer.__dict__["call"]
            else:
                layer.call = own
        self._called = bool(kept)
        return kept[0] if kept else tf.zeros([0])

    def __call__(self) -> tf.Tensor | None:
        result = self._compiled()
        return result if self._called else None
