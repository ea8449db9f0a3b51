"""Hand-written, serializable Keras layers."""

from nnkit.layers.activation import Activation
from nnkit.layers.alpha_dropout import AlphaDropout
from nnkit.layers.batch_norm import BatchNormalization
from nnkit.layers.dense import Dense
from nnkit.layers.dropout import Dropout
from nnkit.layers.layer_norm import LayerNormalization
from nnkit.layers.local_response_norm import LocalResponseNormalization
from nnkit.layers.prelu import PReLU, RReLU
from nnkit.layers.residual import ResidualBlock

__all__ = [
    "Activation", "AlphaDropout", "BatchNormalization", "Dense", "Dropout",
    "LayerNormalization", "LocalResponseNormalization", "PReLU", "RReLU", "ResidualBlock",
]
