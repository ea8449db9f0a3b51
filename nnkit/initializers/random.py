"""Random initializers with explicit moments, so "too small" and "too large" can be set."""

from __future__ import annotations

import keras

from nnkit.initializers.base import SeededInitializer, check_positive


@keras.saving.register_keras_serializable(package="nnkit")
class RandomNormal(SeededInitializer):
    """W ~ N(mean, stddev²).

    Args:
        mean: the mean (default 0).
        stddev: the standard deviation (default 0.05, as Keras).
        seed: an integer, a ``keras.random.SeedGenerator`` or None (drawn from the global seed).
    """

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed=None):
        check_positive("stddev", stddev)
        super().__init__(seed)
        self.mean, self.stddev = float(mean), float(stddev)

    def __call__(self, shape, dtype=None):
        return keras.random.normal(shape, self.mean, self.stddev, dtype=dtype, seed=self.seed)

    def get_config(self) -> dict:
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


@keras.saving.register_keras_serializable(package="nnkit")
class TruncatedNormal(RandomNormal):
    """W ~ N(mean, stddev²) with values beyond 2·stddev from the mean redrawn.

    The variance of the result is stddev² · 0.7737 (the truncation removes the tails).
    """

    def __call__(self, shape, dtype=None):
        return keras.random.truncated_normal(
            shape, self.mean, self.stddev, dtype=dtype, seed=self.seed
        )


@keras.saving.register_keras_serializable(package="nnkit")
class RandomUniform(SeededInitializer):
    """W ~ U[minval, maxval): mean (a+b)/2, variance (b-a)²/12.

    Args:
        minval, maxval: the range (default -0.05, 0.05, as Keras).
        seed: an integer, a ``keras.random.SeedGenerator`` or None (drawn from the global seed).
    """

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed=None):
        if not maxval > minval:
            raise ValueError(f"maxval must be > minval, got minval={minval}, maxval={maxval}")
        super().__init__(seed)
        self.minval, self.maxval = float(minval), float(maxval)

    def __call__(self, shape, dtype=None):
        return keras.random.uniform(shape, self.minval, self.maxval, dtype=dtype, seed=self.seed)

    def get_config(self) -> dict:
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}
