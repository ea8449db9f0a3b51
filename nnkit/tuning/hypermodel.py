"""A Keras Tuner HyperModel that builds through nnkit's own config, builders and step."""

from __future__ import annotations

import os
from pathlib import Path

import keras
import keras_tuner as kt

from nnkit.config import load_config
from nnkit.config.search import Parameter
from nnkit.training import distribute
from nnkit.training.build import build_experiment, compile_model
from nnkit.training.model import TrainingModel
from nnkit.training.run import INTERRUPTED, error_text, training_callbacks
from nnkit.training.run_dir import write_json
from nnkit.tuning.space import declare, overrides


class NnkitHyperModel(kt.HyperModel):
    """Each trial = the base config + the trial's values as ``-o`` overrides.

    ``build`` validates that config and builds the network exactly as ``nnkit run`` does;
    ``fit`` trains it with the instrumented step, logging to the trial's own folder (Keras
    Tuner redirects only callbacks whose class is named ``TensorBoard``, so nnkit sets each
    trial's folder itself, from ``current_trial`` set by the tuner).
    """

    def __init__(self, config_path, base_overrides: list[str], space: dict[str, Parameter],
                 logs_dir: Path):
        super().__init__()
        self.config_path, self.base_overrides = config_path, list(base_overrides)
        self.space, self.logs_dir = space, Path(logs_dir)
        self.current_trial = None
        self.execution = 0
        self._experiment = None

    def config_for(self, hp: kt.HyperParameters):
        values = declare(hp, self.space)
        return load_config(self.config_path, [*self.base_overrides, *overrides(values),
                                              "search=null", "sweep=null"])

    def build(self, hp):
        keras.backend.clear_session()
        config = self.config_for(hp)
        self._experiment = build_experiment(config)
        network = self._experiment.network
        with distribute.scope(self._experiment.strategy):
            model = TrainingModel(network.inputs, network.outputs, name=network.name)
        compile_model(self._experiment, model)
        return model

    def fit(self, hp, model, *args, **kwargs):
        experiment = self._experiment
        trial_id = self.current_trial.trial_id if self.current_trial else "trial"
        run_dir = self.logs_dir / f"trial_{trial_id}" / f"execution_{self.execution}"
        self.execution += 1
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir.parent / "tuner_id.txt").write_text(os.environ.get("KERASTUNER_TUNER_ID",
                                                                    "local"))
        parts = training_callbacks(experiment, model, run_dir, checkpoints=False)
        callbacks = [*kwargs.pop("callbacks", []), *parts.callbacks]
        outcome, history = INTERRUPTED, None
        try:
            history = model.fit(**experiment.fit_arguments(kwargs.get("initial_epoch", 0),
                                                           kwargs.get("epochs")),
                                callbacks=callbacks, verbose=kwargs.get("verbose", 0))
            outcome = parts.outcome()
            return history
        except Exception as error:
            outcome = {"status": "failed", "error": error_text(error)}
            raise
        finally:  # as nnkit run's metrics.json: how it ended, history, diagnosis (for report)
            epochs = history.history if history is not None else {}
            write_json(run_dir / "metrics.json", {
                **outcome, "epochs_run": len(epochs.get("loss", [])),
                **parts.diagnosis(),
                "history": {k: [float(v) for v in values] for k, values in epochs.items()}})
