"""Adam: adaptive moment estimation (Kingma & Ba 2015)."""

from __future__ import annotations

import keras
from keras import ops

from nnkit.optimizers.base import HandWrittenOptimizer, check_range

EPSILON_MODES = ("keras", "paper", "notes")


@keras.saving.register_keras_serializable(package="nnkit")
class Adam(HandWrittenOptimizer):
    """Adam: momentum on the gradient, RMSProp on its square, both bias-corrected.

        m ← β₁m + (1 - β₁)∇W            m̂ = m / (1 - β₁ᵗ)
        v ← β₂v + (1 - β₂)(∇W)²         v̂ = v / (1 - β₂ᵗ)

    and then, by ``epsilon_mode``:

    * ``keras`` (default, equals ``keras.optimizers.Adam``): W ← W - η_t m / (√v + ε) with
      η_t = η √(1 - β₂ᵗ) / (1 - β₁ᵗ): the paper's "ε-hat" form, ε added before correction;
    * ``paper``: W ← W - η m̂ / (√v̂ + ε), Algorithm 1 of the paper;
    * ``notes``: W ← W - η m̂ / √(v̂ + ε), ε inside the root as the notes write it.

    The notes write v's update without the square of ∇W; that is a typo, the square is right.
    The three modes differ only when √v̂ is comparable to ε.

    Args:
        learning_rate: η (default 0.001). beta_1, beta_2: in [0, 1) (0.9, 0.999).
        epsilon: ε > 0 (1e-7, Keras' default). amsgrad: use max(v̂) (Reddi et al. 2018).
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, epsilon_mode="keras", name=None, **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.beta_1 = check_range("beta_1", beta_1, 0.0, 1.0)
        self.beta_2 = check_range("beta_2", beta_2, 0.0, 1.0)
        self.epsilon = check_range("epsilon", epsilon, 0.0, low_inclusive=False)
        if epsilon_mode not in EPSILON_MODES:
            raise ValueError(f"epsilon_mode must be one of {', '.join(EPSILON_MODES)}, "
                             f"got {epsilon_mode!r}")
        self.amsgrad, self.epsilon_mode = bool(amsgrad), epsilon_mode

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self.first_moments = self.slots(var_list, "momentum")
        self.second_moments = self.slots(var_list, "velocity")
        self.max_second_moments = self.slots(var_list, "velocity_hat") if self.amsgrad else []

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        t = ops.cast(self.iterations + 1, dtype)
        correction_1 = 1 - ops.power(ops.cast(self.beta_1, dtype), t)
        correction_2 = 1 - ops.power(ops.cast(self.beta_2, dtype), t)
        m = self.slot(self.first_moments, variable)
        v = self.slot(self.second_moments, variable)
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - self.beta_2))
        if self.amsgrad:
            v_max = self.slot(self.max_second_moments, variable)
            self.assign(v_max, ops.maximum(v_max, v))
            v = v_max
        if self.epsilon_mode == "keras":
            alpha = lr * ops.sqrt(correction_2) / correction_1
            step = ops.divide(ops.multiply(m, alpha), ops.add(ops.sqrt(v), self.epsilon))
        elif self.epsilon_mode == "paper":
            step = lr * (m / correction_1) / (ops.sqrt(v / correction_2) + self.epsilon)
        else:
            step = lr * (m / correction_1) / ops.sqrt(v / correction_2 + self.epsilon)
        self.assign_sub(variable, step)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad,
                "epsilon_mode": self.epsilon_mode}
