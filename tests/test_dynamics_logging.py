"""logging.dynamics in nnkit run and nnkit.watch: the tags on their schedule, the values
equal nnkit.dynamics on the same weights and probe batch, the edge-of-stability finding."""

import keras
import numpy as np
import pytest

import nnkit
from nnkit import dynamics
from nnkit.config import ConfigError, as_config, load_config
from nnkit.config.dynamics import Dynamics
from nnkit.training.build import build_experiment

from event_files import read_tags

FULL_BATCH = {
    "experiment": {"name": "dyn", "seed": 5},
    "data": {"name": "moons", "n_samples": 120, "validation_split": 0.0, "test_split": 0.0},
    "model": {"architecture": "mlp", "depth": 2, "units": 8, "activation": "tanh"},
    "optimizer": {"name": "sgd", "learning_rate": 0.5},
    "training": {"epochs": 12, "mode": "batch"},
    "logging": {"histogram_every_n_steps": 0,
                "dynamics": {"tier": "full", "sharpness_every_n_steps": 4,
                             "hessian_trace_every_n_steps": 4, "probe_samples": 120}},
}


def _run(tmp_path, **changes):
    config = {**FULL_BATCH, **changes,
              "experiment": {**FULL_BATCH["experiment"], "log_dir": str(tmp_path / "logs")}}
    result = nnkit.run(config)
    return result, read_tags(result.run_dir / "train"), config


def _initial_problem(config):
    """The run's model at initialisation and its probe batch, built again from the config."""
    experiment = build_experiment(as_config(config))
    x, y = experiment.probe_batch(120)
    return experiment, x, y


def test_tags_follow_the_schedule_and_step_zero_equals_the_initial_model(tmp_path):
    result, tags, config = _run(tmp_path)
    assert sorted(tags["sharpness"]) == [0, 4, 8]
    assert sorted(tags["hessian_trace"]) == [0, 4, 8]
    assert sorted(tags["gradient_noise/trace_sigma"]) == [0, 10]  # the tier's 10
    assert sorted(tags["effective_rank"]) == [0]  # the tier's 100
    assert {t for t in tags if t.startswith("gsnr/")} == {
        "gsnr/h01_dense", "gsnr/h02_dense", "gsnr/output"}
    assert all(float(v) == pytest.approx(2 / 0.5) for v in tags["sharpness_limit"].values())
    experiment, x, y = _initial_problem(config)
    loss = keras.losses.get(experiment.loss_name)
    model = experiment.network
    assert float(tags["sharpness"][0]) == pytest.approx(
        dynamics.sharpness(model, x, y, loss, iterations=20, seed=0), rel=1e-4)
    noise = dynamics.gradient_noise_scale(model, x, y, loss)
    assert float(tags["gradient_noise/trace_sigma"][0]) == pytest.approx(noise.trace_sigma,
                                                                         rel=1e-4)
    assert float(tags["gsnr/output"][0]) == pytest.approx(noise.gsnr["output"], rel=1e-4)
    assert float(tags["probe_loss"][0]) == pytest.approx(
        float(dynamics.Objective(model, x, y, loss)()), rel=1e-5)
    assert result.metrics["diagnosis_checked"]["sharpness_steps"] == 3


def _initial_sharpness(tmp_path):
    _, tags, _ = _run(tmp_path / "probe", training={"epochs": 1, "mode": "batch"})
    return float(tags["sharpness"][0])


def test_edge_of_stability_fires_when_sharpness_nears_two_over_eta(tmp_path):
    sharpness = _initial_sharpness(tmp_path)
    at_edge, _, _ = _run(tmp_path / "edge", optimizer={"name": "sgd",
                                                       "learning_rate": 1.95 / sharpness})
    found = [f for f in at_edge.findings if f["kind"] == "edge_of_stability"]
    assert found and found[0]["first_step"] == 0 and found[0]["peak"] >= 0.9
    assert "stability limit" in found[0]["message"]
    below, _, _ = _run(tmp_path / "below", optimizer={"name": "sgd",
                                                      "learning_rate": 0.5 / sharpness})
    assert not [f for f in below.findings if f["kind"] == "edge_of_stability"]


def test_adam_logs_the_preconditioned_sharpness_against_38_over_eta(tmp_path):
    _, tags, _ = _run(tmp_path, optimizer={"name": "adam", "learning_rate": 0.01})
    assert sorted(tags["preconditioned_sharpness"]) == [4, 8]  # step 0: no second moments
    assert float(tags["sharpness_limit"][4]) == pytest.approx(38 / 0.01, rel=1e-6)


def test_watch_runs_the_dynamics_on_a_users_model(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 5)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="probe_data"):
        nnkit.watch(model, tmp_path / "w", dynamics="full")
    callback = nnkit.watch(model, tmp_path / "w", dynamics={"tier": "full",
                                                             "sharpness_every_n_steps": 2},
                           probe_data=(x, y), verbose=False)
    model.fit(x, y, batch_size=16, epochs=1, callbacks=[callback], verbose=0)
    tags = read_tags(tmp_path / "w" / "train")
    assert sorted(tags["sharpness"]) == [0, 2]
    # step 0 was measured before watch made its diagnosis (on the first step): fed later
    assert callback.diagnosis.coverage["sharpness_steps"] == 2
    assert float(tags["sharpness_limit"][0]) == pytest.approx(20.0, rel=1e-6)
    assert "gradient_noise_scale" in tags or "gradient_noise/signal" in tags


