"""Recurrent layers: nnkit's cells against Keras' twins, and ‖∂L/∂hₜ‖ through time against
the tape's gradient with respect to each hidden state of an explicitly unrolled net."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import nnkit
from nnkit import layers
from nnkit.instrument.detectors import Thresholds, TimeWindow, gradient_through_time
from nnkit.instrument.through_time import HiddenStateTaps, norms_through_time

from event_files import summary_values

TWINS = [(layers.SimpleRNN, keras.layers.SimpleRNN, keras.layers.SimpleRNNCell),
         (layers.LSTM, keras.layers.LSTM, keras.layers.LSTMCell),
         (layers.GRU, keras.layers.GRU, keras.layers.GRUCell)]
IDS = ["simple", "lstm", "gru"]


def _x(*shape, seed=0):
    return tf.constant(np.random.default_rng(seed).normal(size=shape).astype("float32"))


def _perturbed(weights, seed=1):
    """Keras' initial weights moved off their structured values (zero biases, orthogonal)."""
    rng = np.random.default_rng(seed)
    return [w + 0.3 * rng.normal(size=w.shape).astype("float32") for w in weights]


def _outputs_and_gradients(layer, x):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        loss = tf.reduce_sum(tf.square(y))
    return y, tape.gradient(loss, [x, *layer.trainable_variables])


@pytest.mark.parametrize("ours, theirs, _", TWINS, ids=IDS)
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("unroll", [False, True])
def test_cells_equal_keras_twins_outputs_and_gradients(ours, theirs, _, return_sequences,
                                                       unroll):
    """Same weights → same outputs and gradients (inputs and every weight) within 1e-5:
    float32 rounding over 7 steps of unit-scale products stays near 1e-6."""
    x = _x(4, 7, 3)
    mine, keras_layer = ours(5, return_sequences=return_sequences, unroll=unroll), \
        theirs(5, return_sequences=return_sequences)
    mine.build(x.shape)
    keras_layer.build(x.shape)
    assert [w.shape for w in mine.get_weights()] == [w.shape for w in keras_layer.get_weights()]
    weights = _perturbed(keras_layer.get_weights())
    keras_layer.set_weights(weights)
    mine.set_weights(weights)
    (y, g), (y_ref, g_ref) = (_outputs_and_gradients(mine, x),
                              _outputs_and_gradients(keras_layer, x))
    np.testing.assert_allclose(y, y_ref, atol=1e-5)
    for a, b in zip(g, g_ref):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("_, theirs, keras_cell", TWINS, ids=IDS)
def test_the_loop_runs_keras_own_cells(_, theirs, keras_cell):
    x = _x(3, 6, 2)
    looped, keras_layer = layers.RNN(keras_cell(4)), theirs(4)
    looped.build(x.shape)
    keras_layer.build(x.shape)
    looped.set_weights(_perturbed(keras_layer.get_weights()))
    keras_layer.set_weights(looped.get_weights())
    np.testing.assert_allclose(looped(x), keras_layer(x), atol=1e-5)


def test_lstm_forget_bias_starts_the_forget_gate_there():
    layer = layers.LSTM(3, forget_bias=1.0)
    layer.build((None, 4, 2))
    bias = layer.cell.bias.numpy()
    np.testing.assert_array_equal(bias, [0] * 3 + [1] * 3 + [0] * 6)
    layer = layers.LSTM(3, forget_bias=0.0)
    layer.build((None, 4, 2))
    np.testing.assert_array_equal(layer.cell.bias.numpy(), np.zeros(12))


@pytest.mark.parametrize("layer", [layers.SimpleRNN(4, return_sequences=True),
                                   layers.LSTM(4, forget_bias=0.5), layers.GRU(4)],
                         ids=IDS)
def test_recurrent_layers_save_and_reload_in_safe_mode(layer, tmp_path):
    inputs = keras.Input((6, 2))
    model = keras.Model(inputs, keras.layers.Dense(1)(layer(inputs)))
    x = _x(5, 6, 2)
    path = tmp_path / "m.keras"
    model.save(path)
    again = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(again(x), model(x), atol=1e-6)
    assert type(again.layers[1]) is type(layer)


