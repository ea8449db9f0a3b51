"""nnkit.watch on users' own Keras models: every logged norm against a tape on the same batch.

Each model kind takes one full-batch SGD step under ``fit`` with the watch callback; the
reference gradients come from ``tf.GradientTape`` on the same batch at the same weights
(float32: the norms agree to rounding, rtol 1e-5; under mixed precision the float16
forward pass leaves ~1e-3 relative error, so rtol 2e-2).
"""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import nnkit

from event_files import read_tags

RNG = np.random.default_rng(0)


class Block(keras.layers.Layer):
    """A block inside a layer: two dense layers, the first with a fused ReLU."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.first = keras.layers.Dense(units, activation="relu", name="first")
        self.second = keras.layers.Dense(units, name="second")

    def call(self, x):
        return self.second(self.first(x))


class Subclassed(keras.Model):
    def __init__(self):
        super().__init__(name="subclassed")
        self.encoder = Block(6, name="encoder")
        self.head = keras.layers.Dense(3, name="head")

    def call(self, x):
        return self.head(self.encoder(x))


def sequential():
    return keras.Sequential([keras.Input((5,)), keras.layers.Dense(6, activation="tanh"),
                             keras.layers.Dense(3)], name="seq")


def functional_nested():
    inner = keras.Sequential([keras.Input((6,)), keras.layers.Dense(6, activation="relu"),
                              keras.layers.Dense(6)], name="inner")
    inputs = keras.Input((5,))
    x = keras.layers.Dense(6, name="stem")(inputs)
    x = inner(x)
    return keras.Model(inputs, keras.layers.Dense(3, name="head")(x))


def shared_layer():
    inputs = keras.Input((5,))
    shared = keras.layers.Dense(5, activation="relu", name="shared")
    x = shared(shared(inputs))  # the same kernel used twice
    return keras.Model(inputs, keras.layers.Dense(3, name="head")(x))


def conv_fused_relu():
    inputs = keras.Input((6, 6, 2))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(3, name="head")(x))


def lstm():
    inputs = keras.Input((4, 5))
    x = keras.layers.LSTM(6, name="lstm")(inputs)
    return keras.Model(inputs, keras.layers.Dense(3, name="head")(x))


def attention():
    inputs = keras.Input((4, 5))
    x = keras.layers.MultiHeadAttention(2, 3, name="mha")(inputs, inputs)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(3, name="head")(x))


def embedding():
    inputs = keras.Input((6,), dtype="int32")
    x = keras.layers.Embedding(10, 4, name="embedding")(inputs)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(3, name="head")(x))


def _inputs(kind, n=16):
    if kind is embedding:
        return RNG.integers(0, 4, size=(n, 6)).astype("int32")  # few tokens: repeated rows
    shape = {conv_fused_relu: (6, 6, 2), lstm: (4, 5), attention: (4, 5)}.get(kind, (5,))
    return RNG.normal(size=(n, *shape)).astype("float32")


KINDS = [sequential, functional_nested, Subclassed, shared_layer, conv_fused_relu, lstm,
         attention, embedding]


def _watched_step(model, x, y, log_dir, **options):
    """(weights before, tape gradients, weights after) around one full-batch fit step."""
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss)
    model(x[:1])  # built, so the reference sees the weights the step starts from
    before = [v.numpy() for v in model.trainable_variables]
    with tf.GradientTape() as tape:
        value = loss(y, model(x, training=True))
    gradients = [tf.convert_to_tensor(g).numpy()
                 for g in tape.gradient(value, model.trainable_variables)]
    options = {"per_variable": True, **options}  # each variable's norm against the tape's
    callback = nnkit.watch(model, log_dir, histogram_every_n_steps=1, verbose=False, **options)
    model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0,
              callbacks=[callback])
    after = [v.numpy() for v in model.trainable_variables]
    return before, gradients, after, callback


def _variable_tags(model, log_dir):
    """{variable index: (layer key, variable name)} from layers.json and the plan, checked
    against the variables' own paths (the tag names where the variable sits)."""
    layers = json.loads((log_dir / "layers.json").read_text())["layers"]
    plans = {p.key: p for p in callback_plans(model)}
    found = {}
    for row in layers:
        for name, index in plans[row["key"]].variables:
            assert index not in found, "a variable is logged twice"
            found[index] = (row["key"], name)
            path = model.trainable_variables[index].path
            assert path.endswith(f"{row['key']}/{name}") or row["key"] in path, path
    assert sorted(found) == list(range(len(model.trainable_variables)))
    return found


