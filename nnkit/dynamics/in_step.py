"""Per-example gradient statistics from the training step's own backward pass.

``logging.dynamics.gradient_noise_on: batch``: on a due step, the training step runs its
forward pass with :class:`~nnkit.dynamics.taps.PreactivationTaps` on, asks its one
``tape.gradient`` for the pre-activations' gradients beside the variables' (the backward
pass computes them anyway), and turns them into Σᵢgᵢ² by the identities of
:mod:`~nnkit.dynamics.taps` (one product per Dense or conv layer). What that adds to the step
is those products and a few reductions, not a second forward and backward pass on a probe.

The quantities are the training batch's, in training mode, as the optimizer sees them: with
Keras' mean loss L = (1/B) Σᵢ wᵢℓᵢ, example i's gradient at its pre-activation is
B·∂L/∂zᵢ. Only the variables of tapped layers (Dense, Conv1D/2D) are measured: B_simple is
over them, and GSNR is given for their layers. Batch normalisation in training mode couples
the examples, so their "per-example" gradients then carry that coupling.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from nnkit.dynamics.noise import variable_rows
from nnkit.dynamics.taps import PreactivationTaps, per_example_squares, per_example_sums

ATTRIBUTE = "_nnkit_step_noise"  # on the model instance: its StepNoise


class StepNoise:
    """The per-example statistics of the training steps numbered ``every`` apart, kept in
    variables the callback reads after the step."""

    def __init__(self, model, every: int):
        self.model, self.every = model, int(every)
        self.taps = PreactivationTaps(model)
        count = len(model.trainable_variables)
        with tf.init_scope():  # the rows per variable, then (loss, batch size, steps, 0, 0)
            self.state = tf.Variable(tf.zeros([count + 1, 5]), trainable=False)

    def read(self) -> tuple[np.ndarray, float, int, int]:
        """(rows [V, 5], loss, batch size, steps recorded so far): one read of the state."""
        state = self.state.numpy().astype(np.float64)
        return state[:-1], float(state[-1, 0]), int(state[-1, 1]), int(state[-1, 2])

    def due(self, step: int) -> bool:
        return step % self.every == 0

    def pre_activations(self) -> tuple[list, list]:
        """(the tapped layers called once, their pre-activations) after the forward pass."""
        layers = [layer for layer, _ in self.taps.layers if self.taps.usable(layer) is not None]
        return layers, [self.taps.usable(layer)[1] for layer in layers]

    def record(self, layers, z_gradients, gradients, batch, loss, scale=None) -> None:
        """Store the rows of the step (in the compiled step): ``z_gradients`` and
        ``gradients`` are the tape's, of the (scaled) mean loss."""
        model, variables = self.model, self.model.trainable_variables
        index = {id(v): i for i, v in enumerate(variables)}
        size = tf.cast(batch, tf.float32)
        unscale = 1.0 if scale is None else 1.0 / tf.cast(scale, tf.float32)
        firsts, seconds = [None] * len(variables), [None] * len(variables)
        regularized = bool(model.losses)
        for layer, delta in zip(layers, z_gradients):
            a = self.taps.usable(layer)[0]
            per_example = tf.cast(delta, tf.float32) * unscale * size  # B·∂L/∂zᵢ
            squares = per_example_squares(layer, a, per_example)
            sums = (None, None) if not regularized else per_example_sums(layer, a, per_example)
            for variable, s2, s1 in zip((layer.kernel, layer.bias), squares, sums):
                if variable is None or id(variable) not in index:
                    continue
                i = index[id(variable)]
                if s1 is None:  # no regularization: Σᵢgᵢ is B times the step's gradient
                    s1 = tf.cast(tf.convert_to_tensor(gradients[i]), tf.float32) * unscale * size
                firsts[i], seconds[i] = s1, s2
        last = tf.stack([tf.cast(loss, tf.float32), size, self.state[-1, 2] + 1.0, 0.0, 0.0])
        self.state.assign(tf.concat([variable_rows(firsts, seconds, size), last[None]], 0))


def step_noise(model) -> StepNoise | None:
    return getattr(model, ATTRIBUTE, None)
