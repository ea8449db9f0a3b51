"""SIGTERM and Ctrl-C: a checkpoint of that point, status interrupted, the resume command,
exit 128 + signal; mid-epoch checkpoints and their resume."""

import importlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import keras
import pytest

from nnkit.cli import main
from nnkit.config import load_config
from nnkit.training import Interrupted, resume, run
from nnkit.training.checkpoint import checkpoints, load_latest
from processes import wait_for_files
from same_run import DETERMINISTIC, assert_same_end, assert_same_events

run_module = importlib.import_module("nnkit.training.run")
checkpoint_module = importlib.import_module("nnkit.training.checkpoint")


class _Signal(keras.callbacks.Callback):
    """Sends the process a signal at a global step, as `timeout` or Ctrl-C would."""

    def __init__(self, at_step: int, signum: int):
        super().__init__()
        self.at_step, self.signum, self.step = at_step, signum, 0

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step == self.at_step:
            os.kill(os.getpid(), self.signum)


@pytest.fixture
def signal_at(monkeypatch):
    def install(step, signum):
        original = run_module.training_callbacks

        def with_signal(*args, **kwargs):
            parts = original(*args, **kwargs)
            parts.callbacks.insert(0, _Signal(step, signum))
            return parts

        monkeypatch.setattr(run_module, "training_callbacks", with_signal)
        return lambda: monkeypatch.setattr(run_module, "training_callbacks", original)

    return install


@pytest.mark.parametrize("signum", [pytest.param(signal.SIGTERM, marks=pytest.mark.slow),
                                    signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_mid_epoch_checkpoints_that_step_and_resumes_exactly(tiny_config, signal_at,
                                                                      signum):
    full = run(load_config(tiny_config, DETERMINISTIC), verbose=0)
    steps = full.metrics["steps_per_epoch"]
    at = 2 * steps + 2  # two steps into the third epoch
    restore = signal_at(at, signum)
    with pytest.raises(Interrupted) as stop:
        run(load_config(tiny_config, DETERMINISTIC), verbose=0)
    restore()
    assert stop.value.exit_status == 128 + signum
    (killed,) = [d for d in full.run_dir.parent.iterdir() if d != full.run_dir]
    name = signal.Signals(signum).name
    assert str(stop.value) == (
        f"interrupted by {name} at step {at} (epoch 3, after 2 of its steps); checkpoint "
        f"checkpoints/epoch-0002-step-{at:08d}.npz written; run folder: {killed}\n"
        f"resume with: nnkit run --resume {killed}")
    metrics = json.loads((killed / "metrics.json").read_text())
    assert metrics["status"] == "interrupted" and metrics["steps_done"] == at
    assert metrics["resume"] == f"nnkit run --resume {killed}"
    assert len(metrics["history"]["loss"]) == 2, "the cut epoch is not in the history"
    assert not (killed / "model.keras").exists()
    latest = load_latest(killed)
    assert (latest.epochs_done, latest.steps_in_epoch, latest.meta["step"]) == (2, 2, at)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL, "handlers restored"
    result = resume(killed, verbose=0)
    assert result.metrics["resumed_from_step"] == at
    assert_same_end(full.run_dir, killed)
    assert_same_events(full.run_dir, killed)


@pytest.mark.parametrize("signum", [pytest.param(signal.SIGTERM, marks=pytest.mark.slow),
                                    signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_nnkit_run_stops_on_a_signal_and_its_printed_command_resumes_it(tiny_config, tmp_path,
                                                                        signum):
    """A real subprocess: the exit status, the message, then the command it prints."""
    arguments = [a for o in [*DETERMINISTIC, "training.epochs=60"] for a in ("-o", o)]
    assert main(["run", str(tiny_config), "--quiet", "--logdir", str(tmp_path / "full"),
                 *arguments]) == 0
    command = [sys.executable, "-m", "nnkit.cli", "run", str(tiny_config), "--quiet",
               "--logdir", str(tmp_path / "cut"), *arguments]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        wait_for_files(process, tmp_path / "cut", "tiny/*/checkpoints/epoch-0003.npz")
        sent = time.monotonic()
        process.send_signal(signum)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert time.monotonic() - sent < 10, "stops within 10 s"
    assert process.returncode == 128 + signum, err
    assert "Traceback" not in err
    (cut,) = (tmp_path / "cut" / "tiny").iterdir()
    last = err.strip().splitlines()[-1]
    assert last == f"resume with: nnkit run --resume {cut}", err
    assert re.search(rf"interrupted by {signal.Signals(signum).name} at step \d+", err)
    assert json.loads((cut / "metrics.json").read_text())["status"] == "interrupted"
    assert load_latest(cut).epochs_done >= 3
    assert main(last.removeprefix("resume with: nnkit ").split() + ["--quiet"]) == 0
    (full,) = (tmp_path / "full" / "tiny").iterdir()
    assert_same_end(full, cut)
    assert_same_events(full, cut)


def test_every_n_steps_checkpoints_mid_epoch_and_each_one_resumes_exactly(tiny_config,
                                                                         tmp_path):
    settings = [*DETERMINISTIC, "training.epochs=3",
                "training.checkpoint={every_n_epochs: 0, every_n_steps: 3, keep: 100, "
                "every_seconds: 0}"]
    full = run(load_config(tiny_config, settings), verbose=0)
    steps = full.metrics["steps_per_epoch"]
    names = [p.name for p in checkpoints(full.run_dir)]
    expected = {f"epoch-{s // steps:04d}" + (f"-step-{s:08d}" if s % steps else "") + ".npz"
                for s in range(3, 3 * steps + 1, 3)} | {"epoch-0003.npz"}
    assert sorted(names) == sorted(expected), "at an epoch's last step: the epoch's own"
    for chosen in (1, 3):  # as if killed right after that mid-epoch checkpoint: copy it,
        copy = tmp_path / f"copy{chosen}"  # drop the later ones
        shutil.copytree(full.run_dir, copy)
        for path in checkpoints(copy)[chosen + 1:]:
            path.unlink()
        (copy / "metrics.json").unlink()
        (copy / "model.keras").unlink()
        checkpoint = load_latest(copy)
        resume(copy, verbose=0)
        assert_same_end(full.run_dir, copy)
        assert_same_events(full.run_dir, copy)
        assert checkpoint.meta["step"] == int(re.findall(r"\d+", checkpoint.path.name)[-1])


def test_a_checkpoint_held_back_by_the_time_limit_comes_at_the_first_step_after_it(
        tiny_config, monkeypatch):
    """every_seconds postpones a due checkpoint instead of dropping it: the work a kill
    can lose is bounded by the interval. A clock that ticks once per reading."""
    ticks = iter(range(10**6))
    monkeypatch.setattr(checkpoint_module.time, "monotonic", lambda: float(next(ticks)))
    settings = ["training.epochs=4",
                "training.checkpoint={every_n_epochs: 1, every_seconds: 6, keep: 100}"]
    run_dir = run(load_config(tiny_config, settings), verbose=0).run_dir
    names = [p.name for p in checkpoints(run_dir)]
    assert names[0] == "epoch-0001.npz" and names[-1] == "epoch-0004.npz"
    assert any("-step-" in name for name in names), names  # epoch 2's, postponed into 3
    assert len(names) < 2 * 4


