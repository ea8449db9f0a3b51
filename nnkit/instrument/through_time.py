"""‖∂L/∂hₜ‖ through time: the gradient reaching each hidden state of a recurrent layer.

Backpropagation through time multiplies the gradient by ∂hₜ/∂hₜ₋₁ once per step, so what
reaches h₁ from a loss at T is a product of T Jacobians: it vanishes or explodes
geometrically with T (Bengio et al. 1994; Pascanu et al. 2013). The picture of that is
‖∂L/∂hₜ‖ against t.

While :meth:`HiddenStateTaps.active` (inside the training step's ``GradientTape``), every
nnkit :class:`~nnkit.layers.RNN` in the model adds a watched tensor of zeros zₜ to each
hidden state; the step asks the same backward pass for ∂L/∂z, which is the total ∂L/∂hₜ
(:mod:`nnkit.layers.recurrent.rnn`), and :func:`norms_through_time` reduces it to one
norm per time step over the batch and the units: ‖∂L/∂hₜ‖ = (Σᵢ Σⱼ (∂L/∂hₜᵢⱼ)²)^½.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from nnkit.instrument.forward_taps import ForwardTaps


class HiddenStateTaps(ForwardTaps):
    """Taps on the hidden states of ``layers`` (nnkit RNN layers): each keeps its zeros
    [time, batch, units], watched by the tape."""

    def __init__(self, layers: list):
        super().__init__(layers, "state_tap")


def squares_through_time(gradient) -> tf.Tensor:
    """Σ over batch and units of (∂L/∂hₜ)² per time step [time], from the gradient at the
    taps [time, batch, units]."""
    return tf.reduce_sum(tf.square(tf.cast(gradient, tf.float32)), axis=[1, 2])


def norms_through_time(gradient) -> tf.Tensor:
    """‖∂L/∂hₜ‖ per time step [time] from the gradient at the taps [time, batch, units]."""
    return tf.sqrt(squares_through_time(gradient))


def sequence_length(layer) -> int | None:
    """The fixed number of time steps ``layer`` runs (None: unknown until called)."""
    try:
        shape = layer.input.shape
    except (AttributeError, ValueError):
        shape = getattr(layer, "_build_shapes_dict", None) or {}
        shape = next(iter(shape.values()), None) if isinstance(shape, dict) else None
    length = shape[1] if shape is not None and len(shape) == 3 else None
    return int(length) if length else None


class TimeRecorder:
    """Stores ‖∂L/∂hₜ‖² per time step of each tapped layer on the scalar steps, and writes
    at each flush (from Python):

    * ``through_time/<key>``: the series ‖∂L/∂hₜ‖ over t = 1 … T, written in
      TensorBoard's histogram format with bucket [t, t + 1) of height ‖∂L/∂hₜ‖, so the
      Histograms tab draws one curve against t per logged step, stacked by step (the
      height is a norm, not a count);
    * ``through_time_ratio/<key>``: ‖∂L/∂h₁‖ / ‖∂L/∂h_T‖, the gradient reaching the first
      step over the last's (≪ 1: vanishing through time; ≫ 1: exploding).
    """

    def __init__(self, plans: list):
        from nnkit.instrument.summaries import ScalarRows, ScalarWriter

        self.plans = plans
        self.lengths = [sequence_length(p.layer) for p in plans]
        self.taps = HiddenStateTaps([p.layer for p in plans])
        self.rows = ScalarRows(sum(self.lengths))
        self.ratio_tags = [f"through_time_ratio/{p.key}" for p in plans]
        self.series_tags = [f"through_time/{p.key}" for p in plans]
        self._ratio_writer = ScalarWriter(self.ratio_tags)
        self._series_first = True

    @classmethod
    def for_plans(cls, plans: list):
        """The recorder of the planned nnkit RNN layers of known length, or None."""
        from nnkit.layers.recurrent import RNN

        tapped = [p for p in plans if isinstance(p.layer, RNN) and sequence_length(p.layer)]
        return cls(tapped) if tapped else None

    def squares(self, gradients: list, scale=None):
        """One row (inside the step, in every replica): Σ over batch and units of
        (∂L/∂hₜ)², per layer and t, summed over replicas, from ``gradients``, the tape's at
        the taps the pass kept (:meth:`HiddenStateTaps.called`); NaN for a layer it did not
        call. Under mixed precision ``scale`` is the loss scale the gradients carry."""
        from nnkit.training import distribute

        given = iter(gradients)
        squares = []
        for length, tap in zip(self.lengths, self.taps.taps()):
            if tap is None:
                squares.append(tf.fill([length], float("nan")))
                continue
            gradient = next(given)
            if scale is not None:
                gradient = tf.cast(gradient, tf.float32) / tf.cast(scale, tf.float32)
            squares.append(squares_through_time(gradient))
        return distribute.all_reduce_sum([tf.concat(squares, 0)])[0]

    def take(self) -> tuple[list[np.ndarray], np.ndarray]:
        """(‖∂L/∂hₜ‖ per layer [k, T_l], steps [k]) of the rows stored since the last call."""
        rows, steps = self.rows.take()
        norms = np.sqrt(np.maximum(rows.astype("float64"), 0.0))
        bounds = np.cumsum([0, *self.lengths])
        return [norms[:, a:b] for a, b in zip(bounds[:-1], bounds[1:])], steps

    def write(self, event_file, norms: list[np.ndarray], steps: np.ndarray) -> None:
        """Write the series and the ratios of ``norms`` (from :meth:`take`)."""
        if not len(steps):
            return
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = np.stack([n[:, 0] / n[:, -1] for n in norms], axis=1)
        self._ratio_writer.write(event_file, ratios.astype("float32"), steps)
        for row, step in enumerate(steps):
            event_file.write(series_summary(self.series_tags, [n[row] for n in norms],
                                            self._series_first), int(step))
            self._series_first = False


def series_summary(tags: list[str], series: list[np.ndarray], metadata: bool) -> bytes:
    """A serialized ``Summary`` holding each series [T] as a histogram: bucket t (1-based)
    spans [t, t + 1) and its height is the series' value at t."""
    from tensorboard.compat.proto import summary_pb2
    from tensorboard.plugins.histogram import metadata as histogram_metadata
    from tensorboard.util import tensor_util

    summary = summary_pb2.Summary()
    meta = histogram_metadata.create_summary_metadata(display_name="", description="")
    for tag, values in zip(tags, series):
        t = np.arange(1, len(values) + 1, dtype="float64")
        buckets = np.stack([t, t + 1, np.nan_to_num(values, nan=0.0, posinf=0.0)], axis=1)
        value = summary.value.add(tag=tag)
        value.tensor.CopyFrom(tensor_util.make_tensor_proto(buckets, dtype="float64"))
        if metadata:
            value.metadata.CopyFrom(meta)
    return summary.SerializeToString()
