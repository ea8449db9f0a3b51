"""Per-layer instrumentation: tags, values, dead units, symmetry, diagnosis."""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import nnkit
from nnkit import instrument
from nnkit.config import load_config
from nnkit.config.schema import Logging
from nnkit.instrument import statistics
from nnkit.training import TrainingModel, run

from event_files import read_tags


LoggingConfig = Logging(every_n_steps=1, histogram_every_n_steps=1, per_variable=True)


def _known_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((3,))
    h = nnkit.layers.Dense(4, name="h01_dense")(inputs)
    h = nnkit.layers.Activation("relu", name="h01_activation")(h)
    outputs = nnkit.layers.Dense(1, name="output")(h)
    return TrainingModel(inputs, outputs)


def test_logged_norms_equal_norms_recomputed_independently(tmp_path):
    x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    y = np.random.default_rng(1).normal(size=(8, 1)).astype("float32")
    model = _known_model()
    reference = keras.models.clone_model(keras.Model(model.inputs, model.outputs))
    reference.set_weights(model.get_weights())
    with tf.GradientTape() as tape:
        loss = keras.losses.MeanSquaredError()(y, reference([x]))
    gradients = tape.gradient(loss, reference.trainable_variables)
    lr = 0.1
    callback = instrument.attach(model, LoggingConfig, tmp_path)
    model.compile(nnkit.optimizers.SGD(lr), "mse")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[callback], shuffle=False)
    tags = read_tags(tmp_path / "train")
    kernel_grad, bias_grad = (np.asarray(g) for g in gradients[:2])
    np.testing.assert_allclose(tags["grad_norm/h01_dense/kernel"][0],
                               np.linalg.norm(kernel_grad), rtol=1e-5)
    np.testing.assert_allclose(tags["grad_norm/h01_dense/bias"][0],
                               np.linalg.norm(bias_grad), rtol=1e-5)
    layer_norm = np.sqrt(np.sum(kernel_grad ** 2) + np.sum(bias_grad ** 2))
    np.testing.assert_allclose(tags["grad_norm/h01_dense"][0], layer_norm, rtol=1e-5)
    np.testing.assert_allclose(
        tags["grad_norm/global"][0],
        np.sqrt(sum(np.sum(np.asarray(g) ** 2) for g in gradients)), rtol=1e-5)
    before = reference.get_weights()  # the weights the step's gradient was taken at
    weight_norm = np.sqrt(np.sum(before[0] ** 2) + np.sum(before[1] ** 2))
    np.testing.assert_allclose(tags["weight_norm/h01_dense"][0], weight_norm, rtol=1e-5)
    # SGD: ΔW = -η∇W, so the update ratio is η‖∇‖ / ‖W before the step‖
    np.testing.assert_allclose(tags["update_ratio/h01_dense"][0],
                               lr * layer_norm / weight_norm, rtol=1e-4)
    np.testing.assert_allclose(tags["learning_rate"][0], lr, rtol=1e-6)
    hidden = np.maximum(x @ reference.get_weights()[0] + reference.get_weights()[1], 0)
    np.testing.assert_allclose(tags["activation_mean/h01_activation"][0], hidden.mean(),
                               rtol=1e-5)
    np.testing.assert_allclose(tags["dead_fraction/h01_activation"][0],
                               np.mean(~np.any(hidden > 0, axis=0)), atol=1e-7)
    assert tags["distinct_units/h01_dense"][0] == 4


def test_every_n_steps_and_histogram_steps(tmp_path):
    Every = Logging(every_n_steps=3, histogram_every_n_steps=5)
    x = np.zeros((40, 3), "float32")
    model = _known_model()
    callback = instrument.attach(model, Every, tmp_path)
    model.compile(nnkit.optimizers.SGD(0.01), "mse")
    model.fit(x, np.zeros((40, 1)), batch_size=4, epochs=1, verbose=0, callbacks=[callback])
    tags = read_tags(tmp_path / "train")
    assert sorted(tags["grad_norm/global"]) == [0, 3, 6, 9]
    assert sorted(tags["dead_fraction/h01_activation"]) == [0, 5]


