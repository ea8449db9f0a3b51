"""End-to-end ``nnkit run``: every file of the run folder, and what it contains."""

import json
import re
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.util import tensor_util

from nnkit.cli import main
from nnkit.config import load_config
from nnkit.training import run

from event_files import summary_values


def _scalars(folder: Path) -> dict[str, list[float]]:
    """Every scalar tag in a TensorBoard event folder, read with TensorBoard's own reader."""
    events = EventAccumulator(str(folder), size_guidance={"tensors": 0})
    events.Reload()
    values = {tag: [tensor_util.make_ndarray(e.tensor_proto) for e in events.Tensors(tag)]
              for tag in events.Tags()["tensors"]}
    return {tag: [float(v) for v in series] for tag, series in values.items()
            if series and series[0].shape == () and series[0].dtype.kind == "f"}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """One tiny run through the CLI, shared by the checks below."""
    folder = tmp_path_factory.mktemp("run")
    config = folder / "tiny.yaml"
    config.write_text(yaml.safe_dump({
        "experiment": {"name": "tiny", "seed": 3},
        "data": {"name": "moons", "n_samples": 200, "noise": 0.05},
        "model": {"architecture": "mlp", "depth": 2, "units": 16, "activation": "tanh"},
        "optimizer": {"name": "adam", "learning_rate": 0.02, "warmup_steps": 3},
        "training": {"epochs": 4, "batch_size": 16},
    }))
    logs = folder / "logs"
    status = main(["run", str(config), "--logdir", str(logs), "--quiet"])
    (run_dir,) = list((logs / "tiny").iterdir())
    return status, run_dir, config


def test_run_writes_every_file(finished_run):
    status, run_dir, _ = finished_run
    assert status == 0
    names = {p.name for p in run_dir.iterdir()}
    assert {"config.yaml", "metrics.json", "model.keras", "train", "validation"} <= names
    assert not [n for n in names if n.endswith(".tmp")], "no half-written files remain"


def test_metrics_json_holds_final_scores(finished_run):
    _, run_dir, _ = finished_run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["task"] == "binary"
    assert metrics["epochs_run"] == 4 and metrics["wall_time_s"] > 0
    assert metrics["steps_per_epoch"] == 9  # 140 training samples / 16
    for split in ("train", "validation", "test"):
        assert set(metrics[split]) == {"loss", "accuracy"}
        assert 0.0 <= metrics[split]["accuracy"] <= 1.0
    assert metrics["train"]["accuracy"] > 0.8, "tiny moons is learnable in 4 epochs"
    assert len(metrics["history"]["loss"]) == 4
    assert metrics["history"]["loss"][-1] < metrics["history"]["loss"][0]


def test_saved_config_is_resolved_and_reloads(finished_run):
    _, run_dir, source = finished_run
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert saved["optimizer"]["beta_1"] == 0.9, "defaults are filled in"
    assert saved["data"]["seed"] == 3, "the data seed is resolved"
    assert load_config(run_dir / "config.yaml") == load_config(
        source, [f"experiment.log_dir={saved['experiment']['log_dir']}"])


def test_model_reloads_in_safe_mode_with_same_predictions(finished_run):
    _, run_dir, _ = finished_run
    model = keras.saving.load_model(run_dir / "model.keras", safe_mode=True)
    x = np.random.default_rng(0).normal(size=(5, 2)).astype("float32")
    again = keras.saving.load_model(run_dir / "model.keras", safe_mode=True)
    np.testing.assert_array_equal(model.predict(x, verbose=0), again.predict(x, verbose=0))
    assert model.output_shape == (None, 1)


