"""``training.distribute``: mirrored on 2 logical CPUs and 2 workers on loopback train like
one device on the same global batch, and log the same (all-reduced) gradient norms."""

import collections
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
import yaml
from tensorboard.util import tensor_util

from event_files import summary_values
from processes import wait_for_files
from nnkit.config import load_config
from nnkit.training import ExperimentError, build_experiment
from nnkit.training.checkpoint import load_latest

CONFIG = {
    "experiment": {"name": "dist", "seed": 3},
    "data": {"name": "moons", "n_samples": 400},
    "model": {"depth": 2, "units": 16},
    "optimizer": {"name": "momentum", "learning_rate": 0.05, "momentum": 0.9},
    "training": {"epochs": 3, "batch_size": 32},  # even: both replicas get 16
    "logging": {"histogram_every_n_steps": 5},
}
# Replicas add their gradients in another order than one device's reduction: float32
# round-off (ε ≈ 6e-8) over a few hundred steps of momentum stays far below this.
RTOL, ATOL = 1e-4, 1e-5
TIMEOUT = 240


def _nnkit_run(config: Path, logdir: Path, *overrides: str, env=None) -> subprocess.Popen:
    arguments = [a for o in overrides for a in ("-o", o)]
    return subprocess.Popen(
        [sys.executable, "-m", "nnkit.cli", "run", str(config), "--quiet", "--logdir",
         str(logdir), *arguments], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})})


def _finish(process: subprocess.Popen) -> str:
    try:
        out, err = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    assert process.returncode == 0, err[-3000:]
    noise = [line for line in err.splitlines() if "RPC" in line or "rror" in line]
    assert not noise, f"a normal end prints no error lines: {noise}"
    return out


def _run_dir(logdir: Path) -> Path:
    (run_dir,) = (logdir / "dist").iterdir()
    return run_dir


def _scalars(run_dir: Path) -> dict[str, dict[int, float]]:
    values = collections.defaultdict(dict)
    for _, tag, step, value in summary_values(run_dir / "train", "events.out.tfevents.*"):
        if tag.startswith(("grad_norm/", "weight_norm/", "update_ratio/")):
            assert step not in values[tag], f"{tag} logged twice"
            values[tag][step] = float(tensor_util.make_ndarray(value.tensor))
    return values


def _assert_same_training(single: Path, distributed: Path) -> None:
    a, b = (json.loads((d / "metrics.json").read_text()) for d in (single, distributed))
    assert (a["replicas"], b["replicas"]) == (1, 2)
    for name, values in a["history"].items():
        np.testing.assert_allclose(b["history"][name], values, rtol=RTOL, atol=ATOL)
    load = lambda d: keras.saving.load_model(d / "model.keras", safe_mode=True).get_weights()
    for x, y in zip(load(single), load(distributed), strict=True):
        np.testing.assert_allclose(y, x, rtol=RTOL, atol=ATOL)
    logs_a, logs_b = _scalars(single), _scalars(distributed)
    assert logs_a.keys() == logs_b.keys() and "grad_norm/global" in logs_a
    for tag, steps in logs_a.items():
        assert logs_b[tag].keys() == steps.keys(), tag
        np.testing.assert_allclose([logs_b[tag][s] for s in steps], list(steps.values()),
                                   rtol=RTOL, atol=1e-7, err_msg=tag)


@pytest.fixture(scope="module")
def config_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("distribute") / "dist.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    return path


@pytest.fixture(scope="module")
def single_and_mirrored(config_path):
    """One device and ``mirrored`` over the CPU split in two, run side by side."""
    root = config_path.parent
    single = _nnkit_run(config_path, root / "single")
    mirrored = _nnkit_run(config_path, root / "mirrored", "training.distribute=mirrored",
                          "training.logical_cpus=2")
    _finish(single), _finish(mirrored)
    return _run_dir(root / "single"), _run_dir(root / "mirrored")


def test_mirrored_on_two_logical_cpus_matches_one_device(single_and_mirrored):
    _assert_same_training(*single_and_mirrored)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # three processes; mirrored on two logical CPUs stays quick