def test_weights_every_n_logged_steps_and_per_variable_tags_off_by_default(tmp_path):
    Every = Logging(every_n_steps=2, weights_every_n_logged=3, histogram_every_n_steps=0)
    model = _known_model()
    callback = instrument.attach(model, Every, tmp_path)
    model.compile(nnkit.optimizers.SGD(0.01), "mse")
    model.fit(np.ones((52, 3), "float32"), np.zeros((52, 1)), batch_size=2, epochs=1,
              verbose=0, callbacks=[callback])
    tags = read_tags(tmp_path / "train")
    assert sorted(tags["grad_norm/h01_dense"]) == list(range(0, 26, 2))
    assert sorted(tags["weight_norm/h01_dense"]) == [0, 6, 12, 18, 24]
    assert sorted(tags["update_ratio/output"]) == [0, 6, 12, 18, 24]
    assert not [t for t in tags if t.count("/") == 2]  # no grad_norm/<layer>/kernel


def test_scalar_summaries_encoded_from_a_template_parse_as_tensorboard_reads_them():
    """Varint lengths over 127 (a long tag, the metadata), NaN and extreme floats survive."""
    from tensorboard.compat.proto import summary_pb2

    from nnkit.instrument.summaries import ScalarWriter

    tags = ["a", "grad_norm/" + "x" * 300, "learning_rate"]
    values = np.array([[1.5, np.nan, -3e38], [0.1, np.inf, 1e-45]], "float32")
    encoded = ScalarWriter(tags).encode(values, first=True)
    for row, (summary, expected) in enumerate(zip(encoded, values)):
        parsed = summary_pb2.Summary.FromString(summary)
        assert [v.tag for v in parsed.value] == tags
        got = np.array([v.tensor.float_val[0] for v in parsed.value], "float32")
        np.testing.assert_array_equal(got, expected)
        assert all(v.tensor.dtype == 1 and not v.tensor.tensor_shape.dim for v in parsed.value)
        plugins = {v.metadata.plugin_data.plugin_name for v in parsed.value}
        assert plugins == ({"scalars"} if row == 0 else {""})  # metadata on the first row only


def test_scalar_rows_are_written_when_full_and_at_the_epoch_end(tmp_path):
    """The compiled step stores scalar rows; a full store is written out before the next
    row, so every step arrives once, with its value, whatever the capacity."""
    from nnkit.instrument.summaries import ScalarRows

    x = np.random.default_rng(0).normal(size=(44, 3)).astype("float32")
    model = _known_model()
    callback = instrument.attach(model, Logging(every_n_steps=1, histogram_every_n_steps=0),
                                 tmp_path)
    model.recorder.scalar_rows = ScalarRows(model.recorder.scalar_rows.width, capacity=4)
    model.compile(nnkit.optimizers.SGD(0.1), "mse")
    model.fit(x, np.ones((44, 1)), batch_size=4, epochs=2, verbose=0, callbacks=[callback],
              shuffle=False)  # 11 steps an epoch: flushes when full and at each epoch's end
    lr = read_tags(tmp_path / "train")["learning_rate"]
    assert sorted(lr) == list(range(22))
    assert all(float(v) == pytest.approx(0.1) for v in lr.values())
    norms = read_tags(tmp_path / "train")["grad_norm/global"]
    assert len(set(float(v) for v in norms.values())) > 1, "each step's own value"


def test_dead_fraction_on_constructed_cases():
    out = tf.constant([[0.0, 1.0, -2.0], [0.0, 0.0, -1.0], [0.0, 3.0, -0.5]])
    assert float(statistics.dead_fraction(out)) == pytest.approx(2 / 3)
    assert float(statistics.dead_fraction(tf.ones((5, 4)))) == 0.0


def test_distinct_units_counts_identical_columns():
    assert int(statistics.distinct_units(tf.fill((6, 5), 0.3))) == 1
    kernel = tf.constant(np.random.default_rng(0).normal(size=(6, 5)), tf.float32)
    assert int(statistics.distinct_units(kernel)) == 5
    paired = tf.concat([kernel[:, :2], kernel[:, :2], kernel[:, 2:3]], axis=1)
    assert int(statistics.distinct_units(paired)) == 3


def _run(tiny_config, overrides):
    config = load_config(tiny_config, overrides)
    return run(config, verbose=0)


def _kinds(result):
    return {f["kind"] for f in result.metrics["diagnosis"]}


