"""The conditions the diagnosis looks for, one function per condition.

Each detector reads one observation and returns :class:`Verdict` s: for each place it
judged, whether the condition holds and the statistic's value. Three kinds of
observation, each from what the recorder already writes (no extra pass over the data):

* a :class:`GradientWindow`: the logged steps of a window (32 logged steps), per kernel
  the mean of log10 ‖∇W‖/‖W‖ (the gradient relative to the weights it moves: what a step
  of SGD changes, and free of the layer's width), and the mean global gradient norm;
* an :class:`ActivationRow`: one histogram step's activation statistics per layer (std,
  dead and saturated fractions) and distinct units per kernel;
* an :class:`EpochRow`: an epoch's mean training loss;
* a :class:`TimeWindow`: a recurrent layer's mean log10 ‖∂L/∂hₜ‖ per time step over a
  window of logged steps.

:data:`DETECTORS` maps each observation type to its detectors; :mod:`.findings` says what
each kind of finding means, its threshold and where it comes from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from nnkit.instrument.depth_trend import depth_trend


@dataclass
class Thresholds:
    """The diagnosis' thresholds (the ``logging`` section's ``*_threshold`` keys)."""

    vanishing: float = 1e-2  # ‖∇W‖/‖W‖ input end over output end below this
    exploding: float = 1e2  # ... above this
    exploding_norm: float = 1e3  # or the global gradient norm above this
    dead: float = 0.5  # fraction of a ReLU layer's units dead over the probe set
    signal_collapse: float = 1e-2  # activation std, output end over input end, below this
    signal_explosion: float = 1e2  # ... above this
    saturation: float = 0.5  # fraction of a sigmoid/tanh layer's outputs saturated
    stall_tolerance: float = 0.05  # loss within this fraction of the constant predictor's
    stall_epochs: int = 3  # ... after this many epochs


@dataclass
class Verdict:
    kind: str
    where: str
    firing: bool
    value: float
    worse: object = max  # max or min: which of two values is worse
    layers: list[str] = field(default_factory=list)
    detail: dict = field(default_factory=dict)


@dataclass
class GradientWindow:
    steps: tuple[int, int]  # first and last logged step of the window
    keys: list[str]  # the kernels' layers, input first
    log_relative: np.ndarray  # mean log10 ‖∇W‖/‖W‖ per kernel (NaN: W = 0 or not finite)
    global_norm: float  # mean global ‖∇‖ over the window's finite rows


@dataclass
class ActivationRow:
    step: int
    values: dict[str, dict[str, float]]  # tag prefix → layer key → value
    probed: list[str]  # layers with activation statistics, input first
    widths: dict[str, int]  # kernel layer key → units


@dataclass
class TimeWindow:
    steps: tuple[int, int]  # first and last logged step of the window
    layer: str  # the recurrent layer's key
    log_norms: np.ndarray  # mean log10 ‖∂L/∂hₜ‖ per time step t = 1 … T


@dataclass
class EpochRow:
    epoch: int  # 1-based
    steps: tuple[int, int]  # the steps the epoch ran
    loss: float  # its mean training loss
    baseline: float | None  # the loss of the best constant prediction (None: unknown)


def _span_words(keys: list[str], trend) -> dict:
    return {"per_layer": trend.per_layer, "span": trend.span, "kernels": trend.layers,
            "from": keys[0], "to": keys[-1]}


def gradient_depth(window: GradientWindow, t: Thresholds) -> list[Verdict]:
    """Vanishing or exploding gradients: the depth trend of ‖∇W‖/‖W‖ over the kernels.
    The statistic is the fitted ratio of the input end to the output end."""
    trend = depth_trend(window.log_relative)
    if trend is None:
        return []
    ratio = 1.0 / trend.span if trend.span > 0 else math.inf
    where = f"{window.keys[0]}..{window.keys[-1]}"
    detail = _span_words(window.keys, trend)
    detail["ratio"] = ratio
    return [Verdict("vanishing_gradients", where, ratio < t.vanishing, ratio, min,
                    list(window.keys), detail),
            Verdict("exploding_gradients", where, ratio > t.exploding, ratio, max,
                    list(window.keys), detail)]


def gradient_norm(window: GradientWindow, t: Thresholds) -> list[Verdict]:
    """Exploding gradients in absolute terms: the global norm above ``exploding_norm``."""
    if not math.isfinite(window.global_norm):
        return []
    return [Verdict("exploding_gradients", "global", window.global_norm > t.exploding_norm,
                    window.global_norm, max)]


def signal_depth(row: ActivationRow, t: Thresholds) -> list[Verdict]:
    """A collapsing or exploding forward signal: the depth trend of the activations' std
    (output end over input end), Glorot & Bengio 2010, He et al. 2015."""
    stds = row.values.get("activation_std", {})
    keys = [k for k in row.probed if k in stds]
    if len(keys) < 2:
        return []
    with np.errstate(divide="ignore", invalid="ignore"):
        trend = depth_trend(np.log10(np.array([stds[k] for k in keys], "float64")))
    if trend is None:
        return []
    where, detail = f"{keys[0]}..{keys[-1]}", _span_words(keys, trend)
    detail.update(first=stds[keys[0]], last=stds[keys[-1]])
    return [Verdict("signal_collapse", where, trend.span < t.signal_collapse, trend.span, min,
                    keys, detail),
            Verdict("signal_explosion", where, trend.span > t.signal_explosion, trend.span,
                    max, keys, detail)]


def _per_layer(prefix: str, kind: str, threshold: float):
    def detect(row: ActivationRow, t: Thresholds) -> list[Verdict]:
        limit = getattr(t, threshold)
        return [Verdict(kind, key, value > limit, value, max, [key])
                for key, value in row.values.get(prefix, {}).items() if math.isfinite(value)]

    detect.__doc__ = f"{kind}: {prefix} of a layer above the ``{threshold}`` threshold."
    return detect


def symmetry(row: ActivationRow, t: Thresholds) -> list[Verdict]:
    """Constant-initialisation symmetry: a layer of several units whose units all have the
    same weights (one distinct unit)."""
    return [Verdict("symmetric_layer", key, row.widths.get(key, 1) > 1 and count == 1, count,
                    min, [key], {"units": row.widths.get(key, 1)})
            for key, count in row.values.get("distinct_units", {}).items()
            if math.isfinite(count)]


def gradient_through_time(window: TimeWindow, t: Thresholds) -> list[Verdict]:
    """Vanishing or exploding gradients through time: the trend of ‖∂L/∂hₜ‖ over t (the
    same fit as over depth), as the fitted ratio of the first step to the last
    (Bengio et al. 1994; Pascanu et al. 2013); the depth thresholds apply."""
    trend = depth_trend(window.log_norms)
    if trend is None:
        return []
    ratio = 1.0 / trend.span if trend.span > 0 else math.inf
    detail = {"per_step": trend.per_layer, "steps": trend.layers, "ratio": ratio}
    return [Verdict("vanishing_through_time", window.layer, ratio < t.vanishing, ratio, min,
                    [window.layer], detail),
            Verdict("exploding_through_time", window.layer, ratio > t.exploding, ratio, max,
                    [window.layer], detail)]


def loss_level(row: EpochRow, t: Thresholds) -> list[Verdict]:
    """The epoch's loss against the loss of the best constant prediction (ln K for K
    balanced classes), from epoch ``stall_epochs`` on: within ``stall_tolerance`` of it,
    training has stalled (not started, or stopped learning anything from the inputs);
    above it by more, training is unstable (worse than ignoring the inputs: overshooting
    steps, confidently wrong predictions)."""
    if row.baseline is None or row.baseline <= 0 or not math.isfinite(row.loss):
        return []
    ratio, checked = row.loss / row.baseline, row.epoch >= t.stall_epochs
    detail = {"loss": row.loss, "baseline": row.baseline, "epoch": row.epoch}
    return [Verdict("stalled_training", "loss", checked and abs(ratio - 1) <= t.stall_tolerance,
                    ratio, max, [], detail),
            Verdict("unstable_training", "loss", checked and ratio > 1 + t.stall_tolerance,
                    ratio, max, [], detail)]


DETECTORS = {
    GradientWindow: [gradient_depth, gradient_norm],
    ActivationRow: [signal_depth,
                    _per_layer("dead_fraction", "dying_relu", "dead"),
                    _per_layer("saturated_fraction", "saturation", "saturation"),
                    symmetry],
    EpochRow: [loss_level],
    TimeWindow: [gradient_through_time],
}


def verdicts(observation, thresholds: Thresholds) -> list[Verdict]:
    """Every detector's verdicts on ``observation``."""
    return [v for detect in DETECTORS[type(observation)] for v in detect(observation, thresholds)]
