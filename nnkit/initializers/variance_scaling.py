"""Variance scaling: the family behind Glorot, He and LeCun initialisation.

Keeping Var(W) = scale / n, with n a fan of the kernel, keeps the variance of activations
(forward) or of gradients (backward) from growing or shrinking from layer to layer:

* Glorot/Xavier (2010): scale 1, n = (fan_in + fan_out) / 2 → Var = 2 / (fan_in + fan_out)
* He/Kaiming (2015):    scale 2, n = fan_in → Var = 2 / fan_in (ReLU halves the variance)
* LeCun (1998):         scale 1, n = fan_in → Var = 1 / fan_in (SELU's requirement)

Truncated normal: W ~ N(0, σ²) cut at ±2σ, with σ = √(scale/n) / 0.8796 so that the variance
after truncation is scale/n (0.8796 is the std of a unit normal truncated at ±2). Untruncated
normal: W ~ N(0, scale/n). Uniform: W ~ U[-l, l] with l = √(3·scale/n), whose variance
l²/3 = scale/n. As in Keras, ``"normal"`` means the truncated normal.
"""

from __future__ import annotations

import math

import keras

from nnkit.initializers.base import SeededInitializer, check_positive, compute_fans

MODES = ("fan_in", "fan_out", "fan_avg")
DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")
ALIASES = {"normal": "truncated_normal"}  # Keras' reading of "normal"
TRUNCATED_STD = 0.87962566103423978  # std of N(0, 1) truncated to [-2, 2]


@keras.saving.register_keras_serializable(package="nnkit")
class VarianceScaling(SeededInitializer, keras.initializers.VarianceScaling):
    """W with Var(W) = scale / n, n the fan given by ``mode``.

    Args:
        scale: positive scale (default 1).
        mode: ``fan_in``, ``fan_out`` or ``fan_avg``.
        distribution: ``truncated_normal`` (default, as Keras; ``normal`` is read as this, as
            Keras reads it), ``untruncated_normal`` or ``uniform``.
        seed: an integer, a ``keras.random.SeedGenerator`` or None (drawn from the global seed).
        input_axes, output_axes: the kernel's input and output axes, for the fans of kernels
            that are not (…, in, out). EinsumDense and MultiHeadAttention set them on any
            initializer of this family, which is why the class also counts as Keras'
            ``VarianceScaling`` (the computation is nnkit's own).
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 input_axes=None, output_axes=None):
        check_positive("scale", scale)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        distribution = ALIASES.get(str(distribution).lower(), str(distribution).lower())
        if distribution not in DISTRIBUTIONS:
            raise ValueError(
                f"distribution must be one of {', '.join(DISTRIBUTIONS)} (or normal, read as "
                f"truncated_normal), got {distribution!r}"
            )
        SeededInitializer.__init__(self, seed)
        self.scale, self.mode, self.distribution = float(scale), mode, distribution
        self.input_axes = None if input_axes is None else [int(a) for a in input_axes]
        self.output_axes = None if output_axes is None else [int(a) for a in output_axes]

    def variance(self, shape) -> float:
        """The target variance scale / n for a kernel of this shape."""
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
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
            **SeededInitializer.get_config(self),
            "input_axes": self.input_axes,
            "output_axes": self.output_axes,
        }


def _named(class_name: str, scale: float, mode: str, distribution: str, doc: str):
    """A VarianceScaling with fixed settings, as its own serializable class."""

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed, input_axes, output_axes)

    def get_config(self):
        config = SeededInitializer.get_config(self)
        if self.input_axes is not None or self.output_axes is not None:
            config.update(input_axes=self.input_axes, output_axes=self.output_axes)
        return config

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
