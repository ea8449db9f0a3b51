"""The training step nnkit runs, for any Keras model: Keras' own step, plus what it lacks.

It is Keras' TensorFlow ``train_step`` (forward in training mode, ``compute_loss``, the
optimizer's loss scaling, ``apply``, the compiled metrics), with:

* per-layer instrumentation: with a :class:`~nnkit.instrument.Recorder`, the gradients the
  step already has, the weights before and after the update, and the probed layers' outputs
  from the same forward pass (:class:`~nnkit.instrument.capture.ActivationCapture`) are
  handed to it inside the compiled function; under a loss-scale optimizer (mixed precision)
  it gets the unscaled gradients, g = ∇(sL)/s;
* ``tf.distribute``: the replicas' gradients are summed once, here, so the recorder sees the
  gradient of the global batch (see :mod:`nnkit.training.distribute`);
* Nesterov's look-ahead form: with an optimizer whose ``lookahead`` is set (``NAG``), the
  weights are moved to W - βV before the forward pass and back before the update, so the
  gradient is ∇L(W - βV) exactly as the notes define it.

:func:`dispatching_train_function` compiles one step per kind of step (scalars, histograms,
both, nothing), picked in Python by the step number: no ``tf.cond`` in the step, and a step
that logs nothing runs no instrumentation op at all.
"""

from __future__ import annotations

import contextlib

import keras
import tensorflow as tf

from nnkit.dynamics.in_step import step_noise
from nnkit.dynamics.objective import forward as _forward
from nnkit.instrument.updates import update_meter
from nnkit.training import distribute


def loss_scale(optimizer):
    """The loss scale s of a loss-scale optimizer (mixed precision), else None."""
    return getattr(optimizer, "dynamic_scale", None) if hasattr(optimizer, "inner_optimizer") \
        else None


def _divided(gradient, scale):
    if isinstance(gradient, tf.IndexedSlices):
        return tf.IndexedSlices(gradient.values / tf.cast(scale, gradient.dtype),
                                gradient.indices, gradient.dense_shape)
    return gradient / tf.cast(scale, gradient.dtype)


