"""The model nnkit trains: a functional Keras model with nnkit's training step."""

from __future__ import annotations

import keras
import tensorflow as tf

from nnkit.instrument.statistics import half_squared_norm
from nnkit.training import step as training_step


class TrainingModel(keras.Model):
    """A functional model trained by :func:`nnkit.training.step.train_step`.

    It is what ``nnkit run`` compiles and fits, so Keras' ``fit``, callbacks and
    ``tf.distribute`` keep working; the step adds per-layer instrumentation (with a
    :class:`~nnkit.instrument.Recorder` attached by :meth:`instrument`), the replicas'
    gradients summed once, and Nesterov's look-ahead form (see :mod:`nnkit.training.step`).
    On top, it can fast-forward the steps a resumed run has already done.

    Build it over an existing network with ``TrainingModel(net.inputs, net.outputs)``; save
    the network itself, which needs no nnkit training code to reload. Any other Keras model
    gets the same step from :func:`nnkit.watch`.
    """

    recorder = None
    _capture = None
    _nonfinite_step = None

    @property
    def nonfinite_step(self) -> int:
        """The first step whose gradients were found not finite, or -1 (with a recorder: in
        the rows it has written out so far, see :meth:`Recorder.flush`)."""
        if self.recorder is not None:
            return self.recorder.first_nonfinite[0]
        if self._nonfinite_step is None:
            return -1
        return int(self._nonfinite_step.numpy())

    def watch_nonfinite(self) -> None:
        """Create the variable the step marks its first non-finite step in (before ``fit``,
        outside any distribution scope: only the first replica of each worker writes it)."""
        if self._nonfinite_step is None:
            self._nonfinite_step = tf.Variable(-1, dtype=tf.int64, trainable=False)

    def _check_finite(self, step, gradients) -> None:
        """Remember the first step whose gradients hold a NaN or an Inf (one pass over them).

        The step skips it with a recorder: the recorder checks the gradients, layer by
        layer, on the steps it logs (every step by default), and the guard checks the loss
        after every step.
        """
        if self._nonfinite_step is None:
            with tf.init_scope():
                self.watch_nonfinite()
        total = tf.add_n([half_squared_norm(g) for g in gradients])
        first = tf.logical_and(tf.logical_not(tf.math.is_finite(total)),
                               self._nonfinite_step < 0)
        self._nonfinite_step.assign(tf.where(first, tf.cast(step, tf.int64),
                                             self._nonfinite_step))

    def instrument(self, recorder) -> None:
        """Attach a recorder; its probed layers' outputs are captured on histogram steps."""
        self.recorder = recorder
        self._capture = recorder.activation_capture()

    def make_train_function(self, force=False):
        """Keras' train function without a recorder; with one, one compiled step per kind of
        step (:func:`~nnkit.training.step.dispatching_train_function`)."""
        if self.train_function is not None and not force:
            return self.train_function
        if self.recorder is None:
            super().make_train_function(force)  # sets self.train_function
            function = self.train_function
        else:
            function = training_step.dispatching_train_function(
                self, self.recorder, self.train_step)
        self.train_function = self._fast_forwarding(function)
        return self.train_function

    def fast_forward(self, steps: int) -> None:
        """Let the next ``steps`` calls of the train function return the metrics as they are,
        running nothing and reading no data: a run resumed in the middle of an epoch goes
        through the batches done before its checkpoint this way (the data skips them), so
        that Keras counts the epoch's steps as an uninterrupted run does."""
        self._fast_forward = int(steps)

    def build_metrics(self, x, y) -> None:
        """Create the compiled metrics' variables now (Keras creates them when the step is
        first traced), from a sample batch, and zero them: a checkpoint taken mid-epoch holds
        their running sums, restored before the first step."""
        self.compute_metrics(x, y, self([x], training=False), sample_weight=None)
        self.reset_metrics()

    _fast_forward = 0
    skip_validation = False  # set when an interrupt ends an epoch early

    def _should_eval(self, epoch, validation_freq):
        """Keras' choice of epochs to validate, except after an interrupt: the epoch it cut
        short is not over, and its evaluation would only delay the stop."""
        return not self.skip_validation and super()._should_eval(epoch, validation_freq)

    def _fast_forwarding(self, function):
        def train_function(iterator):
            if self._fast_forward > 0:
                self._fast_forward -= 1
                return self.get_metrics_result()
            return function(iterator)

        return train_function

    def train_step(self, data, scalars: bool = True, histograms: bool = True,
                   per_example: bool = False):
        """One step; with a recorder, ``scalars``/``histograms`` say what it records and
        ``per_example`` whether the in-step gradient noise is measured."""
        return training_step.train_step(
            self, data, self.recorder, self._capture, scalars, histograms,
            check_finite=self._check_finite if self.recorder is None else None,
            per_example=per_example)