@pytest.mark.filterwarnings("error:Model doesn't support `jit_compile=True`")
def test_xla_compiled_steps_log_what_uncompiled_ones_do(tiny_config):
    """With ``training.jit_compile`` the scalar steps run under XLA and the histogram steps
    (summaries cannot be written from XLA) without it: same tags, same values up to XLA's
    reordering of float32 sums (relative 1e-7 per operation, far below 1e-4 here). Keras
    silently drops XLA while op determinism is on, which an earlier test of the process may
    have switched on: switched off here, and Keras' fallback warning fails the test."""
    from tensorflow.python.framework.config import disable_op_determinism

    disable_op_determinism()
    overrides = ["logging.histogram_every_n_steps=4", "logging.weights_every_n_logged=1",
                 "training.epochs=1"]
    tags = [read_tags(_run(tiny_config, overrides + [f"training.jit_compile={jit}"]).run_dir
                      / "train") for jit in ("false", "true")]
    assert tags[0].keys() == tags[1].keys()
    scalars = [t for t in tags[0] if t.startswith(("grad_norm/", "weight_norm/", "update_"))]
    assert len(scalars) > 5
    for name in scalars:
        steps = sorted(tags[0][name])
        assert len(steps) > 4 and sorted(tags[1][name]) == steps
        np.testing.assert_allclose([tags[1][name][s] for s in steps],
                                   [tags[0][name][s] for s in steps], rtol=1e-4, err_msg=name)
    dead = [t for t in tags[0] if t.startswith("dead_fraction/")]
    assert dead and all(sorted(tags[1][t]) == sorted(tags[0][t]) for t in dead)


def test_all_negative_pre_activations_are_dead_and_diagnosed(tiny_config):
    result = _run(tiny_config, ["model.bias_initializer={name: constant, value: -100.0}",
                                "model.depth=1", "logging.histogram_every_n_steps=1",
                                "training.epochs=1"])
    assert "dying_relu" in _kinds(result)
    tags = read_tags(result.run_dir / "train")
    assert all(v == 1.0 for v in tags["dead_fraction/h01_activation"].values())


def test_constant_initialisation_keeps_one_distinct_unit(tiny_config):
    result = _run(tiny_config, ["model.kernel_initializer={name: constant, value: 0.3}",
                                "model.activation=tanh", "training.epochs=3",
                                "logging.histogram_every_n_steps=5"])
    tags = read_tags(result.run_dir / "train")
    assert all(v == 1 for v in tags["distinct_units/h01_dense"].values())
    symmetric = [f for f in result.metrics["diagnosis"] if f["kind"] == "symmetric_layer"]
    assert {f["layer"] for f in symmetric} >= {"h01_dense", "h02_dense"}
    random = _run(tiny_config, ["training.epochs=1"])
    assert "symmetric_layer" not in _kinds(random)


def test_healthy_relu_net_has_no_findings(tiny_config):
    result = _run(tiny_config, ["model.depth=3", "model.units=32", "model.activation=relu",
                                "model.kernel_initializer=he_normal", "training.epochs=2"])
    assert result.metrics["diagnosis"] == []
    assert (result.run_dir / "gradient_flow.png").stat().st_size > 1000


def test_non_finite_gradients_stop_the_run_and_name_the_layer(tiny_config, tmp_path):
    import json

    from nnkit.training import NonFiniteError

    config = load_config(tiny_config, ["optimizer={name: sgd, learning_rate: 1.0e+30}",
                                       "training.epochs=3"])
    with pytest.raises(NonFiniteError, match=r"gradient became NaN or infinite at step \d+ "
                                             r"in h\d+_\w+"):
        run(config, verbose=0)
    (run_dir,) = (tmp_path / "logs" / "tiny").iterdir()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "failed" and "at step" in metrics["error"]
    assert metrics["epochs_run"] == 1, "stopped in the first epoch"
    assert any(f["kind"] == "non_finite" for f in metrics["diagnosis"])
    assert not (run_dir / "model.keras").exists(), "a model with NaN weights is not saved"


def test_non_finite_exit_status_is_3_without_traceback(tiny_config, capsys):
    from nnkit.cli import main

    status = main(["run", str(tiny_config), "--quiet", "-o", "optimizer.learning_rate=1.0e+30",
                   "-o", "optimizer.name=sgd", "-o", "logging.instrument=false"])
    err = capsys.readouterr().err
    assert status == 3
    assert re.search(r"training stopped: the (loss|gradient) became NaN or infinite at step \d+",
                     err), err
    assert "Traceback" not in err


def test_instrumentation_can_be_switched_off(tiny_config):
    result = _run(tiny_config, ["logging.instrument=false", "training.epochs=1"])
    assert result.metrics["diagnosis"] is None
    assert not any("grad_norm" in tag for tag in read_tags(result.run_dir / "train"))


