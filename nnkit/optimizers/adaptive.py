"""Per-parameter adaptive learning rates: AdaGrad, RMSProp, AdaDelta."""

from __future__ import annotations

import keras
from keras import ops

from nnkit.optimizers.base import HandWrittenOptimizer, check_range


@keras.saving.register_keras_serializable(package="nnkit")
class AdaGrad(HandWrittenOptimizer):
    """AdaGrad (Duchi et al. 2011), the notes' form (ε inside the root, as Keras):

        G ← G + (∇W)²
        W ← W - η ∇W / √(G + ε)

    Parameters with large past gradients get smaller steps; G only grows, so the effective
    rate decays for ever. G starts at ``initial_accumulator_value`` (0.1, Keras' default; the
    notes start from 0).
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 name=None, **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.initial_accumulator_value = check_range(
            "initial_accumulator_value", initial_accumulator_value, 0.0)
        self.epsilon = check_range("epsilon", epsilon, 0.0, low_inclusive=False)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        init = keras.initializers.Constant(self.initial_accumulator_value)
        self.accumulators = self.slots(var_list, "accumulator", init)

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        accumulator = self.slot(self.accumulators, variable)
        self.assign_add(accumulator, ops.square(gradient))
        self.assign_sub(variable, ops.divide(ops.multiply(lr, gradient),
                                             ops.sqrt(ops.add(accumulator, self.epsilon))))

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon,
                "initial_accumulator_value": self.initial_accumulator_value}


@keras.saving.register_keras_serializable(package="nnkit")
class RMSProp(HandWrittenOptimizer):
    """RMSProp (Hinton 2012), the notes' form (ε inside the root, as Keras):

        S ← ρS + (1 - ρ)(∇W)²
        W ← W - η ∇W / √(S + ε)

    An EWMA replaces AdaGrad's sum, so old gradients are forgotten. ``centered`` subtracts
    the squared EWMA of the gradient (S - ḡ²: a variance); ``momentum`` > 0 adds a velocity
    M ← βM + η∇W/√(·), W ← W - M. Defaults equal ``keras.optimizers.RMSprop``.
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, name=None, **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.rho = check_range("rho", rho, 0.0, 1.0)
        self.momentum = check_range("momentum", momentum, 0.0, 1.0)
        self.epsilon = check_range("epsilon", epsilon, 0.0, low_inclusive=False)
        self.centered = bool(centered)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self.velocities = self.slots(var_list, "velocity")
        self.momentums = self.slots(var_list, "momentum") if self.momentum > 0 else []
        self.average_gradients = self.slots(var_list, "average_gradient") if self.centered else []

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        rho = self.rho
        velocity = self.slot(self.velocities, variable)
        self.assign(velocity, ops.add(ops.multiply(rho, velocity),
                                      ops.multiply(1 - rho, ops.square(gradient))))
        denominator = ops.add(velocity, self.epsilon)
        if self.centered:
            average = self.slot(self.average_gradients, variable)
            self.assign(average, ops.add(ops.multiply(rho, average),
                                         ops.multiply(1 - rho, gradient)))
            denominator = velocity - ops.square(average) + self.epsilon
        increment = ops.divide(ops.multiply(lr, gradient), ops.sqrt(denominator))
        if self.momentum > 0:
            momentum = self.slot(self.momentums, variable)
            self.assign(momentum, ops.add(ops.multiply(self.momentum, momentum), increment))
            increment = momentum
        self.assign_sub(variable, increment)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


@keras.saving.register_keras_serializable(package="nnkit")
class AdaDelta(HandWrittenOptimizer):
    """AdaDelta (Zeiler 2012): two EWMAs, of squared gradients and of squared updates.

        S  ← ρS + (1 - ρ)(∇W)²
        ΔW = -√(D + ε) / √(S + ε) · ∇W
        D  ← ρD + (1 - ρ)(ΔW)²
        W  ← W + η ΔW

    The ratio of RMS values gives the update the units of W. Zeiler uses η = 1; Keras (and
    the default here) η = 0.001.
    """

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, name=None, **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.rho = check_range("rho", rho, 0.0, 1.0)
        self.epsilon = check_range("epsilon", epsilon, 0.0, low_inclusive=False)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self.squared_gradients = self.slots(var_list, "accumulated_grad")
        self.squared_updates = self.slots(var_list, "accumulated_delta_var")

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        rho = self.rho
        squared_gradient = self.slot(self.squared_gradients, variable)
        squared_update = self.slot(self.squared_updates, variable)

        def rms(x):
            return ops.sqrt(ops.add(x, self.epsilon))

        self.assign(squared_gradient, ops.add(rho * squared_gradient,
                                              ops.multiply(1 - rho, ops.square(gradient))))
        delta = ops.negative(ops.divide(ops.multiply(rms(squared_update), gradient),
                                        rms(squared_gradient)))
        self.assign(squared_update, ops.add(ops.multiply(rho, squared_update),
                                            ops.multiply(1 - rho, ops.square(delta))))
        self.assign_add(variable, ops.multiply(lr, delta))

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}
