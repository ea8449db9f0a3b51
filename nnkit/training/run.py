"""``nnkit run``: train one experiment and write its run folder.

The folder holds ``config.yaml`` (resolved, written first), TensorBoard event files (with
per-layer gradient statistics, see :mod:`nnkit.instrument.plan`), ``gradient_flow.png``,
``checkpoints/`` (see :mod:`nnkit.training.checkpoint`), ``model.keras`` and
``metrics.json`` (written last, atomically, also when training fails). A non-finite loss or
gradient stops training: metrics.json records where, no model is saved (its weights are no
longer finite), the last finite checkpoint stays, and :class:`NonFiniteError` is raised.
``resume(run_dir)`` continues a killed run from its newest checkpoint.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import tensorflow as tf

from nnkit import instrument
from nnkit.config import ExperimentConfig, as_config, dump, load_config
from nnkit.training import distribute, interrupt
from nnkit.training.build import Experiment, build_experiment, compile_model
from nnkit.training.checkpoint import Checkpoint, Checkpointer, checkpoints, load_latest
from nnkit.training.early_stopping import EarlyStopping
from nnkit.training.event_log import truncate_events
from nnkit.training.model import TrainingModel
from nnkit.training.nan_guard import NonFiniteError, NonFiniteGuard, non_finite_values
from nnkit.training.run_dir import (RunDirError, create_run_dir, read_metrics, write_atomic,
                                    write_json)


@dataclass
class RunResult:
    run_dir: Path
    metrics: dict
    model: keras.Model
    kept: bool = True  # False on a multi_worker worker: its folder was temporary

    @property
    def history(self) -> dict:
        """Per-epoch values, as Keras' ``History.history``."""
        return self.metrics.get("history", {})

    @property
    def findings(self) -> list[dict]:
        """The diagnosis' findings (empty when nothing was found or not instrumented)."""
        return self.metrics.get("diagnosis") or []


@dataclass
class TrainingCallbacks:
    """What :func:`training_callbacks` returns: the list for ``fit`` and the named parts."""

    callbacks: list
    instrumentation: instrument.InstrumentationCallback | None
    guard: NonFiniteGuard
    checkpointer: Checkpointer | None

    def outcome(self) -> dict:
        """How a ``fit`` that returned ended: completed, failed where the guard stopped it,
        or stopped by a finding of a ``training.stop_on`` kind."""
        if self.guard.failure:
            return {"status": "failed", "error": self.guard.failure}
        stopped_by = self.instrumentation.stopped_by if self.instrumentation else None
        if stopped_by is not None:
            return {"status": "stopped", "stopped_by": stopped_by}
        return {"status": "completed"}

    def diagnosis(self) -> dict:
        """``diagnosis`` (the findings; None when ``logging.instrument`` is off) and
        ``diagnosis_checked`` (how much of the run the diagnosis saw), for metrics.json."""
        if self.instrumentation is None:
            return {"diagnosis": None}
        return {"diagnosis": [f.to_dict() for f in self.instrumentation.findings],
                "diagnosis_checked": dict(self.instrumentation.diagnosis.coverage)}


INTERRUPTED = {"status": "interrupted", "error": "interrupted"}  # until fit returns or raises


