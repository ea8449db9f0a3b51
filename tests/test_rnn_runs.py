"""``architecture: rnn`` from YAML: every cell builds, trains, saves and reloads, logs its
gradient through time, and the diagnosis names vanishing through time."""

import json

import keras
import numpy as np
import pytest

from nnkit.cli import main
from nnkit.config import load_config
from nnkit.training.build import build_experiment, compile_model

from event_files import summary_values


def _config(cell, length=12, **model):
    return {"experiment": {"name": f"rnn-{cell}", "seed": 4},
            "data": {"name": "adding", "n_samples": 160, "length": length},
            "model": {"architecture": "rnn", "cell": cell, "units": 8, "layers": 2, **model},
            "optimizer": {"name": "adam", "learning_rate": 0.01, "global_clipnorm": 1.0},
            "training": {"epochs": 1, "batch_size": 32},
            "logging": {"preflight": False}}


@pytest.mark.parametrize("cell", ["simple", "lstm", "gru"])
def test_each_cell_trains_one_epoch_logs_through_time_and_reloads(cell, write_config,
                                                                   tmp_path):
    path = write_config(_config(cell))
    assert main(["run", str(path), "--logdir", str(tmp_path / "logs"), "--quiet"]) == 0
    (run_dir,) = (tmp_path / "logs" / f"rnn-{cell}").iterdir()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert np.isfinite(metrics["train"]["loss"])
    series = {(tag, step): value for _, tag, step, value in summary_values(run_dir / "train")
              if tag.startswith("through_time/")}
    keys = {tag for tag, _ in series}
    assert keys == {f"through_time/h01_{cell}", f"through_time/h02_{cell}"}
    assert len(series) == 2 * 4  # both layers, every one of the 4 steps (160 × 0.7 / 32)
    model = keras.models.load_model(run_dir / "model.keras", safe_mode=True)
    assert model.get_layer(f"h02_{cell}").units == 8
    data = build_experiment(load_config(path)).dataset  # the same split, from the seed
    mse = float(np.mean((model.predict(data.x_test, verbose=0)[:, 0] - data.y_test) ** 2))
    np.testing.assert_allclose(mse, metrics["test"]["loss"], rtol=1e-5)


def test_clipping_settings_reach_the_optimizer(write_config):
    config = _config("gru")
    for key, value in (("clipvalue", 0.5), ("global_clipnorm", 2.0), ("clipnorm", 1.5)):
        optimizer = dict(config["optimizer"])
        optimizer.pop("global_clipnorm")
        optimizer[key] = value
        experiment = build_experiment(load_config(write_config({**config,
                                                                "optimizer": optimizer})))
        compile_model(experiment, experiment.network)
        assert getattr(experiment.network.optimizer, key) == value


def _through_time_findings(config, write_config, tmp_path) -> list[dict]:
    path = write_config(config)
    assert main(["run", str(path), "--logdir", str(tmp_path / config["experiment"]["name"]),
                 "--quiet"]) == 0
    (run_dir,) = (tmp_path / config["experiment"]["name"]).rglob("metrics.json")
    return [f for f in json.loads(run_dir.read_text())["diagnosis"]
            if f["kind"].endswith("_through_time")]


def test_the_diagnosis_names_vanishing_through_time(write_config, tmp_path):
    """A simple RNN whose recurrent weights are small (std 0.05: ‖U‖ ≈ 0.05·√8·2 ≈ 0.3)
    shrinks the gradient by ≈ 3× a step: over 30 steps far below the 1e-2 threshold; an
    LSTM over 4 steps does not reach it (≈ 1.4× a step at initialisation)."""
    small = {"name": "random_normal", "stddev": 0.05}
    found = _through_time_findings(
        _config("simple", length=30, layers=1, recurrent_initializer=small), write_config,
        tmp_path)
    assert [f["kind"] for f in found] == ["vanishing_through_time"]
    assert found[0]["layer"] == "h01_simple" and found[0]["peak"] < 1e-2
    assert _through_time_findings(_config("lstm", length=4, layers=1), write_config,
                                  tmp_path) == []


@pytest.mark.parametrize("model", [
    {"architecture": "rnn", "cell": "gru", "units": 8},
    pytest.param({"architecture": "transformer", "blocks": 1, "width": 8, "heads": 2},
                 marks=pytest.mark.slow),  # per-position outputs: also the token tests
], ids=["rnn", "transformer"])
def test_a_label_per_step_gets_an_output_per_step(model, write_config, tmp_path):
    """The copy task labels every step: the recurrent net returns every hₜ to the output
    layer, the Transformer skips the pooling; both train and log."""
    path = write_config({"experiment": {"name": "copy", "seed": 1},
                         "data": {"name": "copy", "n_samples": 120, "symbols": 2, "delay": 3},
                         "model": model, "training": {"epochs": 1, "batch_size": 32},
                         "logging": {"preflight": False}})
    assert main(["run", str(path), "--logdir", str(tmp_path), "--quiet"]) == 0
    (run_dir,) = (tmp_path / "copy").iterdir()
    network = keras.models.load_model(run_dir / "model.keras", safe_mode=True)
    assert network.output.shape[1:] == (7, 9)  # 2K + T steps, 8 symbols and the blank
    assert np.isfinite(json.loads((run_dir / "metrics.json").read_text())["test"]["loss"])
