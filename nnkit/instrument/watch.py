"""``nnkit.watch(model, log_dir)``: nnkit's instrumentation and diagnosis for any Keras model.

::

    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=5, callbacks=[nnkit.watch(model, "logs/mine")])

The model (Sequential, functional or subclassed, with nested models, layers inside layers
and shared layers) is instrumented in place: its instance gets nnkit's training step
(:mod:`nnkit.training.step`: Keras' own step, plus the recorder, inside the same compiled
function, with no second backward pass), and its probed layers' ``call`` a capturing wrapper
(:mod:`nnkit.instrument.capture`). Its class, ``compile`` arguments and optimizer stay as
they are; :func:`unwatch` takes the instrumentation off again. The layers are planned when
``fit`` first builds the train function (the model is built by then), so ``watch`` may be
called before ``compile`` or before the model has seen data.

``log_dir`` receives what ``nnkit run`` writes there: ``train/`` events (per-layer tags,
:mod:`nnkit.instrument.plan`), ``layers.json``, ``gradient_flow.png``, and at the end of
each ``fit`` a ``metrics.json`` with the diagnosis, so ``nnkit report log_dir`` and
TensorBoard work on it as on a run folder.
"""

from __future__ import annotations

from pathlib import Path

import keras
from pydantic import ValidationError

from nnkit.config.schema import Logging
from nnkit.findings import KINDS, summary_text
from nnkit.instrument import recorder_and_diagnosis
from nnkit.instrument.callback import InstrumentationCallback
from nnkit.training import distribute, step as training_step
from nnkit.training.run_dir import write_json

_ATTRIBUTE = "_nnkit_watch"  # on the model instance: its WatchCallback


