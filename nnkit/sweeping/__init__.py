"""``nnkit sweep``: run every combination of a ``sweep:`` section in one process.

Each combination is a normal run folder inside ``<log dir>/<experiment>/sweep-<id>/``,
named after its values; the TensorBoard hparams dashboard compares them; a failed run is
recorded with its reason and the sweep goes on; ``sweep.csv`` (rewritten after every run)
and a table sorted by the chosen metric summarise it. A killed or interrupted sweep
continues where it stopped when the same command is run again (:mod:`.state`).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras

from nnkit.config import ExperimentConfig, dump
from nnkit.findings import stopped_by_text
from nnkit.sweeping import hparams, state
from nnkit.sweeping.grid import Point, expand
from nnkit.training import interrupt
from nnkit.training.build import build_experiment
from nnkit.training.checkpoint import CheckpointError
from nnkit.training.interrupt import Interrupted
from nnkit.training.run import resume, train
from nnkit.training.run_dir import (check_writable, create_run_dir, read_metrics, write_atomic,
                                    write_csv)


@dataclass
class SweepResult:
    sweep_dir: Path
    rows: list[dict] = field(default_factory=list)


def _metric(metrics: dict, name: str):
    split, _, key = name.partition(".")
    value = (metrics.get(split) or {}).get(key)
    return float(value) if value is not None else None


def _row(point: Point, run_dir: Path, metrics: dict, error: str | None) -> dict:
    """A run's row of sweep.csv; a run stopped by a ``training.stop_on`` finding is
    ``pruned``, the finding in the ``error`` column."""
    status = "failed" if error else metrics.get("status", "failed")
    stopped_by = metrics.get("stopped_by") if status == "stopped" else None
    if stopped_by:
        status, error = "pruned", stopped_by_text(stopped_by)
    row = {"run": point.name, **{k: v for k, v in point.values.items()},
           "status": status, "error": error or metrics.get("error", "")}
    for split in ("train", "validation", "test"):
        for key, value in (metrics.get(split) or {}).items():
            row[f"{split}.{key}"] = value
    row["epochs_run"] = metrics.get("epochs_run")
    row["wall_time_s"] = metrics.get("wall_time_s")
    row["folder"] = str(run_dir)
    return row


def _open_sweep_dir(config: ExperimentConfig, new: bool, sweep_dir: Path | None,
                    log) -> Path:
    """The sweep folder to work in: ``sweep_dir`` (``--resume``), the newest one this config
    ran in, or a new one (with ``new``, or when none matches: the differences are logged)."""
    if sweep_dir is not None:
        return sweep_dir
    parent = check_writable(config.experiment.log_dir) / config.experiment.name
    if not new and parent.is_dir():
        found, differences, newest = state.find(parent, config)
        if found is not None:
            log(f"continuing the sweep in {found} (same grid and base config; --new starts "
                "a fresh one)")
            return found
        if newest is not None:
            shown = ", ".join(differences[:6]) + (", ..." if len(differences) > 6 else "")
            log(f"a new sweep: the newest one, {newest}, was run with another grid or base "
                f"config (changed: {shown})")
    folder = create_run_dir(config.experiment.log_dir, config.experiment.name, prefix="sweep-")
    write_atomic(folder / state.CONFIG, dump(config))
    return folder


def _train_point(point: Point, run_dir: Path, sweep_dir: Path, sweep: dict, log) -> dict:
    """Train (or continue, or keep) one point's run; its metrics."""
    kind = state.run_state(run_dir)
    if kind == "done":
        return read_metrics(run_dir)
    if kind == "resume":  # (not completed: run_state says so)
        try:
            return resume(run_dir, verbose=0).metrics
        except CheckpointError as error:
            log(f"{run_dir.name}: {error}; starting it over")
            return resume(run_dir, verbose=0, restart=True).metrics
    shutil.rmtree(run_dir, ignore_errors=True)  # killed before it had a config: start over
    experiment = build_experiment(point.config)
    if not any(sweep_dir.glob("events.out.tfevents.*")):
        hparams.write_space(sweep_dir, sweep, experiment.dataset.task != "regression")
    run_dir.mkdir()
    hparams.write_values(run_dir, point.values)
    return train(experiment, run_dir, verbose=0).metrics


