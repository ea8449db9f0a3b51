"""Layers against their Keras twins, with their edge cases and bad parameters."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import nnkit
from nnkit import layers

RNG = np.random.default_rng(0)


def _x(*shape):
    return tf.constant(RNG.normal(size=shape), dtype="float32")


def test_dense_matches_keras_dense():
    x = _x(6, 5)
    ours = layers.Dense(4, activation="relu")
    theirs = keras.layers.Dense(4, activation="relu")
    ours.build(x.shape)
    theirs.build(x.shape)
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours(x), theirs(x), rtol=1e-6)
    assert ours.kernel.shape == (5, 4) and ours.bias.shape == (4,)


def test_dense_takes_an_activation_object_and_saves_it(tmp_path):
    from nnkit import activations

    dense = layers.Dense(3, activation=activations.elu,
                         kernel_initializer=nnkit.initializers.HeNormal(seed=1))
    model = keras.Sequential([keras.Input((5,)), dense])
    x = _x(4, 5)
    np.testing.assert_allclose(model(x), activations.elu(x @ model.layers[0].kernel),
                               rtol=1e-6)
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    assert again.layers[0].activation is activations.elu
    np.testing.assert_allclose(again(x), model(x), rtol=1e-6)


def test_dense_without_bias_and_with_keras_activation():
    layer = layers.Dense(3, activation="keras:softmax", use_bias=False)
    y = layer(_x(2, 5))
    assert len(layer.weights) == 1
    np.testing.assert_allclose(np.sum(y, axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("shape", [(32, 6), (8, 5, 5, 3)], ids=["dense", "conv"])
def test_batch_norm_matches_keras_in_training_and_inference(shape):
    ours = layers.BatchNormalization(momentum=0.9, epsilon=1e-3)
    theirs = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-3)
    ours.build(shape)
    theirs.build(shape)
    gamma = RNG.uniform(0.5, 2.0, shape[-1]).astype("float32")
    beta = RNG.normal(size=shape[-1]).astype("float32")
    for layer in (ours, theirs):
        layer.gamma.assign(gamma)
        layer.beta.assign(beta)
    for _ in range(5):
        x = _x(*shape) * 3.0 + 1.0
        np.testing.assert_allclose(ours(x, training=True), theirs(x, training=True),
                                   rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.moving_mean, theirs.moving_mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.moving_variance, theirs.moving_variance, rtol=1e-5)
    x = _x(*shape)
    np.testing.assert_allclose(ours(x, training=False), theirs(x, training=False),
                               rtol=1e-5, atol=1e-6)


def test_batch_norm_training_output_is_standardised():
    y = np.asarray(layers.BatchNormalization(epsilon=1e-6)(_x(1000, 4) * 5 + 3, training=True))
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(y.std(axis=0), 1.0, rtol=1e-3)


@pytest.mark.parametrize("radius, bias, alpha, beta", [(2, 2.0, 1e-4, 0.75), (1, 1.0, 0.5, 0.5),
                                                       (0, 1.5, 0.1, 1.0), (4, 1.0, 1.0, 0.3)])
def test_lrn_matches_tensorflow(radius, bias, alpha, beta):
    x = _x(2, 4, 4, 7) * 3
    ours = layers.LocalResponseNormalization(radius, bias, alpha, beta)(x)
    theirs = tf.nn.local_response_normalization(x, radius, bias, alpha, beta)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_dropout_keeps_the_expected_value_and_is_identity_at_inference():
    rate, n = 0.3, 400_000
    layer = layers.Dropout(rate, seed=1)
    x = tf.ones((n,))
    y = np.asarray(layer(x, training=True))
    zeros = np.mean(y == 0.0)
    # Bernoulli: standard error √(p(1-p)/n) ≈ 7e-4; allow 6 standard errors
    assert abs(zeros - rate) < 6 * np.sqrt(rate * (1 - rate) / n)
    np.testing.assert_allclose(y[y != 0], 1 / (1 - rate), rtol=1e-6)
    assert abs(y.mean() - 1.0) < 6 * np.sqrt(rate / (1 - rate) / n)
    np.testing.assert_array_equal(layer(x, training=False), x)


def test_residual_block_adds_its_input():
    block = layers.ResidualBlock(5, depth=2, activation="linear")
    x = _x(3, 5)
    y = block(x)
    h = block.layers_[1](block.layers_[0](x))
    np.testing.assert_allclose(y, x + h, rtol=1e-5, atol=1e-6)
    assert block.projection is None


def test_residual_block_projects_when_widths_differ():
    block = layers.ResidualBlock(4, activation="relu")
    y = block(_x(3, 7))
    assert y.shape == (3, 4) and block.projection.kernel.shape == (7, 4)
    assert np.all(np.asarray(y) >= 0)


def test_activation_layer_keeps_its_parameters():
    layer = layers.Activation("leaky_relu", {"alpha": 0.5})
    np.testing.assert_allclose(layer(tf.constant([-2.0, 3.0])), [-1.0, 3.0])
    clone = layers.Activation.from_config(layer.get_config())
    assert clone.params == {"alpha": 0.5}


@pytest.mark.parametrize("factory, message", [
    (lambda: layers.Dense(0), "expected a positive integer"),
    (lambda: layers.Dropout(-0.1), r"rate must be in \[0, 1\]"),
    (lambda: layers.BatchNormalization(momentum=1.0), r"momentum must be in \[0, 1\)"),
    (lambda: layers.BatchNormalization(epsilon=0), "epsilon must be > 0"),
    (lambda: layers.LocalResponseNormalization(depth_radius=-1), "depth_radius must be >= 0"),
    (lambda: layers.LocalResponseNormalization(bias=0), "bias must be > 0"),
    (lambda: layers.LocalResponseNormalization(alpha=-1), "alpha and beta must be >= 0"),
    (lambda: layers.ResidualBlock(4, depth=0), "depth must be >= 1"),
    (lambda: layers.Activation("prelu"), "is a layer with weights"),
    (lambda: layers.Activation("rleu"), "did you mean 'relu'"),
])
def test_bad_parameters(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


# Contract: every layer nnkit exports survives a .keras save/reload with identical outputs.
LAYER_EXAMPLES = {
    "Activation": lambda: layers.Activation("elu", {"alpha": 0.5}),
    "AlphaDropout": lambda: layers.AlphaDropout(0.1, seed=2),
    "BatchNormalization": lambda: layers.BatchNormalization(momentum=0.5),
    "Dense": lambda: layers.Dense(3, "selu", kernel_initializer="lecun_normal"),
    "Dropout": lambda: layers.Dropout(0.2),
    "LayerNormalization": lambda: layers.LayerNormalization(epsilon=1e-5, gamma_initializer=
                                                            nnkit.initializers.Constant(2.0)),
    "LocalResponseNormalization": lambda: layers.LocalResponseNormalization(1, 1.0, 0.3, 0.5),
    "PReLU": lambda: layers.PReLU(shared=True),
    "RReLU": lambda: layers.RReLU(0.1, 0.2),
    "ResidualBlock": lambda: layers.ResidualBlock(4, depth=3, activation="tanh"),
    "SimpleRNN": lambda: layers.SimpleRNN(3, activation="relu"),
    "LSTM": lambda: layers.LSTM(3, forget_bias=0.5, return_sequences=True),
    "GRU": lambda: layers.GRU(3, unroll=True),
    "RNN": lambda: layers.RNN(keras.layers.GRUCell(3)),
    "SimpleRNNCell": lambda: layers.RNN(layers.SimpleRNNCell(3)),
    "LSTMCell": lambda: layers.RNN(layers.LSTMCell(3, forget_bias=2.0)),
    "GRUCell": lambda: layers.RNN(layers.GRUCell(3, recurrent_activation="keras:hard_sigmoid")),
    "PaddedShortcut": lambda: layers.PaddedShortcut(5, strides=2),
    "MultiHeadAttention": lambda: layers.MultiHeadAttention(2, 3, dropout=0.1, causal=True),
    "PositionalEncoding": lambda: layers.PositionalEncoding("learned", max_length=5),
}
# layers that read sequences [time, features]: their example model's input
SEQUENCE_INPUT = (3, 2)


def test_every_layer_has_an_example():
    assert set(LAYER_EXAMPLES) == set(nnkit.layers.__all__)


@pytest.mark.parametrize("name", LAYER_EXAMPLES)
def test_layer_survives_save_and_reload(name, tmp_path):
    layer = LAYER_EXAMPLES[name]()
    reads_sequences = (layers.RNN, layers.MultiHeadAttention, layers.PositionalEncoding)
    shape = SEQUENCE_INPUT if isinstance(layer, reads_sequences) else (6,)
    shape = (4, 4, 3) if isinstance(layer, layers.PaddedShortcut) else shape
    model = keras.Sequential([keras.Input(shape), layer, keras.layers.Flatten(),
                              layers.Dense(2)])
    x = _x(4, *shape)
    model(x, training=True)  # move batch-norm statistics away from their initial values
    path = tmp_path / f"{name}.keras"
    model.save(path)
    again = keras.saving.load_model(path)
    np.testing.assert_allclose(model.predict(x, verbose=0), again.predict(x, verbose=0),
                               rtol=1e-6)
    assert type(again.layers[0]) is type(model.layers[0])
    if isinstance(layer, layers.RNN):
        assert type(again.layers[0].cell) is type(layer.cell)


@pytest.mark.parametrize("units", [2.5, "64", None, 0, -3, np.int64(3)])
def test_dense_refuses_the_units_keras_refuses_with_its_message(units):
    with pytest.raises(ValueError) as keras_error:
        keras.layers.Dense(units)
    with pytest.raises(ValueError) as ours:
        nnkit.layers.Dense(units)
    assert str(ours.value) == str(keras_error.value)


def test_dropout_noise_shape_rate_one_masks_and_build_as_keras():
    x = tf.ones([64, 5, 8])
    ours = layers.Dropout(0.5, noise_shape=(None, 1, 8), seed=3)
    assert ours.built and keras.layers.Dropout(0.5).built
    y = ours(x, training=True).numpy()
    assert np.all(y == y[:, :1, :])  # one mask for every time step, as noise_shape says
    assert set(np.unique(y)) <= {0.0, 2.0} and 0.35 < (y == 0).mean() < 0.65
    np.testing.assert_array_equal(layers.Dropout(1.0)(x, training=True).numpy(),
                                  keras.layers.Dropout(1.0)(x, training=True).numpy())
    assert layers.Dropout(0.5, noise_shape=(None, 1, 8)).get_config()["noise_shape"] == (
        None, 1, 8)

    def pooled(dropout):  # a padded sequence: the mask must reach the pooling
        inputs = keras.Input((6,), dtype="int32")
        table = lambda shape, dtype=None: tf.reshape(tf.range(40.0), shape)  # noqa: E731
        h = keras.layers.Embedding(10, 4, mask_zero=True, embeddings_initializer=table)(inputs)
        return keras.Model(inputs, keras.layers.GlobalAveragePooling1D()(dropout(h)))

    tokens = np.array([[3, 4, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6]], "int32")
    expected = pooled(keras.layers.Dropout(0.2))(tokens).numpy()
    np.testing.assert_allclose(expected[0], np.arange(12, 20).reshape(2, 4).mean(0))  # no pads
    np.testing.assert_allclose(pooled(layers.Dropout(0.2))(tokens).numpy(), expected)
