"""Activations: values against Keras, derivatives against the tape, numerical safety."""

import numpy as np
import pytest
import tensorflow as tf
import keras

from nnkit import activations
from nnkit.layers import PReLU, RReLU

GRID = np.concatenate([np.linspace(-6, 6, 121), [0.0, -0.0, 1.0, -1.0, 30.0, -30.0]])
KERAS_TWINS = {
    "sigmoid": keras.activations.sigmoid,
    "tanh": keras.activations.tanh,
    "hard_tanh": keras.activations.hard_tanh,
    "relu": keras.activations.relu,
    "leaky_relu": lambda x: keras.activations.leaky_relu(x, negative_slope=0.01),
    "elu": keras.activations.elu,
    "selu": keras.activations.selu,
    "linear": keras.activations.linear,
}
# float16 carries ~3 significant digits; float32 ~7; float64 ~16.
TOLERANCE = {"float16": 2e-3, "float32": 2e-6, "float64": 1e-12}


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("name", KERAS_TWINS)
def test_values_match_keras(name, dtype):
    x = tf.constant(GRID, dtype=dtype)
    ours = activations.get(name)(x)
    theirs = KERAS_TWINS[name](x)
    assert ours.dtype == x.dtype
    tolerance = TOLERANCE[dtype]
    if name == "leaky_relu" and dtype == "float64":
        tolerance = 1e-7  # Keras rounds the slope 0.01 to float32 (relative error ~2e-8)
    np.testing.assert_allclose(np.asarray(ours, "float64"), np.asarray(theirs, "float64"),
                               rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("name", activations.elementwise_names())
def test_derivative_matches_the_tape(name):
    """Contract: every elementwise activation's hand-written f' equals autodiff (float64)."""
    x = tf.constant(GRID, dtype="float64")
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = activations.get(name)(x)
    tape_grad = tape.gradient(y, x)
    assert tape_grad is not None, f"{name} must give a (possibly zero) gradient"
    np.testing.assert_allclose(activations.derivative(name)(x), tape_grad, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", activations.elementwise_names())
def test_derivative_matches_finite_differences(name):
    x = np.array([-2.3, -0.7, -0.2, 0.3, 0.9, 2.1])  # away from kinks
    h = 1e-6
    f = activations.get(name)
    numeric = (np.asarray(f(tf.constant(x + h))) - np.asarray(f(tf.constant(x - h)))) / (2 * h)
    np.testing.assert_allclose(activations.derivative(name)(tf.constant(x)), numeric, atol=1e-6)


@pytest.mark.parametrize("name", activations.elementwise_names())
def test_no_overflow_at_large_inputs(name):
    x = tf.constant([-1e4, -88.0, 0.0, 88.0, 1e4], dtype="float32")
    for values in (activations.get(name)(x), activations.derivative(name)(x)):
        assert np.all(np.isfinite(values)), f"{name}: {values}"


def test_selu_constants_are_klambauer_et_al():
    assert activations.SELU_ALPHA == pytest.approx(1.6732632423543772, abs=1e-15)
    assert activations.SELU_SCALE == pytest.approx(1.0507009873554805, abs=1e-15)


def test_selu_keeps_standard_normal_input_standard():
    """The fixed point: for z ~ N(0, 1), SELU(z) has mean 0 and variance 1."""
    z = np.random.default_rng(0).normal(size=2_000_000)
    y = np.asarray(activations.selu(tf.constant(z)))
    # standard errors: 1/√n ≈ 7e-4 for the mean, √2/√n ≈ 1e-3 for the variance
    assert abs(y.mean()) < 5e-3 and abs(y.var() - 1.0) < 7e-3


def test_leaky_relu_default_slope_is_the_notes():
    assert float(activations.leaky_relu(tf.constant(-1.0))) == pytest.approx(-0.01)
    assert float(activations.leaky_relu(tf.constant(-1.0), alpha=0.3)) == pytest.approx(-0.3)


def test_step_is_heaviside_with_zero_gradient():
    x = tf.constant([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(activations.step(x), [0.0, 1.0, 1.0])


def test_unknown_names():
    with pytest.raises(ValueError, match="did you mean 'relu'"):
        activations.get("rleu")
    with pytest.raises(ValueError, match="no hand-written derivative for 'prelu'"):
        activations.derivative("prelu")
    assert activations.get("keras:gelu") is keras.activations.gelu


def test_prelu_matches_keras_prelu_and_learns_its_slope():
    x = tf.constant(np.random.default_rng(1).normal(size=(8, 5)), dtype="float32")
    ours = PReLU(alpha_initializer={"name": "constant", "value": 0.3})
    theirs = keras.layers.PReLU(alpha_initializer=keras.initializers.Constant(0.3))
    np.testing.assert_allclose(ours(x), theirs(x), rtol=1e-6)
    assert ours.alpha.shape == (5,) and float(ours.alpha[0]) == pytest.approx(0.3)
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(ours(x))
    grad = tape.gradient(y, ours.alpha)
    expected = np.sum(np.minimum(np.asarray(x), 0.0), axis=0)  # ∂y/∂a = Σ min(x, 0)
    np.testing.assert_allclose(grad, expected, rtol=1e-5)


def test_prelu_shared_has_one_slope_and_default_quarter():
    layer = PReLU(shared=True)
    layer(tf.zeros((2, 7)))
    assert layer.alpha.shape == (1,) and float(layer.alpha[0]) == 0.25


def test_rrelu_training_slopes_are_uniform_and_inference_uses_the_mean():
    lower, upper, n = 0.1, 0.4, 200_000
    layer = RReLU(lower, upper, seed=3)
    x = -tf.ones((n,))
    slopes = -np.asarray(layer(x, training=True))
    assert slopes.min() >= lower and slopes.max() <= upper
    # U[l, u]: mean (l+u)/2, variance (u-l)²/12; 6 standard errors of the sample mean
    standard_error = (upper - lower) / np.sqrt(12 * n)
    assert abs(slopes.mean() - (lower + upper) / 2) < 6 * standard_error
    assert abs(slopes.var() - (upper - lower) ** 2 / 12) < 0.02 * (upper - lower) ** 2 / 12
    np.testing.assert_allclose(layer(x, training=False), -(lower + upper) / 2, rtol=1e-6)
    positive = tf.constant([0.5, 2.0])
    np.testing.assert_array_equal(layer(positive, training=True), positive)


def test_rrelu_seed_reproduces():
    x = -tf.ones((100,))
    a = RReLU(seed=7)(x, training=True)
    b = RReLU(seed=7)(x, training=True)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kwargs, message", [
    ({"lower": 0.5, "upper": 0.1}, "need 0 <= lower <= upper"),
    ({"lower": -0.1}, "need 0 <= lower <= upper"),
])
def test_rrelu_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RReLU(**kwargs)


# --- Keras parity of the arguments (issue #18) -------------------------------------------

KINKS = np.array([-2.0, -0.5, 0.0, 0.25, 0.5, 0.75, 1.0, 2.0, 3.0, 7.0], "float32")


def _value_and_gradient(fn, x):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    return y.numpy(), tape.gradient(y, x).numpy()


@pytest.mark.parametrize("kwargs", [
    {}, {"negative_slope": 0.2}, {"max_value": 1.0}, {"threshold": 0.5},
    {"negative_slope": 0.1, "max_value": 2.0, "threshold": 0.5},
    {"negative_slope": 0.3, "threshold": -0.5, "max_value": 3.0},
])
def test_relu_takes_keras_arguments_with_keras_values_and_gradients(kwargs):
    from nnkit.activations.functions import relu, relu_derivative

    ours = _value_and_gradient(lambda x: relu(x, **kwargs), KINKS)
    theirs = _value_and_gradient(lambda x: keras.activations.relu(x, **kwargs), KINKS)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-6, atol=1e-7)  # kinks included
    np.testing.assert_allclose(np.asarray(relu_derivative(KINKS, **kwargs)), ours[1])


def test_leaky_relu_accepts_keras_spelling():
    from nnkit.activations.functions import leaky_relu

    x = tf.constant(KINKS)
    np.testing.assert_allclose(leaky_relu(x, negative_slope=0.2).numpy(),
                               keras.activations.leaky_relu(x).numpy(), rtol=1e-6)
    np.testing.assert_allclose(leaky_relu(x).numpy(), np.where(KINKS > 0, KINKS, 0.01 * KINKS))
    with pytest.raises(ValueError, match="same parameter"):
        leaky_relu(x, alpha=0.3, negative_slope=0.2)


def test_get_none_is_linear_as_in_keras():
    assert activations.get(None) is activations.linear
    assert keras.activations.get(None)(2.0) == activations.get(None)(2.0)


@pytest.mark.parametrize("name", ["elu", "selu"])
def test_gradient_at_zero_is_keras(name):
    ours = _value_and_gradient(getattr(activations, name), KINKS)
    theirs = _value_and_gradient(getattr(keras.activations, name), KINKS)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-5)  # SELU'(0) = λ, not λα
    np.testing.assert_allclose(np.asarray(activations.derivative(name)(KINKS)), ours[1],
                               rtol=1e-6)
