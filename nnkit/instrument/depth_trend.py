"""How a per-layer statistic changes with depth: the least-squares slope of its log.

For a statistic s_l measured at layers l = 0 … L-1 (input first), fit

    log10 s_l ≈ a + b·l,

and report the factor per layer, 10^b, and the span across the whole depth,
10^(b·(L-1)): the fitted ratio of the output end to the input end. A fit over every
layer, rather than the first against the last, is not thrown by one odd layer (the
output layer's larger gradient, a wide first layer) and reads the rate the textbooks
derive: in a deep sigmoid net with Glorot weights the backward signal shrinks by about
σ'(0)·√(n·Var w) = 0.25·√2 per layer (Glorot & Bengio 2010; the notes, 003, on
vanishing and exploding gradients).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Trend:
    per_layer: float  # 10^b: the fitted factor from one layer to the next, toward the output
    span: float  # 10^(b·(L-1)): output end over input end
    layers: int  # how many layers the fit used


def depth_trend(log10_values: np.ndarray) -> Trend | None:
    """The trend of a statistic given as log10 per layer (input first); non-finite entries
    (a layer whose statistic is 0, NaN or infinite) are left out. None with fewer than
    two layers left."""
    values = np.asarray(log10_values, "float64")
    depth = np.flatnonzero(np.isfinite(values))
    if len(depth) < 2:
        return None
    slope = np.polyfit(depth.astype("float64"), values[depth], 1)[0]
    extent = depth[-1] - depth[0]
    with np.errstate(over="ignore"):  # a span past 1e308 is inf
        return Trend(float(np.power(10.0, slope)), float(np.power(10.0, slope * extent)),
                     len(depth))