def callback_plans(model):
    return model.__dict__["_nnkit_watch"].recorder.plans


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
def test_every_logged_norm_equals_a_tape_on_the_same_batch(kind, tmp_path):
    keras.utils.set_random_seed(1)
    model = kind()
    cls = type(model)
    x, y = _inputs(kind), RNG.integers(0, 3, size=16)
    before, gradients, after, _ = _watched_step(model, x, y, tmp_path)
    assert type(model) is cls and cls.train_step is keras.Model.train_step  # class untouched
    tags = read_tags(tmp_path / "train")
    names = _variable_tags(model, tmp_path)
    layers = {}
    for index, (key, name) in names.items():
        np.testing.assert_allclose(tags[f"grad_norm/{key}/{name}"][0],
                                   np.linalg.norm(gradients[index]), rtol=1e-5, atol=1e-9)
        layers.setdefault(key, []).append(index)
    for key, indices in layers.items():
        w = np.sqrt(sum(np.sum(before[i] ** 2) for i in indices))
        dw = np.sqrt(sum(np.sum((after[i] - before[i]) ** 2) for i in indices))
        g = np.sqrt(sum(np.sum(gradients[i] ** 2) for i in indices))
        np.testing.assert_allclose(tags[f"grad_norm/{key}"][0], g, rtol=1e-5, atol=1e-9)
        np.testing.assert_allclose(tags[f"weight_norm/{key}"][0], w, rtol=1e-5)
        np.testing.assert_allclose(tags[f"update_ratio/{key}"][0], dw / w, rtol=1e-4)
    # ΔW of SGD is -η g: the update ratio is η‖g‖/‖W‖ (a check of the update capture itself)
    total = np.sqrt(sum(np.sum(g ** 2) for g in gradients))
    np.testing.assert_allclose(tags["grad_norm/global"][0], total, rtol=1e-5)


def test_tags_are_unique_and_keys_are_paths_in_the_model(tmp_path):
    keras.utils.set_random_seed(1)
    model = Subclassed()
    x, y = _inputs(Subclassed), RNG.integers(0, 3, size=16)
    _watched_step(model, x, y, tmp_path)
    keys = [row["key"] for row in json.loads((tmp_path / "layers.json").read_text())["layers"]]
    assert keys == ["encoder/first", "encoder/second", "head"]
    recorder = model.__dict__["_nnkit_watch"].recorder
    for tags in (recorder.scalar_tags, recorder.histogram_tags, recorder.histogram_scalar_tags):
        assert len(tags) == len(set(tags))
    # a block's kernels each have a tag of their own (before: one tag, several values)
    assert {"grad_norm/encoder/first/kernel", "grad_norm/encoder/second/kernel"} <= set(
        read_tags(tmp_path / "train"))


def test_fused_activation_statistics_equal_recomputed_ones(tmp_path):
    keras.utils.set_random_seed(2)
    model = conv_fused_relu()
    x, y = _inputs(conv_fused_relu), RNG.integers(0, 3, size=16)
    # the statistics are of the step's own forward pass: at the weights before the update
    output = keras.Model(model.inputs, model.get_layer("conv").output)(x).numpy()
    _watched_step(model, x, y, tmp_path)
    tags = read_tags(tmp_path / "train")
    np.testing.assert_allclose(tags["activation_mean/conv"][0], output.mean(), rtol=1e-5)
    np.testing.assert_allclose(tags["activation_std/conv"][0], output.std(), rtol=1e-4)
    units_alive = (output.reshape(-1, output.shape[-1]) > 0).any(axis=0)
    np.testing.assert_allclose(tags["dead_fraction/conv"][0], 1 - units_alive.mean())


def test_shared_layer_statistics_cover_both_calls(tmp_path):
    keras.utils.set_random_seed(3)
    model = shared_layer()
    x, y = _inputs(shared_layer), RNG.integers(0, 3, size=16)
    model(x[:1])
    layer = model.get_layer("shared")
    first = layer(x).numpy()
    both = np.concatenate([first, layer(first).numpy()])
    _watched_step(model, x, y, tmp_path)
    tags = read_tags(tmp_path / "train")
    np.testing.assert_allclose(tags["activation_mean/shared"][0], both.mean(), rtol=1e-5)


