"""Comparing runs: a resumed run with one never interrupted (the resume tests), a reloaded
model with the scores its run logged."""

import collections
import json
from pathlib import Path

import keras
import numpy as np

from event_files import summary_values

# Dropout (seed state), batch norm (moving statistics), momentum (slots), histograms: every
# kind of state a checkpoint must carry.
DETERMINISTIC = ["experiment.deterministic=true", "model.dropout=0.2", "model.batch_norm=after",
                 "optimizer={name: momentum, learning_rate: 0.05, momentum: 0.9}",
                 "training.epochs=5", "logging.histogram_every_n_steps=4",
                 "training.checkpoint.every_seconds=0"]
TOLERANCE = 1e-6  # the bound; deterministic ops give exact equality in practice


def logged_steps(run_dir: Path) -> dict[str, list[int]]:
    """tag → steps, over every event file of the run (duplicates included)."""
    steps = collections.defaultdict(list)
    for folder, tag, step, _ in summary_values(run_dir):
        steps[f"{folder}/{tag}"].append(step)
    return steps


def weights(run_dir: Path) -> list[np.ndarray]:
    return keras.saving.load_model(run_dir / "model.keras", safe_mode=True).get_weights()


def assert_same_end(full: Path, resumed: Path) -> None:
    """Same status, epochs, evaluation, history and weights, within TOLERANCE."""
    a, b = (json.loads((d / "metrics.json").read_text()) for d in (full, resumed))
    assert b["status"] == "completed" and b["epochs_run"] == a["epochs_run"]
    for split in ("train", "validation", "test"):
        for name, value in a[split].items():
            assert abs(b[split][name] - value) <= TOLERANCE, (split, name)
    for name, values in a["history"].items():
        np.testing.assert_allclose(b["history"][name], values, atol=TOLERANCE, rtol=0)
    for x, y in zip(weights(full), weights(resumed), strict=True):
        np.testing.assert_allclose(y, x, atol=TOLERANCE, rtol=0)


def assert_same_events(full: Path, resumed: Path) -> None:
    """Each tag logged at the same steps, each step once (the flow image, drawn at most every
    few seconds, only once per step)."""
    before, after = logged_steps(full), logged_steps(resumed)
    for tag, steps in after.items():
        assert len(steps) == len(set(steps)), f"{tag}: a step logged twice"
        if not tag.endswith("gradient_flow"):
            assert sorted(steps) == sorted(before[tag]), tag
    assert set(after) == set(before)


def assert_reloaded_model_scores_as_logged(run_dir: Path, config_path: Path) -> keras.Model:
    """The run's model.keras, reloaded with safe_mode, scores on the test split (rebuilt from
    the config's seed) the loss and accuracy metrics.json logged; returns the model."""
    from nnkit.config import load_config
    from nnkit.training.build import build_experiment

    metrics = json.loads((run_dir / "metrics.json").read_text())
    model = keras.models.load_model(run_dir / "model.keras", safe_mode=True)
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    data = build_experiment(load_config(config_path)).dataset
    loss, accuracy = model.evaluate(data.x_test, data.y_test, verbose=0)
    np.testing.assert_allclose([loss, accuracy], [metrics["test"]["loss"],
                                                  metrics["test"]["accuracy"]], rtol=1e-5)
    return model
