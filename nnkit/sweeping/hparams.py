"""The TensorBoard hparams dashboard for a sweep: the space at the root, values per run."""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf
from tensorboard.plugins.hparams import api as hp


def _domain(values: list):
    if all(isinstance(v, bool) for v in values):
        return hp.Discrete(sorted(set(values)))
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return hp.Discrete(sorted({float(v) for v in values}))
    return hp.Discrete(sorted({str(v) for v in values}))


def _value(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    return str(value)


def write_space(sweep_dir: Path, sweep: dict[str, list], classification: bool) -> None:
    """The hparams and the metrics the dashboard shows, once, at the sweep's root."""
    metrics = [hp.Metric("epoch_loss", group="validation", display_name="validation loss"),
               hp.Metric("epoch_loss", group="train", display_name="training loss")]
    if classification:
        metrics.insert(1, hp.Metric("epoch_accuracy", group="validation",
                                    display_name="validation accuracy"))
    with tf.summary.create_file_writer(str(sweep_dir)).as_default():
        hp.hparams_config(hparams=[hp.HParam(path, _domain(values))
                                   for path, values in sweep.items()], metrics=metrics)


def write_values(run_dir: Path, values: dict) -> None:
    """This run's point of the space (its metrics are read from train/ and validation/)."""
    writer = tf.summary.create_file_writer(str(run_dir))
    with writer.as_default():
        hp.hparams({path: _value(v) for path, v in values.items()}, trial_id=run_dir.name)
    writer.close()
