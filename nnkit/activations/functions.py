"""Hand-written activation functions and their derivatives.

Each activation ``f`` is written with ``keras.ops`` and registered with Keras so that models
using it save and reload; its derivative ``f'`` (with respect to the pre-activation ``x``) is
written by hand beside it, for the backprop-by-hand module and for tests against the tape.

Where the derivative is undefined (ReLU and friends at 0) the value chosen is the one
``tf.GradientTape`` reports for these implementations, so both agree everywhere.
"""

from __future__ import annotations

import keras
from keras import ops

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _serializable(fn):
    return keras.saving.register_keras_serializable(package="nnkit")(fn)


@_serializable
def sigmoid(x):
    """σ(x) = 1 / (1 + e^{-x}).

    Written as 1/(1 + e^{-x}) for x ≥ 0 and e^{x}/(1 + e^{x}) for x < 0, each branch fed
    only the inputs it is used for, so no exponential overflows and the tape's gradient is
    σ(1 - σ) everywhere (a form built on e^{-|x|} would give σ'(0) = 0, since d|x|/dx = 0 there).
    """
    x = ops.convert_to_tensor(x)
    zero = ops.zeros_like(x)
    positive = ops.where(x >= 0, x, zero)
    negative = ops.where(x < 0, x, zero)
    e = ops.exp(negative)
    return ops.where(x >= 0, 1.0 / (1.0 + ops.exp(-positive)), e / (1.0 + e))


def sigmoid_derivative(x):
    """σ'(x) = σ(x) (1 - σ(x))."""
    s = sigmoid(x)
    return s * (1.0 - s)


@_serializable
def tanh(x):
    """tanh(x) = (e^x - e^{-x}) / (e^x + e^{-x}) = 2σ(2x) - 1 (uses the backend's stable kernel)."""
    return ops.tanh(x)


def tanh_derivative(x):
    """tanh'(x) = 1 - tanh²(x)."""
    t = ops.tanh(x)
    return 1.0 - t * t


@_serializable
def hard_tanh(x):
    """hard_tanh(x) = max(-1, min(1, x)): tanh's piecewise-linear approximation."""
    x = ops.convert_to_tensor(x)
    one = ops.ones_like(x)
    return ops.where(x > 1.0, one, ops.where(x < -1.0, -one, x))


def hard_tanh_derivative(x):
    """hard_tanh'(x) = 1 for -1 ≤ x ≤ 1, else 0."""
    x = ops.convert_to_tensor(x)
    inside = ops.logical_and(x >= -1.0, x <= 1.0)
    return ops.cast(inside, x.dtype)


@_serializable
def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """ReLU(x) = max(0, x) (Nair & Hinton 2010); ReLU'(0) is taken as 0.

    Keras' arguments, with Keras' values: f(x) = x for threshold < x ≤ max_value,
    max_value above it, negative_slope·(x - threshold) for x ≤ threshold. At the kinks the
    gradient is Keras': the lower side's (negative_slope) at a threshold of 0, 0 at any other
    threshold, 1 at max_value.
    """
    x = ops.convert_to_tensor(x)
    if negative_slope:
        y = ops.where(x > threshold, x, negative_slope * (x - threshold))
    else:
        y = ops.where(x > threshold, x, ops.zeros_like(x))
    if threshold:
        y = ops.where(x == threshold, 0.0 * x, y)
    if max_value is not None:
        y = ops.where(x > max_value, ops.full_like(x, max_value), y)
    return y


def relu_derivative(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """ReLU'(x) = 1 for threshold < x ≤ max_value, negative_slope below (0 at x = threshold
    when threshold ≠ 0), 0 above max_value."""
    x = ops.convert_to_tensor(x)
    d = ops.where(x > threshold, ops.ones_like(x), negative_slope * ops.ones_like(x))
    if threshold:
        d = ops.where(x == threshold, ops.zeros_like(x), d)
    if max_value is not None:
        d = ops.where(x > max_value, ops.zeros_like(x), d)
    return d


def _slope(alpha, negative_slope):
    """leaky_relu's slope: nnkit's ``alpha`` or Keras' ``negative_slope`` (not two values)."""
    if negative_slope is None:
        return alpha
    if alpha not in (0.01, negative_slope):
        raise ValueError(f"leaky_relu: alpha={alpha} and negative_slope={negative_slope} are "
                         "the same parameter; give one")
    return negative_slope


@_serializable
def leaky_relu(x, alpha=0.01, negative_slope=None):
    """LeakyReLU(x) = x for x > 0, else αx; α = 0.01 as in the notes (Maas et al. 2013).

    Keras' ``leaky_relu`` defaults to a slope of 0.2 and calls it ``negative_slope``: either
    spelling is accepted here (``negative_slope=0.2`` matches Keras' default).
    """
    x = ops.convert_to_tensor(x)
    return ops.where(x > 0, x, _slope(alpha, negative_slope) * x)


def leaky_relu_derivative(x, alpha=0.01, negative_slope=None):
    """LeakyReLU'(x) = 1 for x > 0, else α."""
    x = ops.convert_to_tensor(x)
    slope = _slope(alpha, negative_slope)
    return ops.where(x > 0, ops.ones_like(x), slope * ops.ones_like(x))


@_serializable
def elu(x, alpha=1.0):
    """ELU(x) = x for x > 0, else α(e^x - 1) (Clevert et al. 2016).

    The exponential only ever sees min(x, 0), so large inputs cannot overflow. At 0 the
    gradient is the positive side's, 1, as Keras' (and so SELU'(0) = λ, as Keras').
    """
    x = ops.convert_to_tensor(x)
    negative = alpha * ops.expm1(ops.minimum(x, 0.0))
    return ops.where(x >= 0, x, negative)


def elu_derivative(x, alpha=1.0):
    """ELU'(x) = 1 for x ≥ 0, else αe^x (= ELU(x) + α)."""
    x = ops.convert_to_tensor(x)
    return ops.where(x >= 0, ops.ones_like(x), alpha * ops.exp(ops.minimum(x, 0.0)))


@_serializable
def selu(x):
    """SELU(x) = λ·ELU(x, α), λ ≈ 1.0507, α ≈ 1.6733 (Klambauer et al. 2017, exact constants).

    With LeCun-normal weights and standardised inputs, activations keep mean 0 and variance 1.
    """
    return SELU_SCALE * elu(x, SELU_ALPHA)


def selu_derivative(x):
    """SELU'(x) = λ for x ≥ 0, else λαe^x."""
    return SELU_SCALE * elu_derivative(x, SELU_ALPHA)


@_serializable
def step(x):
    """Heaviside step H(x) = 1 for x ≥ 0, else 0: the perceptron's activation.

    Its derivative is 0 almost everywhere (and undefined at 0), so gradient descent through a
    step unit gets no signal: it is here for the perceptron and to show why smooth activations
    are needed. ``0·x`` is added so the tape reports a zero gradient rather than none.
    """
    x = ops.convert_to_tensor(x)
    return ops.cast(x >= 0, x.dtype) + 0.0 * x


def step_derivative(x):
    """H'(x) = 0 (almost everywhere)."""
    return ops.zeros_like(ops.convert_to_tensor(x))


@_serializable
def linear(x):
    """The identity f(x) = x (no activation)."""
    return ops.convert_to_tensor(x)


def linear_derivative(x):
    """f'(x) = 1."""
    return ops.ones_like(ops.convert_to_tensor(x))
