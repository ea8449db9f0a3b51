"""Checkpoints and ``nnkit run --resume``: a killed run continues to the same end."""

import importlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.util import event_pb2

from processes import wait_for_files
from same_run import DETERMINISTIC, assert_same_end, assert_same_events, logged_steps
from nnkit.cli import main
from nnkit.config import load_config
from nnkit.training import NonFiniteError, resume, run
from nnkit.training.checkpoint import checkpoints, load_latest
from nnkit.training.event_log import truncate_events

run_module = importlib.import_module("nnkit.training.run")  # the name `run` is the function


class _Stop(keras.callbacks.Callback):
    """Interrupts training at a global step (as Ctrl-C would), or poisons a weight."""

    def __init__(self, at_step: int, poison: bool = False):
        super().__init__()
        self.at_step, self.poison, self.step = at_step, poison, 0

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step == self.at_step and not self.poison:
            raise KeyboardInterrupt
        if self.step == self.at_step:
            bias = self.model.trainable_variables[-1]  # of the output layer: the loss is NaN
            bias.assign(tf.fill(bias.shape, float("nan")))


@pytest.fixture
def stop_at(monkeypatch):
    """stop_at(step, poison=False): the next run is interrupted (or poisoned) at that step."""

    def install(step, poison=False):
        original = run_module.training_callbacks

        def with_stop(*args, **kwargs):
            parts = original(*args, **kwargs)
            parts.callbacks.insert(-1, _Stop(step, poison))  # before the checkpointer
            return parts

        monkeypatch.setattr(run_module, "training_callbacks", with_stop)
        return lambda: monkeypatch.setattr(run_module, "training_callbacks", original)

    return install