def test_mixed_precision_logs_the_unscaled_gradients(tmp_path):
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        keras.utils.set_random_seed(4)
        model = sequential()
        x, y = _inputs(sequential), RNG.integers(0, 3, size=16)
        before, gradients, _, callback = _watched_step(model, x, y, tmp_path)
        assert type(model.optimizer).__name__ == "LossScaleOptimizer"
        assert float(model.optimizer.dynamic_scale.numpy()) > 1000  # the gradients were scaled
    finally:
        keras.mixed_precision.set_global_policy("float32")
    tags = read_tags(tmp_path / "train")
    for index, (key, name) in _variable_tags(model, tmp_path).items():
        np.testing.assert_allclose(tags[f"grad_norm/{key}/{name}"][0],
                                   np.linalg.norm(gradients[index]), rtol=2e-2)


def test_an_unbuilt_subclassed_model_is_planned_on_its_first_step(tmp_path):
    keras.utils.set_random_seed(5)
    model = Subclassed()
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    callback = nnkit.watch(model, tmp_path, verbose=False)  # before the model saw data
    x, y = _inputs(Subclassed, 64), RNG.integers(0, 3, size=64)
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[callback])
    tags = read_tags(tmp_path / "train")
    assert sorted(tags["grad_norm/head"]) == list(range(8))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["diagnosis_checked"]["epochs"] == 2
    nnkit.unwatch(model)
    assert "make_train_function" not in model.__dict__
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)  # Keras' own step again
    assert sorted(read_tags(tmp_path / "train")["grad_norm/head"]) == list(range(8))


def test_watch_refuses_what_it_cannot_instrument(tmp_path):
    class OwnStep(keras.Model):
        def train_step(self, data):
            return {}

    with pytest.raises(ValueError, match="overrides train_step"):
        nnkit.watch(OwnStep(), tmp_path)
    with pytest.raises(ValueError, match=r"nnkit.watch: every_n_steps: .*greater than 0"):
        nnkit.watch(sequential(), tmp_path, every_n_steps=0)
    with pytest.raises(ValueError, match="nnkit.watch: every_n_step: .*options: "):
        nnkit.watch(sequential(), tmp_path, every_n_step=2)
    with pytest.raises(ValueError, match="stop_on: unknown finding 'dead'"):
        nnkit.watch(sequential(), tmp_path, stop_on=["dead"])
    with pytest.raises(TypeError, match="expected a keras.Model"):
        nnkit.watch(keras.layers.Dense(3), tmp_path)
    assert not list(tmp_path.iterdir())  # nothing written