def test_two_workers_on_loopback_match_one_device(single_and_mirrored, config_path):
    single, _ = single_and_mirrored
    cluster = {"worker": [f"127.0.0.1:{_free_port()}", f"127.0.0.1:{_free_port()}"]}
    logdir = config_path.parent / "workers"
    workers = [
        _nnkit_run(config_path, logdir, "training.distribute=multi_worker",
                   env=_worker_env(cluster, i))
        for i in range(2)]
    outputs = [_finish(w) for w in workers]
    assert "run: none here" in outputs[1], "worker 1 keeps no run folder"
    chief = _run_dir(logdir)
    assert f"run: {chief}" in outputs[0]
    _assert_same_training(single, chief)


def _worker_env(cluster: dict, index: int) -> dict:
    return {"TF_CONFIG": json.dumps({"cluster": cluster,
                                     "task": {"type": "worker", "index": index}})}


@pytest.mark.slow  # the resume of each worker is tested on one device in test_resume
def test_two_workers_killed_then_resumed_match_one_device(config_path):
    """``kill -9`` of both workers mid-run, then ``nnkit run --resume`` on both (new ports):
    each restores the chief's newest checkpoint from the shared run folder, and the run ends
    as one device's does, each step logged once."""
    root = config_path.parent / "killed"
    longer = ["training.epochs=20", "training.checkpoint.every_seconds=0"]
    single = _nnkit_run(config_path, root / "single", *longer)
    cluster = {"worker": [f"127.0.0.1:{_free_port()}", f"127.0.0.1:{_free_port()}"]}
    workers = [_nnkit_run(config_path, root / "workers", "training.distribute=multi_worker",
                          *longer, env=_worker_env(cluster, i)) for i in range(2)]
    try:
        wait_for_files(workers[0], root / "workers", "dist/*/checkpoints/epoch-0003.npz",
                       seconds=TIMEOUT)
    finally:
        for worker in workers:
            worker.kill()
            worker.wait(timeout=30)
    _finish(single)
    run_dir = _run_dir(root / "workers")
    assert not (run_dir / "metrics.json").exists()
    assert 3 <= load_latest(run_dir).epochs_done < 20
    cluster = {"worker": [f"127.0.0.1:{_free_port()}", f"127.0.0.1:{_free_port()}"]}
    resumed = [subprocess.Popen(
        [sys.executable, "-m", "nnkit.cli", "run", "--resume", str(run_dir), "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **_worker_env(cluster, i)}) for i in range(2)]
    outputs = [_finish(w) for w in resumed]
    assert f"run: {run_dir}" in outputs[0] and "run: none here" in outputs[1]
    assert json.loads((run_dir / "metrics.json").read_text())["resumed_from_epoch"] >= 3
    _assert_same_training(_run_dir(root / "single"), run_dir)


def test_splitting_the_cpu_after_tensorflow_started_is_a_clear_error(tmp_path):
    tf.constant(1.0)  # TensorFlow has started in this (the test) process
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({**CONFIG, "training": {"logical_cpus": 3}}))
    with pytest.raises(ExperimentError, match="training.logical_cpus: TensorFlow has already "
                                              "started in this process"):
        build_experiment(load_config(path))


def test_mirrored_recurrent_net_logs_the_global_batchs_gradient_through_time(tmp_path):
    """‖∂L/∂hₜ‖² is summed over the replicas' halves of the batch: the mirrored run's series
    equal one device's (the weights and gradients too)."""
    path = tmp_path / "dist.yaml"
    path.write_text(yaml.safe_dump({
        **CONFIG, "data": {"name": "adding", "n_samples": 200, "length": 5},
        "model": {"architecture": "rnn", "cell": "gru", "units": 6, "layers": 2},
        "training": {"epochs": 1, "batch_size": 32}, "logging": {"preflight": False}}))
    single = _nnkit_run(path, tmp_path / "single")
    mirrored = _nnkit_run(path, tmp_path / "mirrored", "training.distribute=mirrored",
                          "training.logical_cpus=2")
    _finish(single), _finish(mirrored)
    runs = _run_dir(tmp_path / "single"), _run_dir(tmp_path / "mirrored")
    _assert_same_training(*runs)
    series = []
    for run_dir in runs:
        found = {(tag, step): tf.make_ndarray(value.tensor)[:, 2] for _, tag, step, value
                 in summary_values(run_dir / "train") if tag.startswith("through_time/")}
        series.append(found)
    assert series[0].keys() == series[1].keys() and len(series[0]) == 2 * 5  # 2 layers
    for key, values in series[0].items():
        np.testing.assert_allclose(series[1][key], values, rtol=RTOL, atol=1e-7)
