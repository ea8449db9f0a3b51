"""Alpha dropout (Klambauer et al. 2017): dropout that keeps SELU's fixed point."""

from __future__ import annotations

import keras
from keras import ops

from nnkit.activations.functions import SELU_ALPHA, SELU_SCALE
from nnkit.layers.dropout import Dropout

SATURATION = -SELU_SCALE * SELU_ALPHA  # α' = -λα ≈ -1.7581, SELU's value at -∞


@keras.saving.register_keras_serializable(package="nnkit")
class AlphaDropout(Dropout):
    """Training: y = a·(x ⊙ d + α'(1 - d)) + b, d ~ Bernoulli(1 - q); inference: y = x.

    Plain dropout sets units to 0, which for a SELU network is not the activations' mean and
    shrinks their variance, so the self-normalising fixed point (mean 0, variance 1) is lost.
    Alpha dropout sets dropped units to α' = -λα, the value SELU saturates at, then restores the
    moments with an affine map. For inputs of mean 0 and variance 1 (Klambauer et al. 2017,
    section "New dropout technique"):

        a = ((1 - q)(1 + q·α'²))^(-1/2),   b = -a·α'·q,

    so that E[y] = 0 and Var[y] = 1 again (q is ``rate``).

    Args:
        rate: q, the fraction of units dropped, in [0, 1). (Keras accepts 1, where a is
            infinite; nnkit refuses it.)
        noise_shape: the shape of the mask, broadcast over the input, as Keras'.
        seed: an integer seed, or None to follow the global seed.

    Equal to ``keras.layers.AlphaDropout`` with the same seed (the same draws, in the same
    order); masks pass through unchanged.
    """

    def __init__(self, rate: float, noise_shape=None, seed: int | None = None, **kwargs):
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"rate must be in [0, 1) for alpha dropout, got {rate}")
        super().__init__(rate, noise_shape=noise_shape, seed=seed, **kwargs)

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        q = self.rate
        u = keras.random.uniform(self._mask_shape(inputs), seed=self.seed_generator)
        kept = ops.cast(u >= q, inputs.dtype)
        a = ((1.0 - q) * (1.0 + q * SATURATION ** 2)) ** -0.5
        b = -a * SATURATION * q
        return a * (inputs * kept + SATURATION * (1.0 - kept)) + b
