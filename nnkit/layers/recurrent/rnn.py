"""The loop that runs a recurrent cell over a sequence, with a tap on every hidden state.

    h₀ = 0,   (hₜ, sₜ) = cell(xₜ, sₜ₋₁)   for t = 1 … T

returning h_T, or h₁ … h_T with ``return_sequences``. While a
:class:`~nnkit.instrument.through_time.HiddenStateTaps` is active, the loop adds a tensor
of zeros zₜ to each hₜ (to the output and to the state passed on): the values do not
change, and the gradient of the loss with respect to zₜ is the *total* derivative ∂L/∂hₜ,
through every later step, which the gradient with respect to the returned sequence is not
(that is only the direct part, through the layer's output at t).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from nnkit.layers.recurrent.cells import GRUCell, LSTMCell, SimpleRNNCell


@keras.saving.register_keras_serializable(package="nnkit")
class RNN(keras.layers.Layer):
    """Runs ``cell`` (nnkit's or any Keras cell whose first state is its output) over
    inputs [batch, time, features].

    Args:
        cell: a recurrent cell (``call(x, states) -> (h, states)``, ``state_size``).
        return_sequences: return every hₜ [batch, time, units] instead of h_T.
        unroll: a Python loop (a graph T steps long: faster for short sequences, as Keras'
            ``unroll``) instead of a ``tf.while_loop``.
    """

    def __init__(self, cell, return_sequences: bool = False, unroll: bool = False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(cell, dict):
            cell = keras.saving.deserialize_keras_object(cell)
        self.cell = cell
        self.return_sequences, self.unroll = bool(return_sequences), bool(unroll)
        self.input_spec = keras.layers.InputSpec(ndim=3)
        self.state_tap = None  # set by HiddenStateTaps while it is active

    @property
    def units(self) -> int:
        size = self.cell.state_size
        return int(size[0] if isinstance(size, (list, tuple)) else size)

    def build(self, input_shape):
        if not self.cell.built:  # (a deserialized cell comes built)
            self.cell.build((input_shape[0], input_shape[-1]))

    def compute_output_shape(self, input_shape):
        if self.return_sequences:
            return (input_shape[0], input_shape[1], self.units)
        return (input_shape[0], self.units)

    def _initial_states(self, batch, dtype):
        sizes = self.cell.state_size
        sizes = sizes if isinstance(sizes, (list, tuple)) else [sizes]
        return [ops.zeros((batch, int(size)), dtype) for size in sizes]

    def _tap(self, sequence):
        """zeros [time, batch, units], handed to the active tap to watch and keep; None
        when no tap is active (or Keras is tracing the layer to build it)."""
        tap = self.state_tap
        if tap is None or not tap.here():
            return None
        zeros = tf.zeros([tf.shape(sequence)[0], tf.shape(sequence)[1], self.units],
                         sequence.dtype)
        return tap.keep(self, zeros)

    def _step_functions(self, sequence, training):
        """(the inputs of every step, step(x, states) → (h, states)): nnkit's cells project
        all steps' inputs in one product here and run only the recurrent part per step;
        any other cell runs its whole ``call`` per step."""
        cell = self.cell
        if hasattr(cell, "project") and hasattr(cell, "transition"):
            return cell.project(sequence), cell.transition

        def step(x, states):
            h, states = cell(x, states, training=training)
            return h, list(states) if isinstance(states, (list, tuple)) else [states]
        return sequence, step

    def call(self, inputs, training=False):
        sequence = ops.transpose(inputs, (1, 0, 2))  # time major
        taps = self._tap(sequence)
        states = self._initial_states(ops.shape(inputs)[0], inputs.dtype)
        steps_in, step = self._step_functions(sequence, training)

        def advance(x, z, states):
            h, states = step(x, states)
            states = list(states)
            if z is not None:
                h = h + z
                states[0] = h
            return h, states

        if self.unroll:
            outputs = []
            for t in range(inputs.shape[1]):
                h, states = advance(steps_in[t], None if taps is None else taps[t], states)
                outputs.append(h)
            hidden = ops.stack(outputs) if self.return_sequences else outputs[-1]
        else:
            hidden = self._loop(advance, steps_in, taps, states)
        return ops.transpose(hidden, (1, 0, 2)) if self.return_sequences else hidden

    def _loop(self, advance, steps_in, taps, states):
        """``tf.while_loop`` over t. The inputs (and taps) are read through TensorArrays,
        whose gradient writes one slice per step (indexing a tensor in the loop would add a
        whole [T, ...] gradient per step); hₜ is kept for every step only with
        ``return_sequences``, and the cell's other states (an LSTM's c) never are."""
        length, dtype = tf.shape(steps_in)[0], steps_in.dtype
        read = [tf.TensorArray(dtype, size=length).unstack(steps_in)]
        if taps is not None:
            read.append(tf.TensorArray(taps.dtype, size=length).unstack(taps))

        def next_step(t, states):
            return advance(read[0].read(t), read[1].read(t) if taps is not None else None,
                           states)

        if self.return_sequences:
            def body(t, states, written):
                h, states = next_step(t, states)
                return t + 1, states, written.write(t, h)

            _, _, written = tf.while_loop(lambda t, *_: t < length, body,
                                          (tf.constant(0), states,
                                           tf.TensorArray(dtype, size=length)))
            hidden = written.stack()
            hidden.set_shape([steps_in.shape[0], *states[0].shape])  # static T kept
            return hidden

        def last(t, h, states):
            h, states = next_step(t, states)
            return t + 1, h, states

        _, h, _ = tf.while_loop(lambda t, *_: t < length, last,
                                (tf.constant(0), tf.zeros_like(states[0]), states))
        return h

    def get_config(self) -> dict:
        return {**super().get_config(), "cell": keras.saving.serialize_keras_object(self.cell),
                "return_sequences": self.return_sequences, "unroll": self.unroll}


class _Named(RNN):
    """An RNN that builds its own cell from the cell's arguments (Keras' ``LSTM(units)``)."""

    CELL = None

    def __init__(self, units: int, return_sequences: bool = False, unroll: bool = False,
                 cell=None, **kwargs):
        base = {k: kwargs.pop(k) for k in ("name", "dtype", "trainable") if k in kwargs}
        self._cell_config = {"units": units, **kwargs}
        super().__init__(self.CELL(units, name="cell", **kwargs), return_sequences, unroll,
                         **base)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["cell"]
        return {**config, **self._cell_config}


@keras.saving.register_keras_serializable(package="nnkit")
class SimpleRNN(_Named):
    """Keras' ``SimpleRNN`` twin: :class:`RNN` over a :class:`SimpleRNNCell`."""

    CELL = SimpleRNNCell

    @property
    def activation(self):
        """The cell's activation, which the output hₜ is (activation statistics read it)."""
        return self.cell.activation


@keras.saving.register_keras_serializable(package="nnkit")
class LSTM(_Named):
    """Keras' ``LSTM`` twin: :class:`RNN` over an :class:`LSTMCell`."""

    CELL = LSTMCell


@keras.saving.register_keras_serializable(package="nnkit")
class GRU(_Named):
    """Keras' ``GRU`` twin (``reset_after=True``): :class:`RNN` over a :class:`GRUCell`."""

    CELL = GRUCell
