"""``nnkit run``: train one experiment and write its run folder.

The folder holds ``config.yaml`` (resolved, written first), TensorBoard event files (with
per-layer gradient statistics, see :mod:`nnkit.instrument.plan`), ``gradient_flow.png``,
``model.keras`` and ``metrics.json`` (written last, atomically, also when training fails).
A non-finite loss or gradient stops training: metrics.json records where, no model is saved
(its weights are no longer finite), and :class:`NonFiniteError` is raised.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from nnkit import instrument
from nnkit.config import ExperimentConfig, dump
from nnkit.training.build import Experiment, build_experiment, compile_model
from nnkit.training.model import TrainingModel
from nnkit.training.nan_guard import NonFiniteError, NonFiniteGuard
from nnkit.training.run_dir import create_run_dir, write_atomic, write_json


@dataclass
class RunResult:
    run_dir: Path
    metrics: dict
    model: keras.Model


def training_callbacks(config: ExperimentConfig, model: TrainingModel, run_dir: Path):
    """The callbacks of every nnkit training (run, sweep and tune trials alike).

    Returns (callbacks, instrumentation callback or None, non-finite guard): Keras'
    TensorBoard (loss, metrics, learning rate per epoch), the per-layer instrumentation when
    ``logging.instrument``, early stopping when configured, and the NaN/Inf guard.
    """
    instrumentation = None
    callbacks = [
        keras.callbacks.TensorBoard(log_dir=str(run_dir), write_graph=False, update_freq="epoch"),
    ]
    if config.logging.instrument:
        instrumentation = instrument.attach(model, config.logging, run_dir)
        callbacks.insert(0, instrumentation)
    stopping = config.training.early_stopping
    if stopping is not None:
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor=stopping.monitor, min_delta=stopping.min_delta, patience=stopping.patience,
            mode=stopping.mode, restore_best_weights=stopping.restore_best))
    guard = NonFiniteGuard()
    callbacks.append(guard)
    return callbacks, instrumentation, guard


def _evaluate(experiment: Experiment, model: keras.Model) -> dict:
    names = {"train": "train", "val": "validation", "test": "test"}
    results = {}
    for split, x, y in experiment.dataset.splits():
        values = model.evaluate(x, experiment.labels(y), batch_size=256, verbose=0,
                                return_dict=True)
        results[names[split]] = {k: float(v) for k, v in values.items()}
    return results


def _to_float_lists(history: dict) -> dict:
    return {k: [float(v) for v in values] for k, values in history.items()}


def train(experiment: Experiment, run_dir: Path, verbose: int | str = "auto") -> RunResult:
    """Fit the experiment's network and write the run folder's files."""
    config, dataset = experiment.config, experiment.dataset
    write_atomic(run_dir / "config.yaml", dump(config))
    network = experiment.network
    model = TrainingModel(network.inputs, network.outputs, name=network.name)
    compile_model(experiment, model)
    callbacks, instrumentation, guard = training_callbacks(config, model, run_dir)
    validation = None
    if len(dataset.x_val):
        validation = (dataset.x_val, experiment.labels(dataset.y_val))
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    outcome = {"status": "failed", "error": "interrupted"}
    start = time.perf_counter()
    try:
        history = model.fit(
            dataset.x_train, experiment.labels(dataset.y_train), validation_data=validation,
            batch_size=experiment.batch_size, epochs=config.training.epochs,
            shuffle=config.training.shuffle, callbacks=callbacks,
            verbose=verbose)
        wall_time = time.perf_counter() - start
        losses = history.history.get("loss", [])
        findings = instrumentation.findings if instrumentation else []
        outcome = {"status": "completed"}
        if guard.failure:
            outcome = {"status": "failed", "error": guard.failure}
        else:
            network.save(run_dir / "model.keras")
        metrics = {
            **outcome,
            "task": dataset.task,
            "epochs_run": len(losses),
            "steps_per_epoch": int(np.ceil(len(dataset.x_train) / experiment.batch_size)),
            "wall_time_s": round(wall_time, 3),
            "parameters": int(network.count_params()),
            **_evaluate(experiment, model),
            "diagnosis": [f.to_dict() for f in findings] if instrumentation else None,
            "history": _to_float_lists(history.history),
        }
    except BaseException as error:
        metrics = {**outcome, "error": f"{type(error).__name__}: {error}" if str(error)
                   else type(error).__name__, "wall_time_s": round(time.perf_counter() - start, 3)}
        write_json(run_dir / "metrics.json", metrics)
        raise
    write_json(run_dir / "metrics.json", metrics)
    if guard.failure:
        raise NonFiniteError(f"training stopped: {guard.failure}; run folder: {run_dir}")
    return RunResult(run_dir, metrics, network)


def run(config: ExperimentConfig, log_dir: str | None = None,
        verbose: int | str = "auto") -> RunResult:
    """Build, create a new run folder, train. Bad input fails before the folder exists."""
    experiment = build_experiment(config)
    run_dir = create_run_dir(log_dir or config.experiment.log_dir, config.experiment.name)
    return train(experiment, run_dir, verbose)
