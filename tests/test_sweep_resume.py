"""A killed or interrupted ``nnkit sweep`` continues where it stopped."""

import csv
import importlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import keras
import pytest
import yaml

from nnkit.cli import main
from processes import wait_for_files
from same_run import assert_same_end

from conftest import TINY

GRID = {"optimizer.learning_rate": [0.01, 0.02, 0.05, 0.1]}
run_module = importlib.import_module("nnkit.training.run")


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """The config of a 4-run sweep, and the folder of that sweep run without interruption."""
    folder = tmp_path_factory.mktemp("grid")
    config = folder / "sweep.yaml"
    config.write_text(yaml.safe_dump({
        **TINY, "experiment": {"name": "grid", "seed": 1, "deterministic": True},
        "training": {"epochs": 5, "batch_size": 32,
                     "checkpoint": {"every_seconds": 0}},
        "logging": {"histogram_every_n_steps": 0}, "sweep": GRID}, sort_keys=False))
    assert main(["sweep", str(config), "--logdir", str(folder / "full")]) == 0
    (full,) = (folder / "full" / "grid").iterdir()
    return config, full


def _names():
    return [f"learning_rate={lr}" for lr in GRID["optimizer.learning_rate"]]


def _rows(sweep_dir: Path) -> dict[str, dict]:
    return {row["run"]: row for row in csv.DictReader((sweep_dir / "sweep.csv").open())}


def test_a_sweep_killed_after_two_runs_continues_in_its_folder(grid, tmp_path, capsys):
    config, full = grid
    logs = tmp_path / "logs"
    command = [sys.executable, "-m", "nnkit.cli", "sweep", str(config), "--logdir", str(logs)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # the third run's folder: the sweep has recorded the second run in sweep.csv (a
        # completed metrics.json alone comes a moment before that row; killed in between,
        # the row says pending)
        wait_for_files(process, logs, "grid/sweep-*/learning_rate=*", count=3)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=30)
    (sweep_dir,) = (logs / "grid").iterdir()
    rows = _rows(sweep_dir)
    assert list(rows) == _names(), "sweep.csv is written after every run, pending ones too"
    statuses = [rows[n]["status"] for n in _names()]
    assert statuses[:2] == ["completed", "completed"] and "pending" in statuses[2:]
    kept = {n: (sweep_dir / n / "metrics.json").read_text() for n in _names()[:2]}
    capsys.readouterr()
    assert main(["sweep", str(config), "--logdir", str(logs)]) == 0
    out = capsys.readouterr().out
    assert f"continuing the sweep in {sweep_dir}" in out and "2 of 4 runs already done" in out
    assert list((logs / "grid").iterdir()) == [sweep_dir], "no second sweep folder"
    for name, text in kept.items():
        assert (sweep_dir / name / "metrics.json").read_text() == text, "kept, not re-run"
    assert [r["status"] for r in _rows(sweep_dir).values()] == ["completed"] * 4
    for name in _names():
        assert_same_end(full / name, sweep_dir / name)


@pytest.mark.slow  # the kill -9 test above covers continuing a sweep
def test_a_signal_stops_a_sweep_and_resume_finishes_it(grid, tmp_path, monkeypatch, capsys):
    config, full = grid
    original = run_module.training_callbacks
    calls = []

    class Terminate(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 3 and self.params and len(calls) == 2 and not self.sent:
                self.sent = True
                os.kill(os.getpid(), signal.SIGTERM)

        sent = False

    def with_signal(*args, **kwargs):
        calls.append(1)
        parts = original(*args, **kwargs)
        parts.callbacks.insert(0, Terminate())
        return parts

    monkeypatch.setattr(run_module, "training_callbacks", with_signal)
    logs = tmp_path / "logs"
    assert main(["sweep", str(config), "--logdir", str(logs)]) == 128 + signal.SIGTERM
    monkeypatch.setattr(run_module, "training_callbacks", original)
    (sweep_dir,) = (logs / "grid").iterdir()
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"continue with: nnkit sweep --resume {sweep_dir}"
    assert err[-2].startswith("sweep interrupted by SIGTERM; 3 of 4 runs not finished")
    second = sweep_dir / _names()[1]
    assert json.loads((second / "metrics.json").read_text())["status"] == "interrupted"
    assert _rows(sweep_dir)[_names()[1]]["status"] == "interrupted"
    assert main(["sweep", "--resume", str(sweep_dir)]) == 0
    metrics = json.loads((second / "metrics.json").read_text())
    assert metrics["resumed_from_step"] == 4, "the interrupted run went on from its checkpoint"
    for name in _names():
        assert_same_end(full / name, sweep_dir / name)


def test_a_changed_grid_starts_a_new_sweep_and_says_what_changed(grid, tmp_path, capsys):
    config, full = grid
    logs = full.parent.parent
    capsys.readouterr()
    assert main(["sweep", str(config), "--logdir", str(logs), "-o", "training.epochs=1",
                 "-o", "sweep={optimizer.learning_rate: [0.01]}"]) == 0
    out = capsys.readouterr().out
    assert (f"a new sweep: the newest one, {full}, was run with another grid or base config "
            "(changed: training.epochs, sweep.optimizer.learning_rate)") in out, out
    assert len(list((logs / "grid").iterdir())) == 2
    assert main(["sweep", "--resume", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err.strip() == f"{tmp_path / 'nope'}: no such folder"
    assert main(["sweep", "--resume", str(full), str(config)]) == 2
    assert "give no CONFIG" in capsys.readouterr().err
