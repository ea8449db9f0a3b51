"""What every hand-written optimizer shares: slot creation and parameter checks."""

from __future__ import annotations

import keras


def check_range(name: str, value: float, low: float, high: float | None = None,
                low_inclusive: bool = True) -> float:
    """``value`` if low ≤ value < high (or low < value when not ``low_inclusive``)."""
    value = float(value)
    above = value >= low if low_inclusive else value > low
    below = high is None or value < high
    if not (above and below):
        left = "[" if low_inclusive else "("
        right = f"{high})" if high is not None else "inf)"
        raise ValueError(f"{name} must be in {left}{low}, {right}, got {value}")
    return value


class HandWrittenOptimizer(keras.optimizers.Optimizer):
    """A ``keras.optimizers.Optimizer`` whose update rule is written out in ``update_step``.

    Subclasses create per-variable state in ``build`` with :meth:`slots` and read it back
    with :meth:`slot`; Keras handles the learning-rate schedule, clipping, the step counter,
    ``tf.distribute`` and saving the state with the model.
    """

    def __init__(self, learning_rate, name: str, **kwargs):
        if not callable(learning_rate) and not isinstance(
            learning_rate, keras.optimizers.schedules.LearningRateSchedule
        ):
            check_range("learning_rate", learning_rate, 0.0, low_inclusive=False)
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)

    def slots(self, var_list, name: str, initializer="zeros") -> list:
        """One state variable shaped like each model variable, e.g. a velocity."""
        return [
            self.add_variable_from_reference(v, name, initializer=initializer) for v in var_list
        ]

    def slot(self, slots: list, variable):
        """The state variable in ``slots`` that belongs to ``variable``."""
        return slots[self._get_variable_index(variable)]