def train_step(model, data, recorder=None, capture=None, scalars: bool = True,
               histograms: bool = True, check_finite=None, per_example: bool = False):
    """One step of ``model`` on ``data``; with a ``recorder``, ``scalars``/``histograms``
    say what it records (decided when traced); ``capture`` keeps the probed layers'
    outputs. ``check_finite(step, gradients)`` is called where nothing records.
    ``per_example``: the model's :class:`~nnkit.dynamics.in_step.StepNoise` records the
    batch's per-example gradient statistics from this step's backward pass."""
    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    optimizer, variables = model.optimizer, model.trainable_variables
    lookahead = getattr(optimizer, "lookahead", False)
    if lookahead:
        if not optimizer.built:
            optimizer.build(variables)
        optimizer.to_lookahead(variables)
    histograms = histograms and recorder is not None and recorder.histogram_every > 0
    collecting = capture.collecting() if capture is not None and histograms else \
        contextlib.nullcontext([])
    noise = step_noise(model) if per_example else None
    taps = noise.taps.active() if noise is not None else contextlib.nullcontext()
    through_time = recorder.through_time if recorder is not None and scalars else None
    with tf.GradientTape() as tape:
        hidden = through_time.taps.active(tape.watch) if through_time is not None else \
            contextlib.nullcontext()
        attention = recorder.attention.active() if histograms and \
            recorder.attention is not None else contextlib.nullcontext()
        with collecting as activations, taps, hidden, attention:
            y_pred = _forward(model, x, training=True)
        loss = model._compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                   training=True)
        scaled = optimizer.scale_loss(loss)
    tapped, pre_activations = noise.pre_activations() if noise is not None else ([], [])
    hidden_states = through_time.taps.called() if through_time is not None else []
    gradients = tape.gradient(scaled, [*variables, *pre_activations, *hidden_states])  # once
    split = (len(variables), len(variables) + len(tapped))
    gradients, pre_activation_gradients, time_gradients = (
        gradients[:split[0]], gradients[split[0]:split[1]], gradients[split[1]:])
    time_squares = None
    if through_time is not None:  # ‖∂L/∂hₜ‖², summed over replicas (all of them run this)
        time_squares = through_time.squares(time_gradients, loss_scale(optimizer))
    batch_size = tf.shape(tf.nest.flatten(x)[0])[0]
    if noise is not None:
        noise.record(tapped, pre_activation_gradients, gradients, batch_size, loss,
                     loss_scale(optimizer))
    gradients = distribute.all_reduce_sum(gradients)
    if lookahead:
        optimizer.from_lookahead(variables)
    records = distribute.records_here()
    recorder = recorder if records and (scalars or histograms) else None
    weights = probe_activations = None
    if recorder is not None:
        step = tf.identity(optimizer.iterations)  # read now: apply increments it
        learning_rate = optimizer.learning_rate
        logged = gradients
        scale = loss_scale(optimizer)
        if scale is not None:  # read before apply changes it
            logged = [_divided(g, scale) for g in gradients]
        if histograms:  # read before apply changes them: step 0 shows the initialisation
            weights = recorder.weight_statistics(variables)
            probe_activations = _probe_set_activations(model, recorder, capture)
    measured = recorder is not None and scalars
    updates = update_meter(optimizer, variables, gradients) if measured else None
    with updates or contextlib.nullcontext():  # reduce_in_the_step: no second all-reduce
        optimizer.apply(gradients, variables)
    if recorder is not None:
        recorder.record(step, logged, weights, updates, activations, learning_rate,
                        scalars, histograms, probe_activations, time_squares)
    if records and recorder is None and check_finite is not None:
        check_finite(optimizer.iterations - 1, gradients)
    for metric in model.metrics:
        if metric.name == "loss":
            metric.update_state(distribute.unscaled(loss), sample_weight=batch_size)
    return model.compute_metrics(x, y, y_pred, sample_weight=sample_weight)


def _probe_set_activations(model, recorder, capture):
    """The probed layers' outputs on the recorder's probe set, in inference mode (no
    dropout; batch norm with its moving statistics; nothing updated), at the step's start:
    what dead units are counted over. None without a probe set."""
    if capture is None or recorder.probe_inputs is None:
        return None
    with capture.collecting() as outputs:
        _forward(model, recorder.probe_inputs, training=False)
    return outputs


def dispatching_train_function(model, recorder, step_function):
    """The train function with a recorder: the kind of step picked in Python by the step
    number (counted here, read from the optimizer once, after ``on_train_begin``: a
    resumed run's count). ``step_function(data, scalars, histograms)`` is traced once per
    kind, by Keras' own ``_make_function`` (the TensorFlow trainer's: ``tf.distribute`` and
    ``jit_compile`` work as in Keras). With ``jit_compile``, steps that write histograms are
    compiled without XLA, which cannot encode or write summaries; the others, most steps,
    keep it."""
    if model.steps_per_execution != 1:
        raise ValueError("per-layer instrumentation counts steps one call at a time: "
                         "compile with steps_per_execution=1")
    functions = {}
    count = {"step": None}

    def compile_step(kind: tuple[bool, bool, bool]):
        def step(data):
            return step_function(data, *kind)

        jit = model.jit_compile
        if not (jit and kind[1]):
            return model._make_function(step)
        model.jit_compile = False
        try:
            return model._make_function(step)
        finally:
            model.jit_compile = jit

    def train_function(iterator):
        if count["step"] is None:
            count["step"] = int(model.optimizer.iterations.numpy())
        noise = step_noise(model)  # (set by logging.dynamics' callback at the start of fit)
        kind = (*recorder.due(count["step"]), noise is not None and noise.due(count["step"]))
        count["step"] += 1
        if kind not in functions:
            functions[kind] = compile_step(kind)
        return functions[kind](iterator)

    return train_function
