"""The pre-flight check (nnkit check, and step 0 of nnkit run): its numbers against direct
computations, its predictions against what the diagnosis finds once training runs."""

import json

import numpy as np
import pytest
import tensorflow as tf

import nnkit
from nnkit.cli import main
from nnkit.config import as_config
from nnkit.dynamics.preflight import check_experiment
from nnkit.training.build import build_experiment

DEEP = {"experiment": {"name": "pre", "seed": 2},
        "data": {"name": "digits"},
        "model": {"architecture": "mlp", "depth": 10, "units": 32},
        "optimizer": {"name": "sgd", "learning_rate": 0.01},
        "training": {"epochs": 2, "batch_size": 64},
        "logging": {"histogram_every_n_steps": 10}}


def _model(**model):
    return {**DEEP, "model": {**DEEP["model"], **model}}


def test_gradient_span_is_the_fitted_trend_of_relative_kernel_gradients():
    experiment = build_experiment(as_config(_model(activation="sigmoid")))
    result = check_experiment(experiment)
    x, y = experiment.probe_batch(256)
    from nnkit import losses

    model = experiment.network
    kernels = [layer.kernel for layer in model.layers if hasattr(layer, "kernel")]
    with tf.GradientTape() as tape:
        value = losses.build("auto", "multiclass")(y, model(x, training=False))
    relative = [float(tf.norm(g) / tf.norm(k)) for g, k in zip(tape.gradient(value, kernels),
                                                               kernels)]
    slope = np.polyfit(np.arange(len(relative)), np.log10(relative), 1)[0]
    assert result.gradient_span == pytest.approx(10 ** (-slope * (len(relative) - 1)), rel=1e-3)
    assert result.problems == ["vanishing_gradients"]


def test_predictions_match_what_the_diagnosis_finds_in_training(tmp_path):
    """A deep sigmoid net is predicted to vanish and the run's diagnosis finds it; ReLU with
    He initialisation is predicted healthy and the diagnosis finds no vanishing either."""
    for model, predicted in (({"activation": "sigmoid"}, True),
                             ({"activation": "relu", "kernel_initializer": "he_normal"}, False)):
        config = {**_model(**model), "experiment": {**DEEP["experiment"],
                                                    "log_dir": str(tmp_path)}}
        result = nnkit.run(config, verbose=0)
        preflight = result.metrics["preflight"]
        assert ("vanishing_gradients" in preflight["problems"]) is predicted
        found = {f["kind"] for f in result.findings}
        assert ("vanishing_gradients" in found) is predicted


def test_constant_initialisation_is_predicted_symmetric():
    result = check_experiment(build_experiment(as_config(_model(
        depth=3, activation="relu", kernel_initializer={"name": "constant", "value": 0.1}))))
    assert "symmetric_layer" in result.problems
    assert "h01_dense" in result.symmetric


def test_exploding_tanh_with_unit_variance_weights():
    result = check_experiment(build_experiment(as_config(_model(
        activation="tanh", kernel_initializer={"name": "random_normal", "stddev": 1.0}))))
    assert "exploding_gradients" in result.problems
    assert result.jacobian_max > 100


def test_check_command_exit_status_and_output(write_config, capsys):
    healthy = write_config(_model(activation="relu", kernel_initializer="he_normal"), "ok.yaml")
    assert main(["check", str(healthy)]) == 0
    out = capsys.readouterr().out
    assert "predicted: no vanishing or exploding" in out and "jacobian" in out
    sick = write_config(_model(activation="sigmoid"), "sick.yaml")
    assert main(["check", str(sick)]) == 1
    assert "the gradient vanishes toward the input" in capsys.readouterr().out
    bad = write_config({"model": {"depht": 3}}, "bad.yaml")
    assert main(["check", str(bad)]) == 2
    assert "did you mean 'depth'" in capsys.readouterr().err


def test_preflight_can_be_turned_off(tmp_path):
    config = {**_model(depth=2), "experiment": {**DEEP["experiment"], "log_dir": str(tmp_path)},
              "logging": {"preflight": False}}
    result = nnkit.run(config, verbose=0)
    assert "preflight" not in json.loads((result.run_dir / "metrics.json").read_text())