def test_watch_finds_what_nnkit_run_finds(tmp_path):
    """A deep sigmoid MLP of the user's own: the diagnosis sees its vanishing gradients."""
    keras.utils.set_random_seed(6)
    layers = [keras.Input((8,))]
    layers += [keras.layers.Dense(32, activation="sigmoid",
                                  kernel_initializer=keras.initializers.RandomNormal(0, 0.05))
               for _ in range(10)]
    model = keras.Sequential(layers + [keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = RNG.normal(size=(512, 8)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    callback = nnkit.watch(model, tmp_path, verbose=False)
    model.fit(x, y, batch_size=32, epochs=3, verbose=0, callbacks=[callback])
    assert "vanishing_gradients" in {f.kind for f in callback.findings}
    assert "vanishing" in callback.summary()


@pytest.mark.slow  # XLA compiles; test_instrument checks jit_compile for nnkit run
def test_jit_compiled_steps_log_the_same_norms(tmp_path):
    keras.utils.set_random_seed(7)
    model = functional_nested()
    x, y = _inputs(functional_nested), RNG.integers(0, 3, size=16)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss, jit_compile=True)
    model(x[:1])
    with tf.GradientTape() as tape:
        value = loss(y, model(x, training=True))
    gradients = tape.gradient(value, model.trainable_variables)
    callback = nnkit.watch(model, tmp_path, histogram_every_n_steps=2, per_variable=True,
                           verbose=False)
    model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0, callbacks=[callback])
    tags = read_tags(tmp_path / "train")
    np.testing.assert_allclose(tags["grad_norm/stem/kernel"][0],
                               np.linalg.norm(gradients[0].numpy()), rtol=1e-5)
    assert sorted(tags["grad_norm/stem/kernel"]) == [0, 1]  # the XLA step (1) logged too
    histogram_steps = {step for tag, rows in tags.items() if tag.startswith("activation_mean/")
                       for step in rows}
    assert histogram_steps == {0}  # step 0 compiled without XLA, for its summaries


@pytest.mark.slow  # two Keras Tuner trials, each traced and instrumented
def test_a_model_free_watch_instruments_each_keras_tuner_trial(tmp_path):
    import keras_tuner

    def build(hp):
        model = keras.Sequential([keras.Input((5,)),
                                  keras.layers.Dense(hp.Choice("units", [4, 8]),
                                                     activation="relu"),
                                  keras.layers.Dense(3)])
        model.compile(optimizer="adam",
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        return model

    tuner = keras_tuner.RandomSearch(build, objective="loss", max_trials=2, seed=1,
                                     directory=str(tmp_path / "kt"), project_name="p")
    x, y = _inputs(sequential, 64), RNG.integers(0, 3, size=64)
    tuner.search(x, y, epochs=1, batch_size=16, verbose=0,
                 callbacks=[nnkit.watch(tmp_path / "search", verbose=False)])
    folders = sorted(p.name for p in (tmp_path / "search").iterdir())
    assert folders == ["fit-001", "fit-002"]
    statuses = set()
    for folder in folders:
        tags = read_tags(tmp_path / "search" / folder / "train")
        assert sorted(tags["grad_norm/dense"]) == [0, 1, 2, 3]
        statuses.add(json.loads((tmp_path / "search" / folder / "metrics.json").read_text())[
            "status"])
    assert statuses == {"completed"}


MIRRORED = """
import json, sys
import numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras, nnkit
keras.utils.set_random_seed(0)
x = np.random.default_rng(0).normal(size=(32, 5)).astype("float32")
y = np.random.default_rng(1).integers(0, 3, size=32)
loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(6, activation="tanh"),
                              keras.layers.Dense(3)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss)
before = [v.numpy() for v in model.trainable_variables]
with tf.GradientTape() as tape:
    value = loss(y, model(x))
reference = [g.numpy() for g in tape.gradient(value, model.trainable_variables)]
callback = nnkit.watch(model, sys.argv[1], verbose=False)
model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0, callbacks=[callback])
update = [b - v.numpy() for b, v in zip(before, model.trainable_variables)]
print(json.dumps({"reference": float(np.sqrt(sum((g ** 2).sum() for g in reference))),
                  "applied": float(np.sqrt(sum((u ** 2).sum() for u in update)) / 0.1)}))
"""


def test_watch_under_mirrored_strategy_logs_the_global_batch_gradient(tmp_path):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", MIRRORED, str(tmp_path)], capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    logged = read_tags(tmp_path / "train")["grad_norm/global"][0]
    # the logged gradient is the whole batch's, and the applied update is η times it (the
    # replicas' gradients summed once: twice would double the step)
    np.testing.assert_allclose(logged, result["reference"], rtol=1e-5)
    np.testing.assert_allclose(result["applied"], result["reference"], rtol=1e-4)


def test_output_layers_are_predictions_not_hidden_signals():
    """A confident sigmoid head saturates by design: no statistics, so no saturation finding
    (functional: the output layers; subclassed: the last layer with weights)."""
    from nnkit.instrument.plan import plan_layers

    class Classifier(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = keras.layers.Dense(4, activation="tanh", name="hidden")
            self.out = keras.layers.Dense(1, activation="sigmoid", name="out")

        def call(self, x):
            return self.out(self.hidden(x))

    model = Classifier()
    model(np.zeros((1, 3), "float32"))
    inputs = keras.Input((3,))
    wrapped = keras.Model(inputs, Classifier()(inputs))
    for plans in (plan_layers(model), plan_layers(wrapped)):
        assert [(p.key.split("/")[-1], p.saturates) for p in plans] == [("hidden", "tanh"),
                                                                         ("out", None)]
