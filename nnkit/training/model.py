"""The model nnkit trains: a functional Keras model with its own ``train_step``."""

from __future__ import annotations

import contextlib

import keras
import tensorflow as tf

from nnkit.instrument.updates import update_meter
from nnkit.training import distribute


class TrainingModel(keras.Model):
    """A functional model whose training step is written out on ``tf.GradientTape``.

    It is what ``nnkit run`` compiles and fits, so Keras' ``fit``, callbacks and
    ``tf.distribute`` keep working. The step adds what Keras' own cannot do:

    * per-layer instrumentation: with a :class:`~nnkit.instrument.Recorder` attached
      (:meth:`instrument`), the gradients the step already has, the weights before and after
      the update, and the activations of the same forward pass are handed to it inside the
      compiled function;
    * ``tf.distribute``: the replicas' gradients are summed once, here, so the recorder sees
      the gradient of the global batch (see :mod:`nnkit.training.distribute`);
    * Nesterov's look-ahead form: with an optimizer whose ``lookahead`` is set (``NAG``), the
      weights are moved to W - βV before the forward pass and back before the update, so the
      gradient is ∇L(W - βV) exactly as the notes define it.

    Build it over an existing network with ``TrainingModel(net.inputs, net.outputs)``; save
    the network itself, which needs no nnkit training code to reload.
    """

    recorder = None
    _probe = None
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
        total = tf.add_n([tf.nn.l2_loss(tf.cast(g, tf.float32)) for g in gradients])
        first = tf.logical_and(tf.logical_not(tf.math.is_finite(total)),
                               self._nonfinite_step < 0)
        self._nonfinite_step.assign(tf.where(first, tf.cast(step, tf.int64),
                                             self._nonfinite_step))

    def instrument(self, recorder) -> None:
        """Attach a recorder; activations of its probed layers come from a probe model."""
        self.recorder = recorder
        # activations serve only the histogram-step statistics: no probe without them
        names = {p.name for p in recorder.probed} if recorder.histogram_every else set()
        probed = [layer.output for layer in self.layers if layer.name in names]
        self._probe = keras.Model(self.inputs, [self.outputs[0], *probed]) if probed else None

    def _probe_set_activations(self):
        """The probed layers' outputs on the recorder's probe set, in inference mode (no
        dropout; batch norm with its moving statistics; nothing updated), at the step's
        start: what dead units are counted over. None without a probe set."""
        if self._probe is None or self.recorder.probe_inputs is None:
            return None
        return list(self._probe(self.recorder.probe_inputs, training=False)[1:])

    def _forward(self, x, probe: bool):
        """(prediction, probed activations) from one forward pass in training mode."""
        if self._probe is None or not probe:
            return self(x, training=True), []
        outputs = self._probe(x, training=True)
        return outputs[0], list(outputs[1:])

    def make_train_function(self, force=False):
        """One compiled step per kind of step: with a recorder, steps that log scalars,
        histograms, both or nothing each run their own function, picked in Python by the
        step number (counted here, read from the optimizer once), so the compiled steps
        need no ``tf.cond`` and a step that logs nothing runs no instrumentation at all.
        Each kind is traced the first time it runs, by Keras' own ``_make_function`` (the
        TensorFlow trainer's: ``tf.distribute`` and ``jit_compile`` work as in Keras). With
        ``jit_compile``, steps that write histograms are compiled without XLA, which cannot
        encode or write summaries; the others, most steps, keep it."""
        if self.train_function is not None and not force:
            return self.train_function
        if self.recorder is None:
            super().make_train_function(force)  # sets self.train_function
            function = self.train_function
        else:
            function = self._dispatching_train_function()
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

    def _dispatching_train_function(self):
        """The train function with a recorder: the kind of step picked in Python."""
        if self.steps_per_execution != 1:
            raise ValueError("per-layer instrumentation counts steps one call at a time: "
                             "compile with steps_per_execution=1")
        functions = {}
        count = {"step": None}

        def train_function(iterator):
            if count["step"] is None:  # after on_train_begin: a resumed run's step count
                count["step"] = int(self.optimizer.iterations.numpy())
            kind = self.recorder.due(count["step"])
            count["step"] += 1
            if kind not in functions:
                functions[kind] = self._compile_step(kind)
            return functions[kind](iterator)

        return train_function

    def _compile_step(self, kind: tuple[bool, bool]):
        """Keras' compiled function for the step that records ``kind`` (scalars, histograms)."""
        step = lambda data: self.train_step(data, *kind)  # noqa: E731
        jit = self.jit_compile
        if not (jit and kind[1]):
            return self._make_function(step)
        self.jit_compile = False
        try:
            return self._make_function(step)
        finally:
            self.jit_compile = jit

    def train_step(self, data, scalars: bool = True, histograms: bool = True):
        """One step; with a recorder, ``scalars``/``histograms`` say what it records."""
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        variables = self.trainable_variables
        lookahead = getattr(self.optimizer, "lookahead", False)
        if lookahead:
            if not self.optimizer.built:
                self.optimizer.build(variables)
            self.optimizer.to_lookahead(variables)
        histograms = histograms and self.recorder is not None and self.recorder.histogram_every > 0
        with tf.GradientTape() as tape:
            y_pred, activations = self._forward(x, probe=histograms)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                     training=True)
        gradients = distribute.all_reduce_sum(tape.gradient(loss, variables))
        if lookahead:
            self.optimizer.from_lookahead(variables)
        records = distribute.records_here()
        recorder = self.recorder if records and (scalars or histograms) else None
        weights = probe_activations = None
        if recorder is not None:
            step = tf.identity(self.optimizer.iterations)  # read now: apply increments it
            learning_rate = self.optimizer.learning_rate
            if histograms:  # read before apply changes them: step 0 shows the initialisation
                weights = recorder.weight_statistics(variables)
                probe_activations = self._probe_set_activations()
        measured = recorder is not None and scalars
        updates = update_meter(self.optimizer, variables, gradients) if measured else None
        with updates or contextlib.nullcontext():  # reduce_in_the_step: no second all-reduce
            self.optimizer.apply(gradients, variables)
        if recorder is not None:
            recorder.record(step, gradients, weights, updates, activations, learning_rate,
                            scalars, histograms, probe_activations)
        if records and self.recorder is None:  # not even the step number read otherwise
            self._check_finite(self.optimizer.iterations - 1, gradients)
        batch_size = tf.shape(tf.nest.flatten(x)[0])[0]
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(distribute.unscaled(loss), sample_weight=batch_size)
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)
