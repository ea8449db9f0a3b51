"""``architecture: transformer``: nnkit's attention against Keras' MultiHeadAttention, the
positional encoding against its formula, the per-head attention entropy against Keras'
attention scores, and the encoder from YAML (tokens and feature sequences, pre- and
post-LN): it trains, saves and reloads."""


import keras
import numpy as np
import pytest
import tensorflow as tf

import nnkit
from nnkit import layers
from nnkit.cli import main

from event_files import read_tags
from same_run import assert_reloaded_model_scores_as_logged


def _x(*shape, seed=0):
    return tf.constant(np.random.default_rng(seed).normal(size=shape).astype("float32"))


def _twins(heads=2, key_dim=4, causal=False, query=None, value=None):
    ours, theirs = layers.MultiHeadAttention(heads, key_dim, causal=causal), \
        keras.layers.MultiHeadAttention(heads, key_dim)
    ours(query, value)
    theirs(query, value if value is not None else query)
    assert [w.shape for w in ours.weights] == [w.shape for w in theirs.weights]
    rng = np.random.default_rng(5)
    weights = [w + 0.2 * rng.normal(size=w.shape).astype("float32")
               for w in theirs.get_weights()]  # biases off zero
    ours.set_weights(weights)
    theirs.set_weights(weights)
    return ours, theirs


@pytest.mark.parametrize("causal, cross", [(False, False), (True, False), (False, True)],
                         ids=["self", "causal", "cross"])
def test_attention_equals_keras_outputs_and_gradients(causal, cross):
    """Within 1e-5: float32 sums of a few dozen unit-scale products."""
    query = _x(3, 5, 8)
    value = _x(3, 7, 6, seed=1) if cross else None
    ours, theirs = _twins(causal=causal, query=query, value=value)
    sources = [query] + ([value] if cross else [])
    with tf.GradientTape(persistent=True) as tape:
        for s in sources:
            tape.watch(s)
        mine = ours(query, value)
        keras_out = theirs(query, value if cross else query, use_causal_mask=causal)
        losses = [tf.reduce_sum(tf.square(y)) for y in (mine, keras_out)]
    np.testing.assert_allclose(mine, keras_out, atol=1e-5)
    for a, b in zip(tape.gradient(losses[0], [*sources, *ours.trainable_weights]),
                    tape.gradient(losses[1], [*sources, *theirs.trainable_weights])):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_sinusoidal_encoding_is_the_papers_formula():
    x = tf.zeros((2, 6, 4))
    table = layers.PositionalEncoding("sinusoidal")(x)[0].numpy()
    for t in range(6):
        for i in range(2):
            angle = t / 10000 ** (2 * i / 4)
            assert table[t, 2 * i] == pytest.approx(np.sin(angle), abs=1e-6)
            assert table[t, 2 * i + 1] == pytest.approx(np.cos(angle), abs=1e-6)
    learned = layers.PositionalEncoding("learned", max_length=10)
    out = learned(x)
    np.testing.assert_allclose(out[1], learned.table.numpy()[:6])
    assert learned.trainable_weights


def test_logged_attention_entropy_equals_the_entropy_of_keras_scores(tmp_path):
    """Watched model, one step at learning rate 0 (a histogram step): the logged per-head
    entropy against −Σ A log A of Keras' own attention scores with the same weights."""
    x, y = _x(8, 5, 6), _x(8, 1, seed=3)
    inputs = keras.Input((5, 6))
    attention = layers.MultiHeadAttention(3, 2, name="attend")
    h = keras.layers.GlobalAveragePooling1D()(attention(inputs))
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    twin = keras.layers.MultiHeadAttention(3, 2)
    twin(x, x)
    weights = [w + 0.5 * np.random.default_rng(2).normal(size=w.shape).astype("float32")
               for w in twin.get_weights()]  # sharper than at initialisation
    attention.set_weights(weights)
    twin.set_weights(weights)
    model.compile(keras.optimizers.SGD(0.0), "mse")
    callback = nnkit.watch(model, tmp_path, verbose=False, histogram_every_n_steps=1)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[callback])
    tags = read_tags(tmp_path / "train")
    _, scores = twin(x, x, return_attention_scores=True)
    scores = scores.numpy()
    expected = (-(scores * np.log(scores)).sum(-1)).mean(axis=(0, 2))
    logged = [float(tags[f"attention_entropy/attend/head_{h}"][0]) for h in (1, 2, 3)]
    np.testing.assert_allclose(logged, expected, rtol=1e-5)
    assert all(0 < e < np.log(5) for e in logged)


BASE = {"experiment": {"name": "tr", "seed": 3},
        "data": {"name": "tokens", "n_samples": 300, "length": 6, "vocabulary": 7},
        "model": {"architecture": "transformer", "blocks": 2, "width": 16, "heads": 2},
        "optimizer": {"name": "adam", "learning_rate": 0.003, "warmup_steps": 4,
                      "decay": "inverse_sqrt"},
        "training": {"epochs": 1, "batch_size": 32},
        "logging": {"preflight": False, "histogram_every_n_steps": 3}}


@pytest.mark.parametrize("data, norm", [({}, "pre"), ({}, "post"),
                                        ({"name": "digits_sequence"}, "post")],
                         ids=["tokens-pre", "tokens-post", "digits-post"])
def test_trains_one_epoch_logs_entropy_and_reloads_in_safe_mode(write_config, tmp_path, data,
                                                                 norm):
    data = {"name": "digits_sequence"} if data else BASE["data"]
    config = {**BASE, "data": data, "model": {**BASE["model"], "norm": norm}}
    path = write_config(config)
    assert main(["run", str(path), "--logdir", str(tmp_path), "--quiet"]) == 0
    (run_dir,) = (tmp_path / "tr").iterdir()
    model = assert_reloaded_model_scores_as_logged(run_dir, path)
    per_position = data["name"] == "tokens"
    assert model.output.shape[1:] == ((6, 7) if per_position else (10,))
    tags = read_tags(run_dir / "train")
    entropy = [t for t in tags if t.startswith("attention_entropy/")]
    assert len(entropy) == 2 * 2  # blocks × heads
    length = 6 if per_position else 8
    assert all(0 < float(v) <= np.log(length) + 1e-5 for t in entropy
               for v in tags[t].values())