def error_text(error: BaseException) -> str:
    """``Type: message`` (or ``Type`` alone) of the error that stopped a training."""
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def training_callbacks(experiment: Experiment, model: TrainingModel, run_dir: Path,
                       resume_from: Checkpoint | None = None, checkpoints: bool = True,
                       on_findings=None) -> TrainingCallbacks:
    """The callbacks of every nnkit training (run, sweep and tune trials alike).

    Keras' TensorBoard (loss, metrics, learning rate per epoch), the per-layer
    instrumentation and online diagnosis when ``logging.instrument`` (``on_findings`` is
    called with the findings whenever they change), early stopping when configured, the
    NaN/Inf guard, and last (it saves the others' state) the checkpointer, which restores
    ``resume_from`` when training begins.
    """
    config = experiment.config
    instrumentation = None
    callbacks = [
        keras.callbacks.TensorBoard(log_dir=str(run_dir), write_graph=False, update_freq="epoch"),
    ]
    if config.logging.instrument:
        instrumentation = instrument.attach(
            model, config.logging, run_dir, experiment.probe_inputs(config.logging.probe_samples),
            experiment.constant_prediction_loss(), config.training.stop_on, on_findings)
        callbacks.insert(0, instrumentation)
    dynamics = config.logging.dynamics
    if dynamics is not None and dynamics.schedule():
        from nnkit.dynamics.callback import DynamicsCallback

        x, y = experiment.probe_batch(dynamics.probe_samples)
        callbacks.insert(1 if instrumentation else 0, DynamicsCallback(
            run_dir, x, y, dynamics,
            diagnosis=lambda: instrumentation.diagnosis if instrumentation else None))
    stopping = config.training.early_stopping
    if stopping is not None:
        callbacks.append(EarlyStopping(
            monitor=stopping.monitor, min_delta=stopping.min_delta, patience=stopping.patience,
            mode=stopping.mode, restore_best_weights=stopping.restore_best))
    if instrumentation is None:  # else the recorder checks the gradients
        model.watch_nonfinite()
    guard = NonFiniteGuard()
    callbacks.append(guard)
    if instrumentation is not None:
        instrumentation.guard = guard
    checkpointer = None
    if checkpoints:
        saving = config.training.checkpoint
        checkpointer = Checkpointer(run_dir, saving.every_n_epochs, saving.keep, callbacks,
                                    guard, resume_from, saving.every_seconds,
                                    saving.every_n_steps)
        callbacks.append(checkpointer)
    return TrainingCallbacks(callbacks, instrumentation, guard, checkpointer)


def _evaluate(experiment: Experiment, model: keras.Model) -> dict:
    names = {"train": "train", "val": "validation", "test": "test"}
    results = {}
    for split, x, y in experiment.dataset.splits():
        values = model.evaluate(x, experiment.labels(y), batch_size=256, verbose=0,
                                return_dict=True)
        results[names[split]] = {k: float(v) for k, v in values.items()}
    return results


def _first_epoch(config: ExperimentConfig, resume_from: Checkpoint | None) -> int:
    """Where training starts: 0, after the checkpoint's epochs, or at the end if the
    checkpointed run had already stopped early."""
    if resume_from is None:
        return 0
    if resume_from.meta["stopped"]:
        return config.training.epochs
    return min(resume_from.epochs_done, config.training.epochs)


def train(experiment: Experiment, run_dir: Path, verbose: int | str = "auto",
          resume_from: Checkpoint | None = None) -> RunResult:
    """Fit the experiment's network and write the run folder's files; with ``resume_from``,
    continue from that checkpoint of the same run folder.

    SIGTERM or SIGINT during training stops it after the step in flight, with a checkpoint
    and status ``interrupted`` (:mod:`nnkit.training.interrupt`), and raises ``Interrupted``.
    """
    config, dataset = experiment.config, experiment.dataset
    write_atomic(run_dir / "config.yaml", dump(config))
    network = experiment.network
    with distribute.scope(experiment.strategy):
        model = TrainingModel(network.inputs, network.outputs, name=network.name)
    compile_model(experiment, model)
    if resume_from is not None and resume_from.steps_in_epoch:
        model.build_metrics(dataset.x_train[:2], experiment.labels(dataset.y_train[:2]))
    parts = training_callbacks(experiment, model, run_dir, resume_from,
                               on_findings=lambda findings: _write_running(run_dir, findings))
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    outcome = INTERRUPTED
    resumed = {}
    if resume_from is not None:
        resumed = {"resumed_from_epoch": resume_from.epochs_done,
                   "resumed_from_step": int(resume_from.meta["step"])}
    skip = resume_from.steps_in_epoch if resume_from is not None else 0
    preflight = _preflight(experiment) if resume_from is None else {}
    start = time.perf_counter()
    checkpointer = parts.checkpointer
    with interrupt.deferred_signals():  # a signal after fit: the run still completes
        try:
            model.fit(**experiment.fit_arguments(_first_epoch(config, resume_from), skip=skip),
                      callbacks=parts.callbacks, verbose=verbose)
            if checkpointer.interrupted is not None:
                return _interrupted(run_dir, parts, resumed)
            history = checkpointer.history
            outcome = parts.outcome()
            if not parts.guard.failure:
                _save_model(network, run_dir)
            metrics = {
                **outcome,
                **resumed,
                **preflight,
                "task": dataset.task,
                "epochs_run": len(history.get("loss", [])),
                "steps_per_epoch": experiment.steps_per_epoch,
                "wall_time_s": round(checkpointer.wall_time_s, 3),
                "epoch_seconds": checkpointer.epoch_seconds,
                "parameters": int(network.count_params()),
                "replicas": experiment.strategy.num_replicas_in_sync if experiment.strategy else 1,
                **_evaluate(experiment, model),
                **parts.diagnosis(),
                "history": history,
            }
            if not parts.guard.failure:  # the final evaluation, as the guard checks training
                _fail_on_non_finite_evaluation(metrics, parts)
        except interrupt.Interrupted:
            raise  # metrics.json is written
        except BaseException as error:
            if not isinstance(error, KeyboardInterrupt):  # (a second signal: stop at once)
                outcome = {"status": "failed"}
            metrics = {**outcome, **resumed, "error": error_text(error),
                       "wall_time_s": round(time.perf_counter() - start, 3)}
            write_json(run_dir / "metrics.json", metrics)
            raise
    write_json(run_dir / "metrics.json", metrics)
    if parts.guard.failure:
        raise NonFiniteError(f"training stopped: {parts.guard.failure}; run folder: {run_dir}")
    return RunResult(run_dir, metrics, network)


