"""Learning-rate schedule: linear warm-up, then constant, cosine or exponential decay."""

from __future__ import annotations

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="nnkit")
class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """η(t) for step t (counted from 0):

    * warm-up, t < T_w: η(t) = η₀ · (t + 1) / T_w (linear, reaching η₀ at the end;
      Goyal et al. 2017 use it for large batches);
    * then, with s = t - T_w: ``none`` η₀; ``cosine`` η₀ · ½(1 + cos(π·min(s, T_d)/T_d));
      ``exponential`` η₀ · r^(s / T_d); ``inverse_sqrt`` η₀ · √(T_w / (t + 1)), the
      Transformer's schedule (Vaswani et al. 2017: linear warm-up, then ∝ 1/√t; needs
      T_w > 0).

    Args:
        learning_rate: η₀ > 0. warmup_steps: T_w ≥ 0. decay: none | cosine | exponential |
            inverse_sqrt.
        decay_steps: T_d > 0. decay_rate: r in (0, 1].
    """

    def __init__(self, learning_rate: float, warmup_steps: int = 0, decay: str = "none",
                 decay_steps: int = 1000, decay_rate: float = 0.96):
        if decay not in ("none", "cosine", "exponential", "inverse_sqrt"):
            raise ValueError(f"decay must be none, cosine, exponential or inverse_sqrt, got "
                             f"{decay!r}")
        if decay == "inverse_sqrt" and int(warmup_steps) <= 0:
            raise ValueError("decay inverse_sqrt needs warmup_steps > 0")
        self.learning_rate, self.warmup_steps = float(learning_rate), int(warmup_steps)
        self.decay, self.decay_steps, self.decay_rate = decay, int(decay_steps), float(decay_rate)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        base = self.learning_rate
        after = ops.maximum(step - self.warmup_steps, 0.0)
        if self.decay == "cosine":
            progress = ops.minimum(after, float(self.decay_steps)) / self.decay_steps
            rate = base * 0.5 * (1.0 + ops.cos(math.pi * progress))
        elif self.decay == "exponential":
            rate = base * ops.power(self.decay_rate, after / self.decay_steps)
        elif self.decay == "inverse_sqrt":
            rate = base * ops.sqrt(self.warmup_steps / ops.maximum(step + 1.0,
                                                                   float(self.warmup_steps)))
        else:
            rate = base * ops.ones_like(step)
        if self.warmup_steps > 0:
            warm = base * (step + 1.0) / self.warmup_steps
            rate = ops.where(step < self.warmup_steps, warm, rate)
        return rate

    def get_config(self):
        return {"learning_rate": self.learning_rate, "warmup_steps": self.warmup_steps,
                "decay": self.decay, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate}
