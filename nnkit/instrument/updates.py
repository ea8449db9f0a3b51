"""‖W‖ and ‖ΔW‖ per variable, measured around ``optimizer.apply``.

The update ratio ‖ΔW‖/‖W‖ needs the step's change of every weight, ΔW = W_after - W_before,
and the weights themselves, W = W_before: the point the step's gradient was taken at.
Two ways to get ΔW, picked when the step is traced (:func:`update_meter`):

* :class:`CapturedUpdates`: every Keras optimizer (and every nnkit one) changes a weight only
  through its own ``assign``/``assign_add``/``assign_sub``; wrapping those three while
  ``apply`` runs hands over the increment the optimizer already computed. ½‖ΔW‖² is then one
  reduction of a tensor that exists anyway: no copy of W, no subtraction. ½‖W‖² is reduced
  from W before the update, and each write waits for it: the read is then gone by the time
  W is written, so TensorFlow updates W in place (a read still held would make it copy W).
* :class:`SnapshotUpdates`: W is read before the update and subtracted after. Holding that
  read makes the update copy W (TensorFlow's copy-on-write), so it costs about three passes
  over the weights more: used only where a weight may change outside those three methods
  (weight decay, constraints, gradient accumulation, EMA overwrite, loss scaling,
  ``tf.distribute``, sparse gradients, optimizers from elsewhere).

Both give, after ``apply``, ``weight_squares()`` and ``update_squares()``: ½‖W‖² and
½‖ΔW‖² per variable (``tf.nn.l2_loss``), in the variables' order.
"""

from __future__ import annotations

import tensorflow as tf

_WRITERS = ("assign", "assign_add", "assign_sub")
_OWN_MODULES = ("keras.", "nnkit.")  # whose optimizers write weights only through _WRITERS


def _float(tensor) -> tf.Tensor:
    return tf.cast(tensor, tf.float32)


def can_capture(optimizer, variables, gradients) -> bool:
    """Whether every change ``optimizer.apply`` makes to ``variables`` goes through the
    optimizer's ``assign``/``assign_add``/``assign_sub`` with a dense value."""
    own_writes = (hasattr(optimizer, "_var_key")
                  and type(optimizer).__module__.startswith(_OWN_MODULES)
                  and type(optimizer).__name__ != "LossScaleOptimizer")
    if not own_writes:
        return False
    side_paths = (tf.distribute.has_strategy(), optimizer.weight_decay,
                  optimizer.gradient_accumulation_steps,
                  optimizer.use_ema and optimizer.ema_overwrite_frequency,
                  *(getattr(v, "constraint", None) is not None for v in variables),
                  *(getattr(v, "overwrite_with_gradient", False) for v in variables),
                  *(isinstance(g, tf.IndexedSlices) for g in gradients))
    return not any(side_paths)


class CapturedUpdates:
    """The increments the optimizer writes to the model's variables, while in ``with``."""

    def __init__(self, optimizer, variables):
        self.optimizer, self.variables = optimizer, variables
        self._index = {optimizer._var_key(v): i for i, v in enumerate(variables)}
        self._writes: list[list[tuple[float, tf.Tensor]]] = [[] for _ in variables]

    def __enter__(self):
        self._weight_squares = [tf.nn.l2_loss(_float(v)) for v in self.variables]
        for name in _WRITERS:
            object.__setattr__(self.optimizer, name, self._wrap(name))
        return self

    def __exit__(self, *exc):
        for name in _WRITERS:
            object.__delattr__(self.optimizer, name)

    def _wrap(self, name):
        write = getattr(self.optimizer, name)  # the bound method of the optimizer's class

        def capturing_write(variable, value):
            i = self._index.get(self.optimizer._var_key(variable))
            if i is not None:
                increment = _float(value)
                if name == "assign":
                    increment = increment - _float(variable)  # read before the write
                self._writes[i].append((-1.0 if name == "assign_sub" else 1.0, increment))
                with tf.control_dependencies([self._weight_squares[i]]):  # W read, then written
                    return write(variable, value)
            return write(variable, value)

        return capturing_write

    def weight_squares(self) -> list[tf.Tensor]:
        """½‖W‖² per variable, before the update."""
        return self._weight_squares

    def update_squares(self) -> list[tf.Tensor]:
        """½‖ΔW‖² per variable (0 for one the step did not change)."""
        return [tf.nn.l2_loss(self._delta(writes)) if writes else tf.constant(0.0)
                for writes in self._writes]

    @staticmethod
    def _delta(writes):
        """ΔW from the increments written (±, which a single one's norm needs not)."""
        if len(writes) == 1:
            return writes[0][1]
        return tf.add_n([sign * increment for sign, increment in writes])


class SnapshotUpdates:
    """W before (on entering ``with``) and after: the general, slower way."""

    def __init__(self, variables):
        self.variables = variables

    def __enter__(self):
        self._before = [tf.identity(_float(v)) for v in self.variables]
        return self

    def __exit__(self, *exc):
        pass

    def weight_squares(self) -> list[tf.Tensor]:
        return [tf.nn.l2_loss(b) for b in self._before]

    def update_squares(self) -> list[tf.Tensor]:
        return [tf.nn.l2_loss(_float(v) - b) for v, b in zip(self.variables, self._before)]


def update_meter(optimizer, variables, gradients):
    """The cheapest :class:`CapturedUpdates`/:class:`SnapshotUpdates` correct here."""
    if can_capture(optimizer, variables, gradients):
        return CapturedUpdates(optimizer, variables)
    return SnapshotUpdates(variables)