def _preflight(experiment: Experiment) -> dict:
    """The pre-flight check (:mod:`nnkit.dynamics.preflight`), printed; metrics.json's
    ``preflight``. Off with ``logging.preflight: false`` and under ``training.distribute``.
    A model it cannot measure is trained all the same, with a note."""
    if not experiment.config.logging.preflight or experiment.strategy is not None:
        return {}
    from nnkit.dynamics.preflight import check_experiment

    try:
        result = check_experiment(experiment)
    except (ValueError, TypeError, tf.errors.OpError) as error:
        print(f"pre-flight: skipped ({type(error).__name__}: "
              f"{str(error).splitlines()[0] if str(error) else ''})")
        return {}
    for line in result.lines():
        print(f"pre-flight: {line}")
    return {"preflight": result.to_dict()}


def _save_model(network: keras.Model, run_dir: Path) -> None:
    """``model.keras``; a custom model Keras cannot serialise (a subclass without
    ``get_config`` or registration) is not saved, with a warning: the run still counts."""
    try:
        network.save(run_dir / "model.keras")
    except Exception as error:  # the user's class: its serialisation is theirs
        (run_dir / "model.keras").unlink(missing_ok=True)
        first = str(error).splitlines()[0] if str(error) else ""
        print(f"warning: {run_dir / 'model.keras'} not written: Keras cannot save this model "
              f"({type(error).__name__}: {first}); register the class with "
              "@keras.saving.register_keras_serializable and give it get_config",
              file=sys.stderr)


def _write_running(run_dir: Path, findings: list[dict]) -> None:
    """metrics.json while training runs: the findings so far (the final one replaces it)."""
    write_json(run_dir / "metrics.json", {"status": "running", "diagnosis": findings})


def _fail_on_non_finite_evaluation(metrics: dict, parts: TrainingCallbacks) -> None:
    """A NaN or infinite loss or metric in the final evaluation fails the run (exit 3)."""
    for split in ("train", "validation", "test"):
        bad = non_finite_values(metrics.get(split) or {})
        if bad:
            epochs = metrics["epochs_run"]
            parts.guard.failure = (f"the {split} {bad[0]} is NaN or infinite in the evaluation "
                                   f"after epoch {epochs}")
            metrics.update(status="failed", error=parts.guard.failure)
            metrics.pop("stopped_by", None)
            if parts.instrumentation is not None:
                step = int(parts.instrumentation.model.optimizer.iterations.numpy()) - 1
                parts.instrumentation.diagnosis.add_non_finite(split, step, parts.guard.failure)
                metrics.update(parts.diagnosis())
            return


