"""Backprop by hand against tf.GradientTape and finite differences; the notes' examples."""

import numpy as np
import pytest
import tensorflow as tf

from nnkit import activations
from nnkit.backprop import Layer, gradcheck, graph, loss_and_gradients
from nnkit.backprop.gradcheck import finite_differences, tape_gradients, relative_error
from nnkit.cli import main

# loss → (output activation, label kind)
LOSS_OUTPUTS = {
    "mse": ("linear", "real"),
    "huber": ("linear", "real"),
    "binary_crossentropy": ("sigmoid", "binary"),
    "hinge": ("tanh", "binary"),
    "categorical_crossentropy": ("softmax", "one_hot"),
}
PARAMS = {"leaky_relu": {"alpha": 0.05}, "elu": {"alpha": 0.7}}


def _problem(activation: str, loss: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    output, labels = LOSS_OUTPUTS[loss]
    k = 3 if labels in ("one_hot", "real") else 1
    widths = [4, 6, 5, k]
    layers = [Layer(rng.normal(0, 0.8, (a, b)), rng.normal(0, 0.3, b), activation,
                    PARAMS.get(activation, {})) for a, b in zip(widths[:-1], widths[1:])]
    layers[-1].activation, layers[-1].params = output, {}
    x = rng.normal(size=(7, 4))
    if labels == "real":
        y = rng.normal(size=(7, k))
    elif labels == "binary":
        y = rng.integers(0, 2, (7, 1)).astype(float)
    else:
        y = np.eye(k)[rng.integers(0, k, 7)]
    return layers, x, y


@pytest.mark.parametrize("loss", LOSS_OUTPUTS)
@pytest.mark.parametrize("activation", activations.elementwise_names())
def test_hand_derived_gradients_equal_the_tape(activation, loss):
    layers, x, y = _problem(activation, loss)
    _, hand = loss_and_gradients(layers, x, y, loss)
    tape = tape_gradients(layers, x, y, loss)
    for (hw, hb), (tw, tb) in zip(hand, tape):
        assert relative_error(hw, tw) < 1e-6 or np.allclose(hw, tw, atol=1e-12)
        assert relative_error(hb, tb) < 1e-6 or np.allclose(hb, tb, atol=1e-12)


@pytest.mark.parametrize("loss", LOSS_OUTPUTS)
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "elu", "selu", "leaky_relu"])
def test_finite_differences_agree(activation, loss):
    """Smooth (or almost everywhere smooth) activations: differences agree within 1e-4."""
    layers, x, y = _problem(activation, loss, seed=1)
    tape = tape_gradients(layers, x, y, loss)
    numeric = finite_differences(layers, x, y, loss)
    for (tw, tb), ((iw, nw), (ib, nb)) in zip(tape, numeric):
        assert relative_error(nw, tw.reshape(-1)[iw]) < 1e-4
        assert relative_error(nb, tb.reshape(-1)[ib]) < 1e-4


def test_a_wrong_derivative_is_caught(monkeypatch):
    layers, x, y = _problem("tanh", "mse")
    good = gradcheck(layers, ["a", "b", "c"], x, y, "mse")
    assert max(r.hand_vs_tape for r in good) < 1e-10
    right = activations.derivative

    def wrong(name):
        if name == "tanh":
            return lambda z: 1.0 - tf.tanh(z)  # forgot the square
        return right(name)

    monkeypatch.setattr(activations, "derivative", wrong)
    bad = gradcheck(layers, ["a", "b", "c"], x, y, "mse")
    assert max(r.hand_vs_tape for r in bad) > 1e-2
    assert max(r.differences_vs_tape for r in bad) < 1e-4, "the tape and the differences agree"


def test_gradcheck_cli(write_config, capsys, monkeypatch):
    config = write_config({"data": {"name": "iris"}, "model": {"depth": 2, "units": 6,
                                                               "activation": "elu"}})
    assert main(["gradcheck", str(config), "--batch", "10"]) == 0
    out = capsys.readouterr().out
    assert "h01_dense" in out
    assert "gradcheck: ok" in out
    right = activations.derivative
    monkeypatch.setattr(activations, "derivative",
                        lambda name: (lambda z, alpha=1.0: 0.5 * right(name)(z, alpha))
                        if name == "elu" else right(name))
    assert main(["gradcheck", str(config)]) == 1
    assert "gradcheck: FAILED" in capsys.readouterr().out


