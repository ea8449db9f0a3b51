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

import contextlib

import numpy as np
import tensorflow as tf


def recurrent_layers(model) -> list:
    """nnkit's RNN layers in ``model``, depth first (the ones whose hidden states tap)."""
    from nnkit.layers.recurrent import RNN

    return [layer for layer in model._flatten_layers(include_self=False)
            if isinstance(layer, RNN)]


class HiddenStateTaps:
    """Taps on the hidden states of ``layers`` (nnkit RNN layers; sequence lengths fixed)."""

    def __init__(self, layers: list):
        self.layers = list(layers)
        self._watch = self._graph = None
        self.kept: dict[int, object] = {}

    def here(self) -> bool:
        """Whether the layer is being called in the pass the taps are active for."""
        return self._watch is not None and tf.compat.v1.get_default_graph() is self._graph

    def keep(self, layer, zeros):
        """Watch ``zeros`` (a layer's taps, [time, batch, units]) and keep the first call's."""
        self._watch(zeros)
        self.kept.setdefault(id(layer), zeros)
        return zeros

    @contextlib.contextmanager
    def active(self, watch):
        """Within: each layer's hidden states are tapped; ``watch`` is the tape's."""
        self.kept = {}
        self._watch, self._graph = watch, tf.compat.v1.get_default_graph()
        for layer in self.layers:
            layer.state_tap = self
        try:
            yield self
        finally:
            self._watch = None
            for layer in self.layers:
                layer.state_tap = None

    def taps(self) -> list:
        """The kept zeros, one per layer in order (None: the layer was not called)."""
        return [self.kept.get(id(layer)) for layer in self.layers]


def norms_through_time(gradient) -> tf.Tensor:
    """‖∂L/∂hₜ‖ per time step [time] from the gradient at the taps [time, batch, units]."""
    gradient = tf.cast(gradient, tf.float32)
    return tf.sqrt(tf.reduce_sum(tf.square(gradient), axis=[1, 2]))


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

    def squares(self, tap_gradients: list, scale=None):
        """One row (inside the step, in every replica): Σ over batch and units of
        (∂L/∂hₜ)², per layer and t, summed over replicas; NaN for a layer the pass did not
        call. Under mixed precision ``scale`` is the loss scale the gradients carry."""
        from nnkit.training import distribute

        squares = []
        for length, gradient in zip(self.lengths, tap_gradients):
            if gradient is None:
                squares.append(tf.fill([length], float("nan")))
                continue
            gradient = tf.cast(gradient, tf.float32)
            if scale is not None:
                gradient = gradient / tf.cast(scale, tf.float32)
            squares.append(tf.reduce_sum(tf.square(gradient), axis=[1, 2]))
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