def _interrupted(run_dir: Path, parts: TrainingCallbacks, resumed: dict):
    """Record a run stopped by a signal, then raise ``Interrupted`` naming how to go on."""
    checkpointer = parts.checkpointer
    signal_name = interrupt.name(checkpointer.interrupted)
    epochs_done, steps = checkpointer.position
    where = (f"at step {checkpointer.steps_done} (epoch {epochs_done + 1}, after "
             f"{steps} of its steps)" if steps else
             f"at step {checkpointer.steps_done} (after epoch {epochs_done})")
    saved = checkpointer.interrupt_checkpoint
    command = f"nnkit run --resume {run_dir}"
    history = checkpointer.history
    write_json(run_dir / "metrics.json", {
        "status": "interrupted", **resumed,
        "error": f"interrupted by {signal_name} {where}",
        "checkpoint": f"{saved.parent.name}/{saved.name}" if saved else None,
        "resume": command, "epochs_run": len(history.get("loss", [])),
        "steps_done": checkpointer.steps_done,
        "wall_time_s": round(checkpointer.wall_time_s, 3),
        **parts.diagnosis(), "history": history})
    kept = (f"checkpoint {saved.parent.name}/{saved.name} written" if saved else
            "no checkpoint written (a value was not finite)")
    raise interrupt.Interrupted(
        f"interrupted by {signal_name} {where}; {kept}; run folder: {run_dir}\n"
        f"resume with: {command}", checkpointer.interrupted)


def run(config, log_dir: str | None = None, verbose: int | str = "auto") -> RunResult:
    """Build, create a new run folder, train. Bad input fails before the folder exists.
    ``config``: a config object, a path or a mapping (:func:`nnkit.config.as_config`).

    Under ``distribute: multi_worker`` only the chief keeps a run folder; the other workers
    train in a temporary folder that is removed at the end (they hold the same weights).
    """
    config = as_config(config)
    experiment = build_experiment(config)
    if config.training.distribute == "multi_worker" and not distribute.is_chief():
        return _train_as_worker(experiment, verbose)
    run_dir = create_run_dir(log_dir or config.experiment.log_dir, config.experiment.name)
    return train(experiment, run_dir, verbose)


class AlreadyCompleted(Exception):
    """``--resume`` of a run whose metrics.json says it completed: nothing to do."""


def resume(run_dir: str | Path, verbose: int | str = "auto", restart: bool = False) -> RunResult:
    """Continue the run in ``run_dir`` from its newest intact checkpoint (from the start if
    it has none), appending to its TensorBoard logs after cutting them back to that
    checkpoint. Damaged checkpoints are skipped with a warning; when all are damaged,
    ``CheckpointError``. ``restart`` starts the run over in the same folder on purpose: its
    checkpoints and logged events are deleted first."""
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise RunDirError("no such folder")
    config_path = run_dir / "config.yaml"
    if not config_path.is_file():
        raise RunDirError("not a run folder (it has no config.yaml)")
    if not restart and read_metrics(run_dir).get("status") == "completed":
        raise AlreadyCompleted(f"{run_dir}: the run has already completed; nothing to resume")
    config = load_config(config_path)
    experiment = build_experiment(config)
    if config.training.distribute == "multi_worker" and not distribute.is_chief():
        return _resume_as_worker(experiment, run_dir, verbose, restart)
    if restart:
        for path in checkpoints(run_dir):
            path.unlink()
        (run_dir / "model.keras").unlink(missing_ok=True)
        (run_dir / "metrics.json").unlink(missing_ok=True)
        checkpoint = None
    else:
        checkpoint = load_latest(run_dir)
    if checkpoint is None:
        truncate_events(run_dir, 0, 0, 0)
    else:
        step = int(checkpoint.meta["step"])
        truncate_events(run_dir, checkpoint.epochs_done, step, step - checkpoint.steps_in_epoch)
    return train(experiment, run_dir, verbose, resume_from=checkpoint)


def _resume_as_worker(experiment: Experiment, run_dir: Path, verbose, restart: bool):
    """A multi_worker worker other than the chief: it restores the chief's newest checkpoint
    from the shared run folder (read only; the chief cuts the logs back and keeps writing
    there) and trains in a temporary folder, as :func:`run` does. Every worker reads the
    folder before the first step, which no worker passes alone, so all start from the
    same checkpoint."""
    checkpoint = None if restart else load_latest(run_dir, warn=lambda message: None)
    return _train_as_worker(experiment, verbose, resume_from=checkpoint)


def _train_as_worker(experiment: Experiment, verbose, resume_from: Checkpoint | None = None):
    """Train in a temporary folder, removed at the end: a multi_worker worker that is not the
    chief (it holds the chief's weights; the chief keeps the run folder)."""
    kind, index = distribute.task()
    with tempfile.TemporaryDirectory(prefix=f"nnkit-{kind}{index}-") as scratch:
        result = train(experiment, Path(scratch), verbose, resume_from=resume_from)
    result.kept = False
    return result