def test_dynamics_config_tiers_shorthand_and_errors(write_config):
    assert Dynamics.model_validate("economy").schedule() == {"gradient_noise": 10,
                                                             "effective_rank": 100}
    assert Dynamics.model_validate({"tier": "full", "hessian_trace_every_n_steps": 0}
                                   ).schedule() == {"gradient_noise": 10, "effective_rank": 100,
                                                    "sharpness": 100}
    path = write_config("logging:\n  dynamics:\n    tier: premium\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert "config.yaml:3:" in message and "logging.dynamics.tier" in message and "full" in message


def _conv_model(regularizer=None):
    inputs = keras.Input((6,))
    h = keras.layers.Dense(16, activation="tanh", name="first",
                           kernel_regularizer=regularizer)(inputs)
    h = keras.layers.Reshape((4, 4))(h)
    h = keras.layers.Conv1D(3, 2, activation="relu", name="conv")(h)
    h = keras.layers.Flatten()(h)
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax", name="output")(h))


@pytest.mark.parametrize("regularized", [False, True])
def test_noise_from_the_training_step_equals_the_batch_measured_apart(tmp_path, regularized):
    """gradient_noise_on: batch takes the statistics from the step's own backward pass; they
    equal nnkit.dynamics on the same batch in training mode at the same weights (learning
    rate 0: the weights stay). With an L2 kernel regularizer the step's noise is the data
    term's: equal to the same model without it."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 6)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    model = _conv_model(keras.regularizers.L2(0.1) if regularized else None)
    plain = _conv_model()
    plain.set_weights(model.get_weights())
    model.compile(keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy")
    reference = dynamics.gradient_noise_scale(plain, x, y, "sparse_categorical_crossentropy",
                                              training=True)
    callback = nnkit.watch(model, tmp_path / "w", probe_data=(x, y), verbose=False, dynamics={
        "tier": "economy", "gradient_noise_every_n_steps": 1, "gradient_noise_on": "batch"})
    model.fit(x, y, batch_size=64, epochs=2, callbacks=[callback], verbose=0, shuffle=False)
    tags = read_tags(tmp_path / "w" / "train")
    assert sorted(tags["gradient_noise/trace_sigma"]) == [0, 1] and "probe_loss" not in tags
    for step in (0, 1):
        assert float(tags["gradient_noise/trace_sigma"][step]) == pytest.approx(
            reference.trace_sigma, rel=1e-4)
        assert float(tags["gradient_noise_scale"][step]) == pytest.approx(reference.b_simple,
                                                                          rel=1e-3)
        for layer in ("first", "conv", "output"):
            assert float(tags[f"gsnr/{layer}"][step]) == pytest.approx(reference.gsnr[layer],
                                                                       rel=1e-3)
    assert float(tags["batch_loss"][0]) == pytest.approx(float(dynamics.Objective(
        model, x, y, "sparse_categorical_crossentropy", training=True)()), rel=1e-5)


def test_noise_on_batch_falls_back_to_the_probe_without_nnkits_step(tmp_path):
    """logging.instrument: false trains with Keras' own step, which measures nothing: the
    callback sees no statistics after the first due step and measures on the probe."""
    _, tags, _ = _run(tmp_path, logging={
        "instrument": False, "dynamics": {"tier": "economy", "gradient_noise_every_n_steps": 4,
                                          "gradient_noise_on": "batch", "probe_samples": 64}})
    assert sorted(tags["probe_loss"]) == [4, 8]  # step 0 found the step silent
    _, tags, _ = _run(tmp_path / "on", logging={
        "dynamics": {"tier": "economy", "gradient_noise_every_n_steps": 4,
                     "gradient_noise_on": "batch", "probe_samples": 64}})
    assert sorted(tags["batch_loss"]) == [0, 4, 8] and "probe_loss" not in tags


def test_a_batch_that_runs_no_step_is_not_measured_again(tmp_path):
    """A resumed run fast-forwards over the batches before its checkpoint: Keras calls the
    callbacks for them, but the step number stays. Each step is measured once, and the
    in-step noise is not taken for a step that is not nnkit's."""
    from nnkit.config.dynamics import Dynamics
    from nnkit.dynamics.callback import DynamicsCallback

    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 5)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    model.optimizer.build(model.trainable_variables)
    callback = DynamicsCallback(tmp_path, x, y, Dynamics(tier="full"),
                                schedule={"sharpness": 1})
    callback.set_model(model)
    for _ in range(3):  # three batches, no step between them
        callback.on_train_batch_begin(0)
    callback.on_train_end()
    assert sorted(read_tags(tmp_path / "train")["sharpness"]) == [0]
    from event_files import summary_values
    assert sum(tag == "sharpness" for _, tag, _, _ in summary_values(tmp_path)) == 1
