"""``nnkit sweep``: run every combination of a ``sweep:`` section in one process.

Each combination is a normal run folder inside ``<log dir>/<experiment>/sweep-<id>/``,
named after its values; the TensorBoard hparams dashboard compares them; a failed run is
recorded with its reason and the sweep goes on; ``sweep.csv`` and a table sorted by the
chosen metric summarise it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras

from nnkit.sweep import hparams
from nnkit.sweep.grid import Point, expand
from nnkit.training.build import build_experiment
from nnkit.training.run import train
from nnkit.training.run_dir import create_run_dir, write_csv


@dataclass
class SweepResult:
    sweep_dir: Path
    rows: list[dict] = field(default_factory=list)


def _metric(metrics: dict, name: str):
    split, _, key = name.partition(".")
    value = (metrics.get(split) or {}).get(key)
    return float(value) if value is not None else None


def _row(point: Point, run_dir: Path, metrics: dict, error: str | None) -> dict:
    row = {"run": point.name, **{k: v for k, v in point.values.items()},
           "status": "failed" if error else metrics.get("status", "failed"),
           "error": error or metrics.get("error", "")}
    for split in ("train", "validation", "test"):
        for key, value in (metrics.get(split) or {}).items():
            row[f"{split}.{key}"] = value
    row["epochs_run"] = metrics.get("epochs_run")
    row["wall_time_s"] = metrics.get("wall_time_s")
    row["folder"] = str(run_dir)
    return row


def run_sweep(config_path, overrides: list[str], sweep: dict[str, list], log_dir: str,
              experiment_name: str, metric: str | None = None, log=print) -> SweepResult:
    """Run the grid; ``log`` receives one progress line per run and the summary."""
    points = expand(config_path, overrides, sweep)
    sweep_dir = create_run_dir(log_dir, experiment_name, prefix="sweep-")
    result = SweepResult(sweep_dir)
    classification = None
    start = time.perf_counter()
    for index, point in enumerate(points, start=1):
        keras.backend.clear_session()
        run_dir = sweep_dir / point.name
        metrics, error = {}, None
        try:
            experiment = build_experiment(point.config)
            if classification is None:
                classification = experiment.dataset.task != "regression"
                hparams.write_space(sweep_dir, sweep, classification)
            run_dir.mkdir()
            hparams.write_values(run_dir, point.values)
            metrics = train(experiment, run_dir, verbose=0).metrics
        except Exception as exc:  # a failed run is recorded and the sweep goes on
            error = f"{type(exc).__name__}: {exc}"
            if (run_dir / "metrics.json").exists():
                metrics = json.loads((run_dir / "metrics.json").read_text())
        row = _row(point, run_dir, metrics, error)
        result.rows.append(row)
        elapsed = time.perf_counter() - start
        summary = error or ", ".join(f"{k}={row[k]:.4f}" for k in ("validation.loss",
                                                                    "validation.accuracy")
                                     if isinstance(row.get(k), float))
        log(f"[{index}/{len(points)}] {point.name}: {row['status']} ({summary}) "
            f"[{elapsed:.0f}s, ~{elapsed / index * (len(points) - index):.0f}s left]")
    metric = metric or ("validation.accuracy" if classification else "validation.loss")
    write_csv(sweep_dir / "sweep.csv", result.rows)
    _print_table(result.rows, metric, log)
    return result


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