class WatchCallback(InstrumentationCallback):
    """What :func:`watch` returns: pass it to ``fit``. After training, ``findings`` and
    ``summary()`` hold the diagnosis."""

    def __init__(self, model, logging: Logging, log_dir, probe_inputs=None,
                 baseline_loss: float | None = None, stop_on=(), on_findings=None,
                 verbose: bool = True):
        super().__init__(None, log_dir, None, logging.image_every_seconds, stop_on, on_findings)
        self.watched, self.logging, self.verbose = model, logging, verbose
        self._probe_inputs, self._baseline = probe_inputs, baseline_loss
        self._capture = None
        self.probe_data = None  # (x, y) for logging.dynamics
        self.dynamics = None  # its DynamicsCallback, made with the log folder

    # --- installed on the model -------------------------------------------------------------

    def make_train_function(self, force: bool = False):
        """The model's ``make_train_function`` while watched: nnkit's dispatching step,
        made on the first call (the model is built by then)."""
        model = self.watched
        if model.train_function is not None and not force:
            return model.train_function
        self._dispatch = None

        def train_function(iterator):
            if self._dispatch is None:
                self._ready(iterator)
            return self._dispatch(iterator)

        model.train_function = train_function
        return train_function

    _dispatch = None

    def _ready(self, iterator) -> None:
        """Build the model (as Keras would in its first traced step) from the data's spec,
        plan it, open the outputs, and make the dispatching train function."""
        model = self.watched
        if not _built(model):
            model._symbolic_build(data_batch=iterator.element_spec)
        self._plan()
        self.open()
        self._dispatch = training_step.dispatching_train_function(
            model, self.recorder, self._step)

    def _step(self, data, scalars: bool, histograms: bool, per_example: bool = False):
        return training_step.train_step(self.watched, data, self.recorder, self._capture,
                                        scalars, histograms, per_example=per_example)

    def _plan(self) -> None:
        """Plan the (built) model's layers, once."""
        if self.recorder is not None:
            return
        model = self.watched
        recorder, diagnosis = recorder_and_diagnosis(model, self.logging, self._probe_inputs,
                                                     self._baseline)
        recorder.skips_overflow = training_step.loss_scale(model.optimizer) is not None
        self._capture = recorder.activation_capture()
        strategy = model.distribute_strategy
        if strategy is not None and strategy.num_replicas_in_sync > 1:
            distribute.reduce_in_the_step(model.optimizer)  # the step sums the gradients
        self.bind(recorder, diagnosis)

    # --- callback ---------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        if _built(self.watched):  # else on the first step (_ready)
            self._plan()
            self.open()
        settings = self.logging.dynamics
        if settings and settings.schedule() and (self.dynamics is None
                                                 or self.dynamics.log_dir != self.log_dir):
            from nnkit.dynamics.callback import DynamicsCallback

            self.dynamics = DynamicsCallback(self.log_dir, *self.probe_data, settings,
                                             diagnosis=lambda: self.diagnosis)
        if self.dynamics is not None:
            self.dynamics.set_model(self.watched)
            self.dynamics.on_train_begin(logs)

    def on_train_batch_begin(self, batch, logs=None):
        if self.dynamics is not None:
            self.dynamics.on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        if self.dynamics is not None:
            self.dynamics.on_train_batch_end(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if self.dynamics is not None:
            self.dynamics.on_epoch_end(epoch, logs)

    def on_train_end(self, logs=None):
        if self.recorder is None:  # fit ran no step
            return
        if self.dynamics is not None:
            self.dynamics.on_train_end(logs)
        super().on_train_end(logs)
        findings = [f.to_dict() for f in self.findings]
        status = {"status": "stopped", "stopped_by": self.stopped_by} if self.stopped_by \
            else {"status": "completed"}
        write_json(self.log_dir / "metrics.json", {  # (strict JSON: a NaN peak is null)
            **status, "diagnosis": findings, "diagnosis_checked": dict(self.diagnosis.coverage)})
        if self.verbose:
            print(f"nnkit: {summary_text(findings, self.diagnosis.coverage)}")

    def set_model(self, model):
        """Keras hands the callback the model ``fit`` trains before it makes the train
        function: a callback made without a model (``nnkit.watch("logs/x")``, for models
        built elsewhere, e.g. by Keras Tuner) instruments that model now, logging it to a
        fresh subfolder ``fit-001``, ``fit-002``, ... of its folder."""
        super().set_model(model)
        if self.watched is None:
            _check_model(model)
            self.log_dir = _next_folder(self.log_dir)
            _install(model, self)

    def summary(self) -> str:
        """The diagnosis in words (what ``nnkit run`` prints)."""
        return summary_text([f.to_dict() for f in self.findings], self.diagnosis.coverage)

    def remove(self) -> None:
        """Take the instrumentation off the model (:func:`unwatch`)."""
        model = self.watched
        if self._capture is not None:
            self._capture.remove()
        model.__dict__.pop("make_train_function", None)
        model.__dict__.pop(_ATTRIBUTE, None)
        model.train_function = None
        if self.recorder is not None and self.recorder.writer is not None:
            self.recorder.flush()
            self.recorder.writer.flush()


def _built(model) -> bool:
    """Whether the model's layers and its optimizer have their variables."""
    optimizer = getattr(model, "optimizer", None)
    return (all(layer.built for layer in model._flatten_layers())
            and optimizer is not None and optimizer.built)


def _logging(options: dict) -> Logging:
    try:
        return Logging(**options)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(map(str, first["loc"])) or "options"
        allowed = ", ".join(Logging.model_fields)
        hint = f" (options: {allowed})" if first["type"] == "extra_forbidden" else ""
        raise ValueError(f"nnkit.watch: {where}: {first['msg']}{hint}") from None


def watch(model, log_dir: str | Path | None = None, *, probe_inputs=None, probe_data=None,
          baseline_loss: float | None = None, stop_on=(), on_findings=None,
          verbose: bool = True, **logging_options) -> WatchCallback:
    """Instrument ``model`` in place; return the callback to pass to its ``fit``.

    ``nnkit.watch(log_dir)`` (no model) returns a callback that instruments whatever model
    it is passed to ``fit`` with, each in its own subfolder (``fit-001``, ...): for models
    built out of reach, such as Keras Tuner's trials
    (``tuner.search(x, y, callbacks=[nnkit.watch("logs/search")])``).

    Args:
        model: any Keras 3 model on the TensorFlow backend that uses Keras' own
            ``train_step`` (a model overriding it is refused: its step is not known).
        log_dir: where the events and files go (created).
        probe_inputs: fixed samples dead units are counted over (None: each histogram
            step's batch).
        probe_data: ``(x, y)``, a fixed batch of training samples the dynamics
            instruments measure on (needed with ``dynamics=``; its ``x`` is also the
            probe set of dead units when ``probe_inputs`` is not given).
        baseline_loss: the loss of the best constant prediction, for ``stalled_training``
            (None: the first epoch's loss).
        stop_on: finding kinds (:data:`nnkit.findings.KINDS`) that stop ``fit``.
        on_findings: called with the findings (dicts) whenever they change.
        verbose: print the diagnosis at the end of each ``fit``.
        **logging_options: any key of the config's ``logging`` section: ``every_n_steps``,
            ``histogram_every_n_steps``, the thresholds, ... (``nnkit config-reference``).
    """
    if log_dir is None and isinstance(model, (str, Path)):
        model, log_dir = None, model
    if log_dir is None:
        raise TypeError("nnkit.watch: give the folder to log to: nnkit.watch(model, log_dir)")
    if model is not None:
        _check_model(model)
    unknown = [kind for kind in stop_on if kind not in KINDS]
    if unknown:
        raise ValueError(f"nnkit.watch: stop_on: unknown finding '{unknown[0]}'; "
                         f"use one of {', '.join(KINDS)}")
    logging = _logging(logging_options)
    if logging.dynamics is not None and logging.dynamics.schedule():
        if not (isinstance(probe_data, (tuple, list)) and len(probe_data) == 2):
            raise ValueError("nnkit.watch: dynamics needs probe_data=(x, y): a fixed batch of "
                             "training samples (e.g. 256) the instruments measure on")
        if probe_inputs is None:
            probe_inputs = probe_data[0]
    callback = WatchCallback(model, logging, log_dir, probe_inputs, baseline_loss, stop_on,
                             on_findings, verbose)
    callback.probe_data = probe_data
    if model is not None:
        _install(model, callback)
    return callback


def _check_model(model) -> None:
    if not isinstance(model, keras.Model):
        raise TypeError(f"nnkit.watch: expected a keras.Model, got {type(model).__name__}")
    if keras.backend.backend() != "tensorflow":
        raise ValueError(f"nnkit.watch: needs Keras' TensorFlow backend, not "
                         f"'{keras.backend.backend()}' (set KERAS_BACKEND=tensorflow)")
    if getattr(type(model).train_step, "__qualname__", "") not in (
            "TensorFlowTrainer.train_step", "TrainingModel.train_step"):
        raise ValueError(f"nnkit.watch: {type(model).__name__} overrides train_step; nnkit "
                         "instruments Keras' own step (move the custom logic into "
                         "compute_loss, or call nnkit's step from yours)")


def _install(model, callback: WatchCallback) -> None:
    previous = model.__dict__.get(_ATTRIBUTE)
    if previous is not None:
        previous.remove()
    callback.watched = model
    model.__dict__[_ATTRIBUTE] = callback
    model.__dict__["make_train_function"] = callback.make_train_function
    model.train_function = None


def _next_folder(folder: Path) -> Path:
    taken = {p.name for p in folder.glob("fit-*")} if folder.is_dir() else set()
    number = 1
    while f"fit-{number:03d}" in taken:
        number += 1
    path = folder / f"fit-{number:03d}"
    path.mkdir(parents=True)
    return path


def unwatch(model: keras.Model) -> None:
    """Undo :func:`watch`: the model trains with Keras' own step again."""
    callback = model.__dict__.get(_ATTRIBUTE)
    if callback is not None:
        callback.remove()


__all__ = ["WatchCallback", "unwatch", "watch"]
