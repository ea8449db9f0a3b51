"""Per-layer gradient instrumentation: recorder (in the compiled step), callback, diagnosis.

``attach(model, logging_config, run_dir)`` plans the layers of a TrainingModel, attaches a
:class:`Recorder` and returns the :class:`InstrumentationCallback` to pass to ``fit``.
"""

from __future__ import annotations

from nnkit.instrument.callback import InstrumentationCallback
from nnkit.instrument.diagnosis import Finding, Thresholds, diagnose
from nnkit.instrument.plan import LayerPlan, plan_layers
from nnkit.instrument.recorder import Recorder


def attach(model, logging, run_dir) -> InstrumentationCallback:
    """Instrument ``model`` (a TrainingModel) as the ``logging`` config section says."""
    recorder = Recorder(plan_layers(model), logging.every_n_steps,
                        logging.histogram_every_n_steps)
    model.instrument(recorder)
    thresholds = Thresholds(logging.vanishing_threshold, logging.exploding_threshold,
                            logging.exploding_norm, logging.dead_threshold)
    return InstrumentationCallback(recorder, run_dir, thresholds, logging.image_every_seconds)


__all__ = ["Finding", "InstrumentationCallback", "LayerPlan", "Recorder", "Thresholds",
           "attach", "diagnose", "plan_layers"]
