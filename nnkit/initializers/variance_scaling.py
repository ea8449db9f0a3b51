"""Variance scaling: the family behind Glorot, He and LeCun initialisation.

Keeping Var(W) = scale / n, with n a fan of the kernel, keeps the variance of activations
(forward) or of gradients (backward) from growing or shrinking from layer to layer:

* Glorot/Xavier (2010): scale 1, n = (fan_in + fan_out) / 2 → Var = 2 / (fan_in + fan_out)
* He/Kaiming (2015):    scale 2, n = fan_in → Var = 2 / fan_in (ReLU halves the variance)
* LeCun (1998):         scale 1, n = fan_in → Var = 1 / fan_in (SELU's requirement)

Normal: W ~ N(0, scale/n). Truncated normal: the same variance after truncation at 2σ
(σ is divided by 0.8796, the std of a unit normal truncated at ±2). Uniform: W ~ U[-l, l]
with l = √(3·scale/n), whose variance l²/3 = scale/n.
"""

from __future__ import annotations

import math

import keras

from nnkit.initializers.base import SeededInitializer, check_positive, compute_fans

MODES = ("fan_in", "fan_out", "fan_avg")
DISTRIBUTIONS = ("normal", "truncated_normal", "uniform")
TRUNCATED_STD = 0.87962566103423978  # std of N(0, 1) truncated to [-2, 2]


@keras.saving.register_keras_serializable(package="nnkit")
class VarianceScaling(SeededInitializer):
    """W with Var(W) = scale / n, n the fan given by ``mode``.

    Args:
        scale: positive scale (default 1).
        mode: ``fan_in``, ``fan_out`` or ``fan_avg``.
        distribution: ``normal``, ``truncated_normal`` (default, as Keras) or ``uniform``.
        seed: an integer seed, or None to draw one from the global seed.
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        check_positive("scale", scale)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if distribution not in DISTRIBUTIONS:
            raise ValueError(
                f"distribution must be one of {', '.join(DISTRIBUTIONS)}, got {distribution!r}"
            )
        super().__init__(seed)
        self.scale, self.mode, self.distribution = float(scale), mode, distribution

    def variance(self, shape) -> float:
        """The target variance scale / n for a kernel of this shape."""
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        return self.scale / max(1.0, n)

    def __call__(self, shape, dtype=None):
        variance = self.variance(shape)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return keras.random.uniform(shape, -limit, limit, dtype=dtype, seed=self.seed)
        if self.distribution == "truncated_normal":
            stddev = math.sqrt(variance) / TRUNCATED_STD
            return keras.random.truncated_normal(shape, 0.0, stddev, dtype=dtype, seed=self.seed)
        return keras.random.normal(shape, 0.0, math.sqrt(variance), dtype=dtype, seed=self.seed)

    def get_config(self) -> dict:
        return {
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            **super().get_config(),
        }


def _named(class_name: str, scale: float, mode: str, distribution: str, doc: str):
    """A VarianceScaling with fixed settings, as its own serializable class."""

    def __init__(self, seed=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self):
        return SeededInitializer.get_config(self)

    cls = type(class_name, (VarianceScaling,), {
        "__init__": __init__, "get_config": get_config, "__doc__": doc, "__module__": __name__,
    })
    return keras.saving.register_keras_serializable(package="nnkit")(cls)


GlorotNormal = _named("GlorotNormal", 1.0, "fan_avg", "truncated_normal",
                      "Glorot/Xavier normal: Var = 2/(fan_in+fan_out), truncated normal.")
GlorotUniform = _named("GlorotUniform", 1.0, "fan_avg", "uniform",
                       "Glorot/Xavier uniform: U[-l, l], l = √(6/(fan_in+fan_out)).")
HeNormal = _named("HeNormal", 2.0, "fan_in", "truncated_normal",
                  "He/Kaiming normal: Var = 2/fan_in, truncated normal (for ReLU).")
HeUniform = _named("HeUniform", 2.0, "fan_in", "uniform",
                   "He/Kaiming uniform: U[-l, l], l = √(6/fan_in) (for ReLU).")
LecunNormal = _named("LecunNormal", 1.0, "fan_in", "truncated_normal",
                     "LeCun normal: Var = 1/fan_in, truncated normal (for SELU).")
LecunUniform = _named("LecunUniform", 1.0, "fan_in", "uniform",
                      "LeCun uniform: U[-l, l], l = √(3/fan_in).")