@pytest.mark.parametrize("override, message", [
    ("model.architecture=cnn", "only mlp"),
    ("model.batch_norm=before", "batch_norm must be none"),
    ("model.residual=true", "residual must be false"),
    ("model.activation=prelu", "no hand-written derivative"),
    ("loss=mae", "not derived by hand"),
])
def test_gradcheck_refuses_what_it_cannot_derive(write_config, capsys, override, message):
    config = write_config({"data": {"name": "digits"}})
    assert main(["gradcheck", str(config), "-o", override]) == 2
    assert message in capsys.readouterr().err


# --- the notes' worked examples (the tape examples) and the gate graph ---

def test_notes_tape_example_intermediate_gradient():
    x = tf.ones((2, 2))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(x)
        z = tf.multiply(y, y)
    assert tape.gradient(z, y).numpy() == 8.0  # dz/dy = 2y = 2·sum(x) = 8


def test_notes_tape_example_persistent():
    x = tf.constant(3.0)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
        z = y * y
    assert tape.gradient(z, x).numpy() == 108.0  # 4x³
    assert tape.gradient(y, x).numpy() == 6.0  # 2x


def test_notes_examples_on_the_gate_graph():
    x = graph.Node(np.ones((2, 2)))
    y = graph.Sum()(x)
    z = y * y
    graph.backprop(z)
    assert float(y.grad) == 8.0
    np.testing.assert_array_equal(x.grad, np.full((2, 2), 8.0))
    x = graph.Node(3.0)
    y = x * x
    z = y * y
    graph.backprop(z)
    assert float(x.grad) == 108.0 and float(y.grad) == 18.0
    graph.backprop(y)
    assert float(x.grad) == 6.0


def test_gate_graph_matches_the_tape_on_a_small_network():
    rng = np.random.default_rng(3)
    x_value, w_value, b_value = rng.normal(size=(4, 3)), rng.normal(size=(3, 2)), rng.normal(size=2)
    w, b = graph.Node(w_value), graph.Node(b_value)
    h = graph.Activation("elu")(graph.Node(x_value) @ w + b)
    out = graph.Sum()(graph.Max()(h, graph.Node(0.1)) * graph.Node(2.0))
    graph.backprop(out)
    tw, tb = tf.Variable(w_value), tf.Variable(b_value)
    with tf.GradientTape() as tape:
        th = activations.elu(tf.constant(x_value) @ tw + tb)
        t_out = tf.reduce_sum(tf.maximum(th, 0.1) * 2.0)
    gw, gb = tape.gradient(t_out, [tw, tb])
    assert float(out.value) == pytest.approx(float(t_out), rel=1e-12)
    np.testing.assert_allclose(w.grad, gw, rtol=1e-12)
    np.testing.assert_allclose(b.grad, gb, rtol=1e-12)


@pytest.mark.slow  # the in-process gradchecks above cover the maths
def test_deep_sigmoid_with_dropout_passes_the_cli_gradcheck(write_config, capsys):
    """The issue's case: correct backprop, a first-layer gradient of ~1e-5 whose finite
    differences sit at their round-off floor (a fixed 1e-4 called it FAILED)."""
    config = write_config({"data": {"name": "digits"},
                           "model": {"depth": 10, "activation": "sigmoid", "dropout": 0.1}})
    assert main(["gradcheck", str(config)]) == 0
    out = capsys.readouterr().out
    assert "dropout (0.1) is the identity in inference mode: checked without it" in out
    assert "gradcheck: ok" in out


def test_the_finite_difference_tolerance_still_catches_a_wrong_difference():
    """A step of 0.1 makes the central difference's truncation error (∝ ε²) far above the
    tolerance, while its round-off floor (∝ 1/ε) is negligible: FAILED, as it must."""
    layers, x, y = _problem("sigmoid", "mse")
    rows = gradcheck(layers, ["a", "b", "c"], x, y, "mse", epsilon=0.3)
    assert any(r.differences_vs_tape > r.differences_tolerance for r in rows)
    fine = gradcheck(layers, ["a", "b", "c"], x, y, "mse")
    assert all(r.differences_vs_tape <= r.differences_tolerance for r in fine)
    assert all(r.differences_tolerance >= 1e-4 for r in fine)
