"""The three classic recurrent cells, one step hₜ = f(xₜ, hₜ₋₁), in Keras' weight layout.

Each cell holds ``kernel`` (input → gates, [in, k·units]), ``recurrent_kernel``
([units, k·units]) and ``bias``, with the gates in Keras' order, so weights copy between a
Keras layer and its nnkit twin unchanged. ``call(x, states)`` returns ``(h, new_states)``
with ``new_states[0] = h``, Keras' cell protocol; it is ``transition(project(x), states)``,
split so that :class:`~nnkit.layers.RNN` projects the inputs of all time steps in one
matrix product before the loop, which then does only the recurrent part.
"""

from __future__ import annotations

import keras
from keras import ops

from nnkit import activations, initializers


# The gates' σ: the backend's fused kernel, as in Keras' cells. nnkit's hand-written sigmoid
# (two guarded exponentials, about a dozen ops) made an LSTM step 2.1× slower on 2 CPU cores
# (T = 50, 64 units, measured 2026-12-07); any activation can be given instead.
GATE_ACTIVATION = "keras:sigmoid"


class _Cell(keras.layers.Layer):
    """Shared arguments and weights; subclasses set ``GATES`` and write :meth:`call`."""

    GATES = 1

    def __init__(self, units: int, activation="tanh", use_bias: bool = True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, **kwargs):
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"Received an invalid value for `units`, expected a positive "
                             f"integer. Received: units={units}")
        super().__init__(**kwargs)
        self.units, self.use_bias = units, use_bias
        self.activation = activation
        self._activation_fn = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    @property
    def state_size(self):
        return [self.units]

    @property
    def output_size(self):
        return self.units

    def call(self, inputs, states, training=False):
        """One step, Keras' cell protocol: ``transition(project(x), states)``."""
        return self.transition(self.project(inputs), states)

    def _bias_shape(self):
        return (self.GATES * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    def build(self, input_shape):
        width = self.GATES * self.units
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], width),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        self.recurrent_kernel = self.add_weight(name="recurrent_kernel",
                                                shape=(self.units, width),
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.kernel_regularizer)
        self.bias = (self.add_weight(name="bias", shape=self._bias_shape(),
                                     initializer=self._bias_initializer())
                     if self.use_bias else None)

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units, "activation": self.activation,
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "recurrent_initializer":
                    keras.initializers.serialize(self.recurrent_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer)}


@keras.saving.register_keras_serializable(package="nnkit")
class SimpleRNNCell(_Cell):
    """hₜ = g(xₜW + hₜ₋₁U + b) (Elman 1990), g = tanh by default.

    Through time, ∂hₜ/∂hₜ₋₁ = diag(g'(zₜ))Uᵀ: the gradient reaching h₁ is a product of T
    such factors, which vanishes or explodes with the spectral radius of U
    (Bengio et al. 1994; Pascanu et al. 2013).
    """

    def project(self, inputs):
        """The input's part xW + b, for every time step at once (one matrix product)."""
        z = ops.matmul(inputs, self.kernel)
        return z + self.bias if self.bias is not None else z

    def transition(self, projected, states):
        """One step from the projected input xₜW + b and the states."""
        h = self._activation_fn(projected + ops.matmul(states[0], self.recurrent_kernel))
        return h, [h]


@keras.saving.register_keras_serializable(package="nnkit")
class LSTMCell(_Cell):
    """Long short-term memory (Hochreiter & Schmidhuber 1997, with the forget gate of
    Gers et al. 2000), gates in Keras' order i, f, c, o:

        i, f, o = σ(·), c̃ = tanh(·)    of  xₜW + hₜ₋₁U + b
        cₜ = f ⊙ cₜ₋₁ + i ⊙ c̃,         hₜ = o ⊙ tanh(cₜ)

    ∂cₜ/∂cₜ₋₁ = diag(f): with f near 1 the cell state carries the gradient back through
    time unshrunk. ``forget_bias`` starts the forget gate's bias there (1.0, Jozefowicz
    et al. 2015; Keras' ``unit_forget_bias``); 0 leaves it to ``bias_initializer``.
    """

    GATES = 4

    def __init__(self, units: int, forget_bias: float = 1.0,
                 recurrent_activation=GATE_ACTIVATION, **kwargs):
        super().__init__(units, **kwargs)
        self.forget_bias = float(forget_bias)
        self.recurrent_activation = recurrent_activation
        self._gate_fn = activations.get(recurrent_activation)

    @property
    def state_size(self):
        return [self.units, self.units]

    def _bias_initializer(self):
        if not self.forget_bias:
            return self.bias_initializer
        base, units, forget = self.bias_initializer, self.units, self.forget_bias

        def initializer(shape, dtype=None):
            return ops.concatenate([base((units,), dtype), ops.full((units,), forget, dtype),
                                    base((2 * units,), dtype)])
        return initializer

    def project(self, inputs):
        """The input's part xW + b of the four gates, for every time step at once."""
        z = ops.matmul(inputs, self.kernel)
        return z + self.bias if self.bias is not None else z

    def transition(self, projected, states):
        """One step from the projected input and the states (h, c)."""
        h_previous, c_previous = states[0], states[1]
        z = projected + ops.matmul(h_previous, self.recurrent_kernel)
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        c = self._gate_fn(z_f) * c_previous + self._gate_fn(z_i) * self._activation_fn(z_c)
        h = self._gate_fn(z_o) * self._activation_fn(c)
        return h, [h, c]

    def get_config(self) -> dict:
        return {**super().get_config(), "forget_bias": self.forget_bias,
                "recurrent_activation": self.recurrent_activation}


@keras.saving.register_keras_serializable(package="nnkit")
class GRUCell(_Cell):
    """Gated recurrent unit (Cho et al. 2014) in Keras' default form (``reset_after``),
    gates in Keras' order z, r, h̃; the bias is [2, 3·units] (input part, recurrent part):

        z = σ(x W_z + b_z + h U_z + b'_z),   r = σ(x W_r + b_r + h U_r + b'_r)
        h̃ = tanh(x W_h + b_h + r ⊙ (h U_h + b'_h)),   hₜ = z ⊙ hₜ₋₁ + (1 − z) ⊙ h̃
    """

    GATES = 3

    def __init__(self, units: int, recurrent_activation=GATE_ACTIVATION, **kwargs):
        super().__init__(units, **kwargs)
        self.recurrent_activation = recurrent_activation
        self._gate_fn = activations.get(recurrent_activation)

    def _bias_shape(self):
        return (2, 3 * self.units)

    def project(self, inputs):
        """The input's part x W + b_in of the three gates, for every time step at once."""
        x = ops.matmul(inputs, self.kernel)
        return x + self.bias[0] if self.bias is not None else x

    def transition(self, projected, states):
        """One step from the projected input and the state h."""
        h_previous = states[0]
        r = ops.matmul(h_previous, self.recurrent_kernel)
        if self.bias is not None:
            r = r + self.bias[1]
        x_z, x_r, x_h = ops.split(projected, 3, axis=-1)
        r_z, r_r, r_h = ops.split(r, 3, axis=-1)
        z = self._gate_fn(x_z + r_z)
        candidate = self._activation_fn(x_h + self._gate_fn(x_r + r_r) * r_h)
        h = z * h_previous + (1.0 - z) * candidate
        return h, [h]

    def get_config(self) -> dict:
        return {**super().get_config(), "recurrent_activation": self.recurrent_activation}
