"""Recurrent layers unrolled through time: hand-written cells and the loop that runs them.

The cells (:class:`SimpleRNNCell`, :class:`LSTMCell`, :class:`GRUCell`) keep Keras' weight
layout, so a trained Keras ``SimpleRNN``/``LSTM``/``GRU`` and nnkit's twin exchange weights
with ``set_weights`` and compute the same outputs and gradients. :class:`RNN` runs any cell
(nnkit's or Keras') over a sequence, and can tap every hidden state hₜ for the gradient
‖∂L/∂hₜ‖ through time (:mod:`nnkit.instrument.through_time`).
"""

from nnkit.layers.recurrent.cells import GRUCell, LSTMCell, SimpleRNNCell
from nnkit.layers.recurrent.rnn import GRU, LSTM, RNN, SimpleRNN

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "SimpleRNN", "SimpleRNNCell"]