def test_tensorboard_has_loss_metrics_and_learning_rate(finished_run):
    _, run_dir, _ = finished_run
    train = _scalars(run_dir / "train")
    validation = _scalars(run_dir / "validation")
    assert {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"} <= set(train)
    assert {"epoch_loss", "epoch_accuracy"} <= set(validation)
    assert len(train["epoch_loss"]) == 4
    metrics = json.loads((run_dir / "metrics.json").read_text())
    np.testing.assert_allclose(train["epoch_loss"], metrics["history"]["loss"], rtol=1e-6)
    assert train["epoch_learning_rate"][-1] == pytest.approx(0.02), "after warm-up: the base rate"


def test_runs_never_share_a_folder(tiny_config, tmp_path):
    config = load_config(tiny_config, ["training.epochs=1"])
    first = run(config, verbose=0).run_dir
    second = run(config, verbose=0).run_dir
    assert first != second and first.parent == second.parent


def test_same_seed_same_result(tiny_config):
    config = load_config(tiny_config, ["training.epochs=2"])
    a = run(config, verbose=0).metrics
    b = run(config, verbose=0).metrics
    assert a["history"]["loss"] == b["history"]["loss"]


@pytest.mark.parametrize("mode, steps", [("batch", 1), ("stochastic", 140), ("minibatch", 5)])
def test_gradient_descent_modes_set_steps_per_epoch(tiny_config, mode, steps):
    config = load_config(tiny_config, ["training.epochs=1", f"training.mode={mode}"])
    assert run(config, verbose=0).metrics["steps_per_epoch"] == steps


def test_validation_every_n_epochs_and_after_the_last(tiny_config):
    config = load_config(tiny_config, ["training.epochs=5",
                                       "training.validation_every_n_epochs=2"])
    result = run(config, verbose=0)
    assert len(result.metrics["history"]["val_loss"]) == 3  # epochs 2, 4 and the last, 5
    steps = [step for _, tag, step, _ in summary_values(result.run_dir / "validation")
             if tag == "epoch_loss"]
    assert steps == [1, 3, 4]


def test_early_stopping_stops_and_restores(tiny_config):
    config = load_config(tiny_config, [
        "training.epochs=30", "optimizer.learning_rate=0.5", "optimizer.name=sgd",
        "training.early_stopping={monitor: loss, patience: 0, min_delta: 10}"])
    metrics = run(config, verbose=0).metrics
    assert metrics["epochs_run"] == 2, "min_delta 10 is never reached: stop after patience 0"


def test_categorical_crossentropy_gets_one_hot_labels(tiny_config):
    config = load_config(tiny_config, ["data={name: blobs, n_samples: 150}",
                                       "loss=categorical_crossentropy", "training.epochs=3"])
    metrics = run(config, verbose=0).metrics
    assert metrics["status"] == "completed" and metrics["test"]["accuracy"] > 0.5


def test_unwritable_log_dir_is_reported_before_training(tiny_config, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["run", str(tiny_config), "--logdir", str(blocker / "logs"), "--quiet"]) == 2
    assert "experiment.log_dir: cannot write to" in capsys.readouterr().err


def test_console_script_end_to_end(tiny_config, tmp_path):
    """The installed ``nnkit`` command, as a user runs it: last line names the run folder."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    script = Path(sys.executable).with_name("nnkit")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "nnkit.cli"]
    result = subprocess.run(
        [*command, "run", str(tiny_config), "-o", "training.epochs=1",
         "--logdir", str(tmp_path / "cli")], capture_output=True, text=True, env=env,
        timeout=300)
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("run: ") and Path(last[5:]).is_dir()
    assert "Traceback" not in result.stderr


def test_loss_parameters_reach_the_loss_object():
    from nnkit import losses

    huber = losses.build({"name": "huber", "delta": 0.25}, "regression")
    # error 1 beyond delta: δ(|e| - δ/2) = 0.21875 with δ = 0.25 (0.5 with the default δ = 1)
    assert float(huber(np.ones((1, 1)), np.zeros((1, 1)))) == pytest.approx(0.21875)
    assert isinstance(losses.build("auto", "multiclass"),
                      keras.losses.SparseCategoricalCrossentropy)


def test_metrics_json_of_a_diverged_run_is_strict_json(tiny_config, capsys):
    """NaN and Infinity are not JSON: a strict parser must read the file. Linear units at
    this rate send the squared error itself to NaN (the history and evaluations hold it)."""
    status = main(["run", str(tiny_config), "--quiet", "-o", "optimizer.name=sgd",
                   "-o", "optimizer.learning_rate=1e30", "-o", "model.activation=linear",
                   "-o", "data={name: curve, n_samples: 200}", "-o", "training.epochs=3"])
    assert status == 3
    capsys.readouterr()

    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    (path,) = Path(tiny_config).parent.glob("logs/tiny/*/metrics.json")
    metrics = json.loads(path.read_text(), parse_constant=refuse)
    assert metrics["status"] == "failed" and "NaN or infinite" in metrics["error"]
    assert metrics["non_finite"], "the replaced values are listed"
    for where, what in metrics["non_finite"].items():
        assert _value_at(metrics, where) is None and what in ("nan", "inf", "-inf")


def _value_at(data, path: str):
    for part in re.findall(r"[^.\[\]]+", path):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


def test_strict_json_replaces_and_lists_every_non_finite_number():
    from nnkit import strict_json

    data = {"a": float("nan"), "b": [1.0, float("inf"), {"c": -float("inf")}],
            "d": np.float32("nan"), "e": 2.5, "f": None}
    text = strict_json.dumps(data)
    parsed = json.loads(text, parse_constant=lambda c: pytest.fail(f"not JSON: {c}"))
    assert parsed["non_finite"] == {"a": "nan", "b[1]": "inf", "b[2].c": "-inf", "d": "nan"}
    assert parsed["a"] is None and parsed["b"] == [1.0, None, {"c": None}] and parsed["e"] == 2.5