def test_histogram_rows_cover_the_values_and_count_them():
    from nnkit.instrument import summaries

    values = tf.constant([[-1.0, 0.0, 2.0], [3.0, float("nan"), 0.5]])
    rows = np.asarray(summaries.histogram(values))
    assert rows.shape == (summaries.BINS, 3)
    assert rows[0, 0] == -1.0 and rows[-1, 1] == pytest.approx(3.0)
    np.testing.assert_allclose(rows[1:, 0], rows[:-1, 1], rtol=1e-6)  # contiguous bins
    assert rows[:, 2].sum() == 6  # every value counted (NaN as 0)
    constant = np.asarray(summaries.histogram(tf.fill((4,), -0.001)))
    assert constant[:, 2].sum() == 4 and np.all(constant[:, 1] > constant[:, 0])


@pytest.mark.parametrize("magnitude", [1.0, 1e18, 1e30, 3e38])
def test_activation_statistics_do_not_overflow(magnitude):
    """Against float64 NumPy: relative 1e-5 (float32 sums over 4096 values)."""
    values = np.random.default_rng(0).normal(size=(64, 64)).astype("float32") * np.float32(
        magnitude / 4)
    values = np.clip(values, -3e38, 3e38)
    mean, std = (float(v) for v in statistics.mean_and_std(tf.constant(values)))
    reference = values.astype("float64")
    assert np.isfinite(mean) and np.isfinite(std)
    np.testing.assert_allclose([mean, std], [reference.mean(), reference.std()],
                               rtol=1e-5, atol=1e-5 * reference.std())


def test_a_non_finite_activation_is_not_a_number():
    values = tf.constant([1.0, float("nan"), 2.0])
    assert all(np.isnan(float(v)) for v in statistics.mean_and_std(values))
    assert [float(v) for v in statistics.mean_and_std(tf.zeros([3]))] == [0.0, 0.0]


def test_only_activations_that_are_zero_below_zero_can_die():
    from nnkit.instrument.plan import plan_layers
    from nnkit.layers import Activation, PReLU, RReLU

    inputs = keras.Input((4,))
    x = inputs
    for layer in [Activation("relu"), Activation("step"), Activation("leaky_relu"),
                  Activation("elu"), Activation("selu"), PReLU(), RReLU(),
                  keras.layers.ReLU(), keras.layers.ReLU(negative_slope=0.1),
                  Activation("relu", {"negative_slope": 0.1})]:
        x = layer(x)
    plans = plan_layers(keras.Model(inputs, keras.layers.Dense(1)(x)))[:-1]
    assert [p.can_die for p in plans] == [True, True, False, False, False, False, False,
                                          True, False, False]
    assert plans[-1].keeps_sign  # relu with a negative slope: logged as negative_fraction


def test_leaky_relu_at_a_high_rate_is_not_called_dying(tiny_config):
    result = _run(tiny_config, ["model.activation=leaky_relu", "optimizer.learning_rate=0.1",
                                "logging.histogram_every_n_steps=1", "training.epochs=3"])
    assert "dying_relu" not in _kinds(result)
    tags = read_tags(result.run_dir / "train")
    assert not any(t.startswith("dead_fraction/") for t in tags)
    negative = [t for t in tags if t.startswith("negative_fraction/")]
    assert negative and all(0 <= v <= 1 for t in negative for v in tags[t].values())


def test_weight_histograms_and_distinct_units_are_of_the_step_s_start(tiny_config):
    """Step 0's weight histogram is the initialisation's (as ‖W‖ is): against the initial
    kernel of the same seeded network, rebuilt, through the same histogram function."""
    from nnkit.instrument.summaries import histogram
    from nnkit.training import build_experiment

    config = load_config(tiny_config, ["logging.histogram_every_n_steps=1", "training.epochs=1",
                                       "optimizer.learning_rate=0.5"])
    initial = build_experiment(config).network.get_layer("h01_dense").kernel.numpy()
    result = run(config, verbose=0)
    (tag,) = [t for t in read_tags(result.run_dir / "train")
              if t.startswith("weights/") and t.endswith("h01_dense/kernel")]
    logged = read_tags(result.run_dir / "train")[tag]
    np.testing.assert_allclose(logged[0], histogram(initial).numpy(), rtol=1e-6)
    trained = result.model.get_layer("h01_dense").kernel.numpy()
    assert not np.allclose(histogram(trained).numpy(), logged[0]), "the weights moved"
