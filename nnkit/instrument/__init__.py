"""Per-layer gradient instrumentation: recorder (in the compiled step), callback, diagnosis.

``attach(model, logging_config, run_dir)`` plans the layers of a TrainingModel, attaches a
:class:`Recorder` and returns the :class:`InstrumentationCallback` to pass to ``fit``;
:func:`nnkit.watch` (:mod:`nnkit.instrument.watch`) does the same for any Keras model.
"""

from __future__ import annotations

from nnkit.instrument.callback import InstrumentationCallback
from nnkit.instrument.detectors import Thresholds
from nnkit.instrument.diagnosis import Diagnosis
from nnkit.findings import KINDS, Finding
from nnkit.instrument.plan import LayerPlan, plan_layers
from nnkit.instrument.recorder import Recorder


def thresholds(logging) -> Thresholds:
    """The diagnosis' thresholds from the ``logging`` config section."""
    return Thresholds(
        vanishing=logging.vanishing_threshold, exploding=logging.exploding_threshold,
        exploding_norm=logging.exploding_norm, dead=logging.dead_threshold,
        signal_collapse=logging.signal_collapse_threshold,
        signal_explosion=logging.signal_explosion_threshold,
        saturation=logging.saturation_threshold, stall_tolerance=logging.stall_tolerance,
        stall_epochs=logging.stall_epochs)


def attach(model, logging, run_dir, probe_inputs=None, baseline_loss: float | None = None,
           stop_on=(), on_findings=None) -> InstrumentationCallback:
    """Instrument ``model`` (a TrainingModel) as the ``logging`` config section says.

    ``probe_inputs``: the fixed samples dead units are counted over (None: each histogram
    step's batch); ``baseline_loss``: the loss of the best constant prediction, for stalled
    training (None: the first epoch's); ``stop_on``: finding kinds that stop training;
    ``on_findings``: called with the findings whenever they change.
    """
    recorder, diagnosis = recorder_and_diagnosis(model, logging, probe_inputs, baseline_loss)
    model.instrument(recorder)
    return InstrumentationCallback(recorder, run_dir, diagnosis, logging.image_every_seconds,
                                   stop_on, on_findings)


def recorder_and_diagnosis(model, logging, probe_inputs=None,
                           baseline_loss: float | None = None) -> tuple[Recorder, Diagnosis]:
    """The :class:`Recorder` of a built Keras model's planned layers and the
    :class:`Diagnosis` its rows feed, as the ``logging`` config section says."""
    recorder = Recorder(plan_layers(model), logging.every_n_steps,
                        logging.histogram_every_n_steps, probe_inputs, logging.per_variable,
                        logging.weights_every_n_logged)
    widths = {p.key: int(model.trainable_variables[p.kernel].shape[-1])
              for p in recorder.with_kernel}
    diagnosis = Diagnosis(thresholds(logging), [p.key for p in recorder.with_kernel],
                          [p.key for p in recorder.probed], widths, logging.every_n_steps,
                          baseline_loss, recorder.probe_samples)
    return recorder, diagnosis


__all__ = ["KINDS", "Diagnosis", "Finding", "InstrumentationCallback", "LayerPlan", "Recorder",
           "Thresholds", "attach", "plan_layers", "recorder_and_diagnosis", "thresholds"]