def test_interrupted_run_resumes_to_the_same_weights_metrics_and_logs(tiny_config, stop_at):
    full = run(load_config(tiny_config, DETERMINISTIC), verbose=0)
    steps = full.metrics["steps_per_epoch"]
    full = full.run_dir
    restore = stop_at(2 * steps + steps // 2)  # in the middle of the third epoch
    with pytest.raises(KeyboardInterrupt):
        run(load_config(tiny_config, DETERMINISTIC), verbose=0)
    restore()
    (killed,) = [d for d in full.parent.iterdir() if d != full]
    assert json.loads((killed / "metrics.json").read_text())["error"] == "KeyboardInterrupt"
    assert load_latest(killed).epochs_done == 2
    result = resume(killed, verbose=0)
    assert result.metrics["resumed_from_epoch"] == 2
    assert_same_end(full, killed)
    assert_same_events(full, killed)


def test_kill_9_mid_epoch_then_resume_from_the_command_line(tiny_config, tmp_path):
    """A real ``kill -9`` of ``nnkit run`` in a subprocess, then ``nnkit run --resume``."""
    arguments = [a for o in [*DETERMINISTIC, "training.epochs=12"] for a in ("-o", o)]
    assert main(["run", str(tiny_config), "--quiet", "--logdir", str(tmp_path / "full"),
                 *arguments]) == 0
    command = [sys.executable, "-m", "nnkit.cli", "run", str(tiny_config), "--quiet",
               "--logdir", str(tmp_path / "killed"), *arguments]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_files(process, tmp_path / "killed", "tiny/*/checkpoints/epoch-0003.npz")
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    (killed,) = (tmp_path / "killed" / "tiny").iterdir()
    assert not (killed / "metrics.json").exists(), "kill -9 leaves no chance to write it"
    done = load_latest(killed).epochs_done
    assert 3 <= done < 12
    assert main(["run", "--resume", str(killed), "--quiet"]) == 0
    (full,) = (tmp_path / "full" / "tiny").iterdir()
    assert_same_end(full, killed)
    for tag, steps in logged_steps(killed).items():
        assert len(steps) == len(set(steps)), f"{tag}: a step logged twice"


def _interrupted_and_resumed(config, settings, stop_at, step_of):
    """(an uninterrupted run, the same run interrupted at ``step_of(its metrics)`` and
    resumed): their folders."""
    full = run(load_config(config, settings), verbose=0)
    restore = stop_at(step_of(full.metrics))
    with pytest.raises(KeyboardInterrupt):
        run(load_config(config, settings), verbose=0)
    restore()
    (killed,) = [d for d in full.run_dir.parent.iterdir() if d != full.run_dir]
    resume(killed, verbose=0)
    return full.run_dir, killed


@pytest.mark.slow  # two runs to 30 epochs; the other resume tests check the state restored
def test_early_stopping_state_survives_a_resume(tiny_config, stop_at):
    settings = [*DETERMINISTIC, "training.epochs=30", "optimizer.learning_rate=0.2",
                "training.early_stopping={monitor: val_loss, patience: 2}"]

    def in_the_epoch_that_stops(metrics):
        epochs = metrics["epochs_run"]
        assert 3 < epochs < 30, "the setting must stop early for this test to mean something"
        return metrics["steps_per_epoch"] * (epochs - 1) + 2

    assert_same_end(*_interrupted_and_resumed(tiny_config, settings, stop_at,
                                              in_the_epoch_that_stops))


def meta_steps(run_dir: Path) -> int:
    return json.loads((run_dir / "metrics.json").read_text())["steps_per_epoch"]


def test_checkpoints_every_n_epochs_keep_the_newest(tiny_config):
    config = load_config(tiny_config, ["training.epochs=7",
                                       "training.checkpoint={every_n_epochs: 3, keep: 2, every_seconds: 0}"])
    run_dir = run(config, verbose=0).run_dir
    assert [p.name for p in checkpoints(run_dir)] == ["epoch-0006.npz", "epoch-0007.npz"]
    meta = load_latest(run_dir).meta
    assert meta["epochs_done"] == 7 and meta["step"] == 7 * meta_steps(run_dir)
    assert len(meta["history"]["loss"]) == 7
    off = load_config(tiny_config, ["training.checkpoint.every_n_epochs=0"])
    assert checkpoints(run(off, verbose=0).run_dir) == []
    rare = load_config(tiny_config, ["training.epochs=5",
                                     "training.checkpoint.every_seconds=3600"])
    assert [p.name for p in checkpoints(run(rare, verbose=0).run_dir)] == [
        "epoch-0001.npz", "epoch-0005.npz"], "the first, then nothing for an hour but the last"


def test_non_finite_weights_are_never_checkpointed(tiny_config, stop_at):
    stop_at(5 * 2 + 3, poison=True)  # NaN weights in the third epoch (5 steps per epoch)
    config = load_config(tiny_config, ["training.epochs=5", "training.checkpoint.every_seconds=0"])
    with pytest.raises(NonFiniteError, match="variable became NaN or infinite by the end of "
                                             "epoch 3 .*bias"):
        run(config, verbose=0)
    (run_dir,) = (tmp for tmp in Path(config.experiment.log_dir, "tiny").iterdir())
    checkpoint = load_latest(run_dir)
    assert checkpoint.epochs_done == 2, "the last finite checkpoint is kept"
    assert all(np.all(np.isfinite(a)) for a in checkpoint.arrays.values()
               if np.issubdtype(a.dtype, np.floating))


def test_resume_without_a_checkpoint_starts_over(tiny_config, stop_at):
    full = run(load_config(tiny_config, DETERMINISTIC), verbose=0).run_dir
    restore = stop_at(4)  # in the first epoch, before any checkpoint
    with pytest.raises(KeyboardInterrupt):
        run(load_config(tiny_config, DETERMINISTIC), verbose=0)
    restore()
    (killed,) = [d for d in full.parent.iterdir() if d != full]
    assert load_latest(killed) is None
    resume(killed, verbose=0)
    assert_same_end(full, killed)
    assert all(len(s) == len(set(s)) for s in logged_steps(killed).values())


def test_resume_command_line_errors(tiny_config, tmp_path, capsys):
    run_dir = run(load_config(tiny_config, ["training.epochs=1"]), verbose=0).run_dir
    assert main(["run", "--resume", str(run_dir)]) == 0
    assert "already completed" in capsys.readouterr().out
    assert main(["run", "--resume", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == f"{tmp_path}: not a run folder (it has no config.yaml)"
    assert main(["run", str(tiny_config), "--resume", str(run_dir)]) == 2
    assert "give no CONFIG" in capsys.readouterr().err
    assert main(["run"]) == 2
    assert "--resume" in capsys.readouterr().err


def test_a_checkpoint_that_does_not_fit_the_config_is_refused(tiny_config, stop_at, capsys):
    stop_at(8)  # in the second epoch
    with pytest.raises(KeyboardInterrupt):
        run(load_config(tiny_config, ["training.epochs=3"]), verbose=0)  # epoch 1 saved
    (run_dir,) = Path(load_config(tiny_config).experiment.log_dir, "tiny").iterdir()
    config = run_dir / "config.yaml"
    config.write_text(config.read_text().replace("units: 8", "units: 9"))
    assert main(["run", "--resume", str(run_dir), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"{run_dir}: checkpoints/epoch-0001.npz: its model variables do not "
                          "match the model built from the run's config.yaml"), err


def _write_events(path: Path, events: list[tuple[str, int]]) -> None:
    with tf.io.TFRecordWriter(str(path)) as writer:
        writer.write(event_pb2.Event(file_version="brain.Event:2").SerializeToString())
        for tag, step in events:
            event = event_pb2.Event(step=step)
            event.summary.value.add(tag=tag).simple_value = 1.0
            writer.write(event.SerializeToString())


def test_truncation_reads_each_tag_by_what_its_step_means(tmp_path):
    (tmp_path / "train").mkdir()
    path = tmp_path / "train" / "events.out.tfevents.1.host.1.0.v2"
    _write_events(path, [("epoch_loss", 0), ("epoch_loss", 1), ("epoch_loss", 2),
                         ("gradient_flow", 2), ("grad_norm/global", 13), ("grad_norm/global", 14),
                         ("evaluation_loss_vs_iterations", 14), ("evaluation_loss_vs_iterations", 21),
                         ("grad_norm/global", 15)])
    with open(path, "ab") as file:
        file.write(b"\x10\x00\x00")  # a record cut short by kill -9
    assert truncate_events(tmp_path, epochs_done=2, step=14) == 5
    assert {t: sorted(s) for t, s in logged_steps(tmp_path).items()} == {
        "train/epoch_loss": [0, 1], "train/grad_norm/global": [13],
        "train/evaluation_loss_vs_iterations": [14]}
    assert truncate_events(tmp_path, epochs_done=2, step=14) == 0, "nothing left to drop"
    assert [p.name for p in (tmp_path / "train").iterdir()] == [path.name]


def test_a_non_finite_validation_loss_fails_the_run(tiny_config, stop_at):
    """Weights poisoned after epoch 2's last step: its training loss was finite, its
    validation loss is not (squared error: no clipping swallows the NaN); the run stops
    there with exit status 3's error."""
    stop_at(5 * 2, poison=True)  # 5 steps per epoch
    config = load_config(tiny_config, ["training.epochs=4", "training.checkpoint.every_seconds=0",
                                       "data={name: curve, n_samples: 200}"])
    with pytest.raises(NonFiniteError, match="the validation (loss|mae) became NaN or "
                                             "infinite at epoch 2"):
        run(config, verbose=0)
    (run_dir,) = Path(config.experiment.log_dir, "tiny").iterdir()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "failed" and "validation" in metrics["error"]
    assert load_latest(run_dir).epochs_done == 1, "no checkpoint of the failed epoch"


def test_a_non_finite_final_evaluation_fails_the_run():
    from types import SimpleNamespace

    run_module = importlib.import_module("nnkit.training.run")
    guard = SimpleNamespace(failure=None)
    metrics = {"epochs_run": 3, "train": {"loss": 0.5}, "validation": {"loss": 0.4},
               "test": {"loss": float("inf"), "accuracy": 0.5}, "status": "completed"}
    run_module._fail_on_non_finite_evaluation(
        metrics, SimpleNamespace(guard=guard, instrumentation=None))
    assert metrics["status"] == "failed"
    assert guard.failure == metrics["error"] == (
        "the test loss is NaN or infinite in the evaluation after epoch 3")


@pytest.mark.parametrize("data, model", [
    ({"name": "adding", "n_samples": 120, "length": 5},
     {"architecture": "rnn", "cell": "lstm", "units": 4}),
    ({"name": "tokens", "n_samples": 120, "length": 4, "vocabulary": 5},
     {"architecture": "transformer", "blocks": 1, "width": 8, "heads": 2}),
    pytest.param({"name": "digits"}, {"architecture": "resnet", "depth": 6, "widths": [2, 4]},
                 marks=pytest.mark.slow),  # 50 s; batch norm's resume: the MLP tests above
], ids=["rnn", "transformer", "resnet"])
def test_every_architecture_resumes_to_the_same_end_and_logs(write_config, tmp_path, stop_at,
                                                             data, model):
    """Through-time series and attention entropies included: each step logged once, at the
    uninterrupted run's steps."""
    config = write_config({"experiment": {"name": "arch", "seed": 5,
                                          "log_dir": str(tmp_path / "logs")},
                           "data": data, "model": model,
                           "training": {"epochs": 3, "batch_size": 32},
                           "logging": {"preflight": False, "histogram_every_n_steps": 2}})
    overrides = ["experiment.deterministic=true", "training.checkpoint.every_seconds=0",
                 "optimizer={name: momentum, learning_rate: 0.05, momentum: 0.9}"]
    full, killed = _interrupted_and_resumed(  # in the third epoch
        config, overrides, stop_at, lambda metrics: 2 * metrics["steps_per_epoch"] + 1)
    assert_same_end(full, killed)
    assert_same_events(full, killed)
    wanted = {"rnn": "train/through_time/h01_lstm", "resnet": "train/grad_norm/h01_conv1",
              "transformer": "train/attention_entropy/h01_attention/head_2"}[model["architecture"]]
    assert sorted(logged_steps(killed)[wanted]) == sorted(logged_steps(full)[wanted])
