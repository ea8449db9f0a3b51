"""The identity initializer: a layer that starts as the identity map (Le et al. 2015)."""

from __future__ import annotations

import keras
from keras import ops

from nnkit.initializers.base import check_positive


@keras.saving.register_keras_serializable(package="nnkit")
class Identity(keras.initializers.Initializer):
    """W = gain · I for a 2-D kernel; a non-square one gets ones on its leading diagonal.

    Le, Jaitly & Hinton (2015) start a ReLU RNN's recurrent kernel at the identity so that the
    hidden state is carried unchanged at first, which keeps gradients through time from
    vanishing or exploding at initialisation.

    Args:
        gain: the diagonal's value (default 1).
    """

    def __init__(self, gain: float = 1.0):
        check_positive("gain", gain)
        self.gain = float(gain)

    def __call__(self, shape, dtype=None):
        if len(shape) != 2:
            raise ValueError(f"Identity needs a 2-D kernel, got shape {tuple(shape)}")
        return self.gain * ops.eye(*shape, dtype=dtype or keras.backend.floatx())

    def get_config(self) -> dict:
        return {"gain": self.gain}
