"""Gradient descent, with momentum, and Nesterov's accelerated gradient."""

from __future__ import annotations

import keras
from keras import ops

from nnkit.optimizers.base import HandWrittenOptimizer, check_range


@keras.saving.register_keras_serializable(package="nnkit")
class SGD(HandWrittenOptimizer):
    """Plain gradient descent: W ← W - η∇W.

    Equals ``keras.optimizers.SGD()`` (default η = 0.01).
    """

    def __init__(self, learning_rate=0.01, name=None, **kwargs):
        super().__init__(learning_rate, name, **kwargs)

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        self.assign_sub(variable, ops.multiply(ops.cast(gradient, variable.dtype), lr))


@keras.saving.register_keras_serializable(package="nnkit")
class Momentum(HandWrittenOptimizer):
    """Momentum (Polyak 1964), the notes' form:

        V ← βV + η∇W
        W ← W - V

    V is an exponentially weighted sum of past gradients; β = 0 gives plain gradient descent.
    ``keras.optimizers.SGD(momentum=β)`` stores m = -V (m ← βm - η∇W; W ← W + m): the same
    trajectory with the opposite sign convention for the velocity.

    Args:
        learning_rate: η > 0 (default 0.01, as Keras).
        momentum: β in [0, 1) (default 0.9).
    """

    def __init__(self, learning_rate=0.01, momentum=0.9, name=None, **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.momentum = check_range("momentum", momentum, 0.0, 1.0)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self.velocities = self.slots(var_list, "velocity")

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        velocity = self.slot(self.velocities, variable)
        beta = ops.cast(self.momentum, variable.dtype)
        self.assign(velocity, ops.add(ops.multiply(velocity, beta), ops.multiply(gradient, lr)))
        self.assign_sub(variable, velocity)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum}


@keras.saving.register_keras_serializable(package="nnkit")
class NAG(Momentum):
    """Nesterov's accelerated gradient.

    The notes' form evaluates the gradient at the look-ahead point W_la = W - βV:

        V ← βV + η∇L(W - βV)
        W ← W - V

    That needs the loss at shifted weights, which an optimizer never sees. With the change of
    variables Φ = W - βV (track the look-ahead point itself) the same trajectory becomes an
    update that needs only the gradient at the current variable (Bengio et al. 2013), the form
    Keras uses and this optimizer implements:

        V ← βV + η∇L(Φ)
        Φ ← Φ - (βV + η∇L(Φ))

    For the notes' form, train with ``lookahead=True``: the training step moves the weights
    to W - βV (:meth:`to_lookahead`), takes the gradient there, moves them back
    (:meth:`from_lookahead`) and applies the plain momentum update.

    Args:
        learning_rate: η > 0 (default 0.01). momentum: β in [0, 1) (default 0.9).
        lookahead: apply the plain momentum step, for use with the look-ahead training step.
    """

    def __init__(self, learning_rate=0.01, momentum=0.9, lookahead=False, name=None, **kwargs):
        super().__init__(learning_rate, momentum, name=name, **kwargs)
        self.lookahead = bool(lookahead)

    def update_step(self, gradient, variable, learning_rate):
        if self.lookahead:
            return super().update_step(gradient, variable, learning_rate)
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        velocity = self.slot(self.velocities, variable)
        beta = ops.cast(self.momentum, variable.dtype)
        self.assign(velocity, ops.add(ops.multiply(velocity, beta), ops.multiply(gradient, lr)))
        self.assign_sub(variable, ops.add(ops.multiply(velocity, beta),
                                          ops.multiply(gradient, lr)))

    def _shift(self, var_list, sign: float):
        for variable in var_list:
            velocity = self.slot(self.velocities, variable)
            variable.assign_add(sign * self.momentum * velocity)

    def to_lookahead(self, var_list):
        """W ← W - βV, before the gradient is taken (build the optimizer first)."""
        self._shift(var_list, -1.0)

    def from_lookahead(self, var_list):
        """W ← W + βV, after the gradient is taken."""
        self._shift(var_list, 1.0)

    def get_config(self):
        return {**super().get_config(), "lookahead": self.lookahead}
