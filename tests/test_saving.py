"""A model using every nnkit layer, activation and initializer reloads in a fresh process."""

import subprocess
import sys
import textwrap

import keras
import numpy as np

import nnkit
from nnkit import activations, initializers, layers


def _model_with_everything() -> keras.Model:
    inputs = keras.Input((6,))
    x = inputs
    for name in initializers.INITIALIZERS.names():
        x = layers.Dense(6, kernel_initializer=name, name=f"init_{name}")(x)
        x = layers.BatchNormalization(name=f"bn_{name}")(x)  # keep the signal finite
    for name in activations.elementwise_names():
        x = layers.Activation(name, name=f"act_{name}")(x)
        x = layers.Dense(6, activation=name, name=f"dense_{name}")(x)
    x = layers.Dense(6, kernel_regularizer=keras.regularizers.L2(0.01),
                     bias_regularizer="l1", activity_regularizer=keras.regularizers.L1L2(1e-3),
                     kernel_constraint=keras.constraints.MaxNorm(2.0), bias_constraint="non_neg",
                     kernel_initializer=initializers.VarianceScaling(
                         distribution="untruncated_normal",
                         seed=keras.random.SeedGenerator(4)))(x)
    x = layers.BatchNormalization(axis=[1], gamma_regularizer="l2", beta_constraint="max_norm",
                                  moving_variance_initializer=initializers.Constant(
                                      [1.0, 2.0, 1.0, 2.0, 1.0, 2.0]))(x)
    x = layers.LayerNormalization(epsilon=1e-4)(x)
    x = layers.PReLU(alpha_regularizer="l2", alpha_constraint="non_neg", shared_axes=[1])(x)
    x = layers.RReLU()(x)
    x = layers.Dropout(0.3)(x)
    x = layers.AlphaDropout(0.1)(x)
    x = layers.ResidualBlock(5)(x)
    x = keras.layers.Reshape((1, 1, 5))(x)
    x = layers.LocalResponseNormalization(depth_radius=1)(x)
    x = layers.PaddedShortcut(6, strides=1)(x)
    x = keras.layers.Reshape((2, 3))(x)
    x = layers.SimpleRNN(4, return_sequences=True)(x)
    x = layers.LSTM(4, return_sequences=True, forget_bias=2.0)(x)
    x = layers.GRU(4, return_sequences=True, unroll=True)(x)
    x = layers.RNN(layers.SimpleRNNCell(3), return_sequences=True)(x)
    x = layers.RNN(layers.LSTMCell(3), return_sequences=True)(x)
    x = layers.PositionalEncoding("learned", max_length=4)(x)
    x = layers.PositionalEncoding()(x)
    x = layers.MultiHeadAttention(3, 2, causal=True)(x)
    x = layers.RNN(layers.GRUCell(3))(x)
    outputs = layers.Dense(3, activation="keras:softmax")(x)
    return keras.Model(inputs, outputs)


def test_every_building_block_reloads_in_a_fresh_process(tmp_path):
    model = _model_with_everything()
    x = np.random.default_rng(0).normal(size=(8, 6)).astype("float32")
    model(x, training=True)
    model.save(tmp_path / "everything.keras")
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "expected.npy", model.predict(x, verbose=0))
    script = textwrap.dedent(f"""
        import numpy as np, keras
        import nnkit  # the only import needed for nnkit's objects to deserialize
        model = keras.saving.load_model(r"{tmp_path / 'everything.keras'}")  # safe_mode=True
        x = np.load(r"{tmp_path / 'x.npy'}")
        np.testing.assert_array_equal(model.predict(x, verbose=0),
                                      np.load(r"{tmp_path / 'expected.npy'}"))
        names = {{type(layer).__module__.split('.')[0] for layer in model.layers}}
        assert "nnkit" in names
        print("reloaded", len(model.layers))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "reloaded" in result.stdout


def test_every_public_layer_is_used_above():
    used = {type(layer).__name__ for layer in _model_with_everything().layers}
    used |= {type(layer.cell).__name__ for layer in _model_with_everything().layers
             if isinstance(layer, layers.RNN)}
    assert set(nnkit.layers.__all__) <= used