def run_sweep(config_path, overrides: list[str], config: ExperimentConfig,
              metric: str | None = None, log=print, new: bool = False,
              sweep_dir: Path | None = None) -> SweepResult:
    """Run the grid of ``config.sweep`` (``config`` is ``config_path`` with ``overrides``);
    ``log`` receives one progress line per run and the summary.

    The sweep continues the folder it ran in before, if any (see :mod:`.state`), keeping
    its finished runs and resuming its interrupted one; ``sweep.csv`` is rewritten after
    every run, pending runs included. SIGTERM/SIGINT stop it after the step in flight with
    the run checkpointed, and raise ``Interrupted`` naming the command that continues it.
    """
    sweep = config.sweep
    points = expand(config_path, overrides, sweep)
    sweep_dir = _open_sweep_dir(config, new, sweep_dir, log)
    result = SweepResult(sweep_dir)
    classification = None  # from the first run's task
    rows = {p.name: _row(p, sweep_dir / p.name, {"status": "pending"}, None) for p in points}
    done = [p for p in points if state.run_state(sweep_dir / p.name) == "done"]
    if done:
        log(f"{len(done)} of {len(points)} runs already done")
    start, trained = time.perf_counter(), 0
    with interrupt.deferred_signals():
        for index, point in enumerate(points, start=1):
            run_dir = sweep_dir / point.name
            if interrupt.requested() is not None:
                _stopped(sweep_dir, rows, interrupt.requested())
            keras.backend.clear_session()
            metrics, error, was_done = {}, None, point in done
            try:
                metrics = _train_point(point, run_dir, sweep_dir, sweep, log)
            except Interrupted as stop:
                rows[point.name] = _row(point, run_dir, read_metrics(run_dir), None)
                write_csv(sweep_dir / "sweep.csv", list(rows.values()))
                _stopped(sweep_dir, rows, stop.signum)
            except Exception as exc:  # a failed run is recorded and the sweep goes on
                error = f"{type(exc).__name__}: {exc}"
                metrics = read_metrics(run_dir)
            row = rows[point.name] = _row(point, run_dir, metrics, error)
            write_csv(sweep_dir / "sweep.csv", list(rows.values()))
            trained += not was_done
            elapsed = time.perf_counter() - start
            left = len(points) - index
            summary = error or ", ".join(f"{k}={row[k]:.4f}" for k in ("validation.loss",
                                                                        "validation.accuracy")
                                         if isinstance(row.get(k), float))
            eta = f", ~{elapsed / trained * left:.0f}s left" if trained else ""
            log(f"[{index}/{len(points)}] {point.name}: {row['status']}"
                f"{' (kept)' if was_done else ''} ({summary}) [{elapsed:.0f}s{eta}]")
            if classification is None and metrics.get("task"):
                classification = metrics["task"] != "regression"
    result.rows = list(rows.values())
    metric = metric or ("validation.loss" if classification is False else "validation.accuracy")
    _print_table(result.rows, metric, log)
    return result


def _stopped(sweep_dir: Path, rows: dict, signum: int):
    """A signal stopped the sweep: raise Interrupted with the command that continues it."""
    left = sum(row["status"] not in state.FINAL for row in rows.values())
    raise Interrupted(f"sweep interrupted by {interrupt.name(signum)}; {left} of {len(rows)} "
                      f"runs not finished; sweep folder: {sweep_dir}\n"
                      f"continue with: nnkit sweep --resume {sweep_dir}", signum)


def _print_table(rows: list[dict], metric: str, log) -> None:
    maximise = metric.endswith(("accuracy", "auc", "precision", "recall"))

    def key(row):
        value = row.get(metric)
        if not isinstance(value, float):
            return (1, 0.0)
        return (0, -value if maximise else value)

    ranked = sorted(rows, key=key)
    width = max(len(r["run"]) for r in rows)
    log(f"\n{'run':<{width}}  {metric:>20}  status")
    for row in ranked:
        value = row.get(metric)
        shown = f"{value:.4f}" if isinstance(value, float) else "-"
        log(f"{row['run']:<{width}}  {shown:>20}  {row['status']}")


__all__ = ["SweepResult", "expand", "run_sweep"]
