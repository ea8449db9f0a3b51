"""Per-layer series as one depth × step matrix, downsampled to a fixed number of columns.

What the dashboard draws (heatmap, all-layer lines, profile across depth) is one matrix per
run and quantity: a row per layer in depth order, a column per step or per bin of steps.
A run of 10,000 logged steps becomes at most ``columns`` bins of equal width in steps; a
cell is the mean of the transformed values (log10 for norms and ratios: the geometric
mean) of the steps it covers. A cell where a step was NaN or infinite is flagged
``nonfinite`` whatever the rest holds (a failing step is never averaged away), and in log
quantities a cell of exact zeros is flagged ``zero`` (log10 0 has no value to draw).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Quantity:
    title: str
    log: bool  # drawn as log10


QUANTITIES = {
    "grad_norm": Quantity("gradient norm ‖∇‖", True),
    "update_ratio": Quantity("update ratio ‖ΔW‖/‖W‖", True),
    "weight_norm": Quantity("weight norm ‖W‖", True),
    "activation_std": Quantity("activation std", True),
    "activation_mean": Quantity("activation mean", False),
    "dead_fraction": Quantity("dead fraction", False),
    "saturated_fraction": Quantity("saturated fraction", False),
    "gsnr": Quantity("gradient signal-to-noise ratio (logging.dynamics)", True),
}
# The logging.dynamics series, a chart each: its title and scale, and its tags (one row each;
# the sharpness beside the limit it is compared with)
DYNAMICS = {
    "sharpness": (Quantity("sharpness λ_max and its stability limit", True),
                  ("sharpness", "preconditioned_sharpness", "sharpness_limit")),
    "gradient_noise_scale": (Quantity("gradient noise scale B_simple", True),
                             ("gradient_noise_scale",)),
    "hessian_trace": (Quantity("Hessian trace", False), ("hessian_trace",)),
    "effective_rank": (Quantity("effective rank of the penultimate features", False),
                       ("effective_rank",)),
}
DEFAULT_COLUMNS = 400
# ‖∂L/∂hₜ‖ of a recurrent layer: ``through_time/<key>``, in the histogram format (bucket t
# from 1, its height the norm: nnkit.instrument.through_time.series_summary)
THROUGH_TIME = "through_time"


def step_bins(steps: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """(first step, last step) of each column for the logged ``steps`` (sorted, unique):
    one column per step when they fit, else ``columns`` bins of equal width in steps (the
    empty ones dropped)."""
    if len(steps) <= columns:
        return steps.copy(), steps.copy()
    edges = np.linspace(steps[0], steps[-1] + 1, columns + 1)
    index = np.searchsorted(edges, steps, side="right") - 1
    used = np.unique(index)
    first = np.array([steps[index == i][0] for i in used])
    last = np.array([steps[index == i][-1] for i in used])
    return first, last


def layer_matrix(series: dict[str, tuple[np.ndarray, np.ndarray]], layers: list[str],
                 quantity: str, columns: int = DEFAULT_COLUMNS, log: bool | None = None) -> dict:
    """The JSON the dashboard draws for ``series`` (layer key → (steps, values)), rows in
    the order of ``layers`` (those without a series left out); ``log`` defaults to the
    quantity's scale."""
    log = QUANTITIES[quantity].log if log is None else log
    rows = [key for key in layers if key in series]
    if not rows:
        return {"quantity": quantity, "log": log, "layers": [], "first_steps": [],
                "last_steps": [], "values": [], "nonfinite": [], "zero": []}
    steps = np.unique(np.concatenate([np.asarray(series[k][0], "int64") for k in rows]))
    first, last = step_bins(steps, columns)
    values = np.full((len(rows), len(first)), np.nan)
    nonfinite = np.zeros(values.shape, bool)
    zero = np.zeros(values.shape, bool)
    for r, key in enumerate(rows):
        at, raw = np.asarray(series[key][0], "int64"), np.asarray(series[key][1], float)
        column = np.searchsorted(first, at, side="right") - 1
        bad = ~np.isfinite(raw)
        np.logical_or.at(nonfinite[r], column[bad], True)
        usable = ~bad & ((raw > 0) if log else True)
        if log:
            np.logical_or.at(zero[r], column[~bad & (raw == 0)], True)
        with np.errstate(divide="ignore"):
            shown = np.log10(raw[usable]) if log else raw[usable]
        total = np.bincount(column[usable], shown, minlength=len(first))
        count = np.bincount(column[usable], minlength=len(first))
        with np.errstate(invalid="ignore"):
            values[r] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        zero[r] &= count == 0
    return {"quantity": quantity, "log": log, "layers": rows,
            "first_steps": first.tolist(), "last_steps": last.tolist(),
            "values": [[None if np.isnan(v) else round(float(v), 6) for v in row]
                       for row in values],
            "nonfinite": np.argwhere(nonfinite).tolist(), "zero": np.argwhere(zero).tolist()}


def profile_at(matrix: dict, step: int) -> tuple[int, list[float | None]]:
    """(the column's first step, its values per layer) of the column of ``matrix`` that
    holds ``step``, or the nearest one."""
    first, last = np.asarray(matrix["first_steps"]), np.asarray(matrix["last_steps"])
    if not len(first):
        return step, []
    inside = np.flatnonzero((first <= step) & (step <= last))
    column = int(inside[0]) if len(inside) else int(np.argmin(
        np.minimum(abs(first - step), abs(last - step))))
    return int(first[column]), [row[column] for row in matrix["values"]]


def time_matrix(steps: list[int], series: list[np.ndarray], columns: int = DEFAULT_COLUMNS
                ) -> dict:
    """The time × step matrix of one recurrent layer from its ``through_time`` histograms
    (``series[i]`` [T, 3] at ``steps[i]``: bucket t from 1, height ‖∂L/∂hₜ‖): a row per
    time step (t = 1 at the top), log10, binned over steps as :func:`layer_matrix` bins."""
    length = max(len(s) for s in series)
    rows = [f"t={t}" for t in range(1, length + 1)]
    at = np.asarray(steps, "int64")
    values = np.full((len(series), length), np.nan)
    for i, s in enumerate(series):
        values[i, :len(s)] = np.asarray(s, float)[:, 2]
    by_row = {row: (at, values[:, t]) for t, row in enumerate(rows)}
    return layer_matrix(by_row, rows, "grad_norm", columns, log=True)
