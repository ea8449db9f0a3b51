"""Hand-written, serializable Keras layers."""

from nnkit.layers.activation import Activation
from nnkit.layers.alpha_dropout import AlphaDropout
from nnkit.layers.attention import MultiHeadAttention
from nnkit.layers.batch_norm import BatchNormalization
from nnkit.layers.dense import Dense
from nnkit.layers.dropout import Dropout
from nnkit.layers.layer_norm import LayerNormalization
from nnkit.layers.local_response_norm import LocalResponseNormalization
from nnkit.layers.positional import PositionalEncoding
from nnkit.layers.prelu import PReLU, RReLU
from nnkit.layers.recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, SimpleRNN, SimpleRNNCell
from nnkit.layers.residual import ResidualBlock
from nnkit.layers.shortcut import PaddedShortcut

__all__ = [
    "Activation", "AlphaDropout", "BatchNormalization", "Dense", "Dropout",
    "GRU", "GRUCell", "LSTM", "LSTMCell", "LayerNormalization", "LocalResponseNormalization",
    "MultiHeadAttention", "PReLU", "PaddedShortcut", "PositionalEncoding", "RNN", "RReLU",
    "ResidualBlock", "SimpleRNN", "SimpleRNNCell",
]