def _unrolled_reference(cells, head, x, y):
    """‖∂L/∂hₜ‖ of each layer from the tape, on an explicitly unrolled stack of Keras cells:
    hₜ is a tensor of the forward pass, and the tape's gradient with respect to it is the
    total derivative through every later step and layer."""
    batch, length = x.shape[0], x.shape[1]
    with tf.GradientTape(persistent=True) as tape:
        inputs, hidden = [x[:, t] for t in range(length)], []
        for cell in cells:
            sizes = cell.state_size if isinstance(cell.state_size, list) else [cell.state_size]
            states = [tf.zeros((batch, cell.units))] * len(sizes)
            outputs = []
            for t in range(length):
                h, states = cell(inputs[t], states)
                outputs.append(h)
            hidden.append(outputs)
            inputs = outputs
        loss = tf.reduce_mean(tf.square(head(inputs[-1]) - y))
    return [np.array([np.linalg.norm(tape.gradient(loss, h)) for h in outputs])
            for outputs in hidden]


def test_logged_norms_through_time_equal_the_tapes_gradient_at_each_hidden_state(tmp_path):
    """A SimpleRNN (every hₜ to the next layer) under an LSTM, watched; one step of SGD at
    learning rate 0 on the whole set; the logged series at step 0 against the reference."""
    x, y = _x(16, 9, 3), _x(16, 1, seed=2)
    inputs = keras.Input((9, 3))
    first = layers.SimpleRNN(6, return_sequences=True, name="first")
    second = layers.LSTM(5, name="second")
    head = keras.layers.Dense(1, name="head")
    model = keras.Model(inputs, head(second(first(inputs))))
    first.set_weights(_perturbed(first.get_weights(), seed=3))
    model.compile(keras.optimizers.SGD(0.0), "mse")
    callback = nnkit.watch(model, tmp_path, verbose=False)
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0, callbacks=[callback])
    logged = {tag: tf.make_ndarray(value.tensor) for _, tag, step, value
              in summary_values(tmp_path) if tag.startswith("through_time/") and step == 0}
    cells = [keras.layers.SimpleRNNCell(6), keras.layers.LSTMCell(5)]
    for cell, layer in zip(cells, (first, second)):
        cell.build((None, layer.cell.kernel.shape[0]))
        cell.set_weights(layer.cell.get_weights())
    expected = _unrolled_reference(cells, head, x, y)
    for key, reference in zip(("first", "second"), expected):
        series = logged[f"through_time/{key}"]
        np.testing.assert_array_equal(series[:, 0], np.arange(1, 10))  # bucket t = [t, t+1)
        np.testing.assert_allclose(series[:, 2], reference, rtol=1e-4)
    ratios = {tag: tf.make_ndarray(value.tensor) for _, tag, step, value
              in summary_values(tmp_path) if tag.startswith("through_time_ratio/")
              and step == 0}
    np.testing.assert_allclose(ratios["through_time_ratio/second"],
                               expected[1][0] / expected[1][-1], rtol=1e-4)


def test_the_tap_leaves_the_forward_pass_unchanged():
    layer, x = layers.GRU(4, return_sequences=True), _x(2, 5, 3)
    plain = layer(x)
    taps = HiddenStateTaps([layer])

    @tf.function
    def tapped(x):
        with tf.GradientTape() as tape:
            with taps.active(tape.watch):
                out = layer(x)
            loss = tf.reduce_sum(out)
        return out, norms_through_time(tape.gradient(loss, taps.taps()[0]))

    out, norms = tapped(x)
    np.testing.assert_allclose(out, plain, atol=1e-6)  # h + 0 (graph and eager round alike)
    assert norms.shape == (5,) and np.all(norms > 0)


def test_the_detector_reads_the_fitted_ratio_of_first_to_last():
    """‖∂L/∂hₜ‖ = 10^(t/4) for t = 0 … 19: first / last = 10^(-19/4) ≈ 1.8e-5."""
    log_norms = np.arange(20) / 4.0
    verdicts = {v.kind: v for v in gradient_through_time(
        TimeWindow((0, 31), "h01_simple", log_norms), Thresholds())}
    assert verdicts["vanishing_through_time"].firing
    np.testing.assert_allclose(verdicts["vanishing_through_time"].value, 10 ** (-19 / 4))
    np.testing.assert_allclose(verdicts["vanishing_through_time"].detail["per_step"],
                               10 ** 0.25)
    assert not verdicts["exploding_through_time"].firing
    flat = {v.kind: v for v in gradient_through_time(
        TimeWindow((0, 31), "h01_lstm", np.zeros(20)), Thresholds())}
    assert not any(v.firing for v in flat.values())
