"""The gradient-flow picture: mean gradient norm per layer, log scale.

Drawn to be read where TensorBoard shows it, an image card about 300 px wide: layers are
rows (input at the top) with their keys at 9 pt, so 30 layers stay legible; the bars are
this epoch's mean ‖∇‖ per layer, and the first epoch's is a grey tick on each row, so the
change over training shows in one picture.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

ROW_INCHES = 0.2


def gradient_flow_figure(keys: list[str], norms, title: str = "gradient flow", first=None):
    """Horizontal bars of ‖∇‖ per layer on a log axis (vanishing shows as bars shrinking
    toward the top); ``first``, the first epoch's norms, as grey ticks."""
    norms = np.asarray(norms, dtype=float)
    rows = np.arange(len(keys))
    label_inches = 0.075 * max((len(k) for k in keys), default=4)
    figure, axes = plt.subplots(figsize=(2.4 + label_inches, 0.9 + ROW_INCHES * len(keys)),
                                dpi=100)
    usable = np.isfinite(norms) & (norms > 0)
    axes.barh(rows, np.where(usable, norms, np.nan), height=0.7, color="#3b75af")
    shown = norms[usable]
    if first is not None:
        first = np.asarray(first, dtype=float)
        ok = np.isfinite(first) & (first > 0)
        axes.scatter(first[ok], rows[ok], marker="|", s=120, color="#555", zorder=3)
        shown = np.concatenate([shown, first[ok]])
    if len(shown):
        axes.set_xscale("log")
        axes.set_xlim(shown.min() / 3, shown.max() * 3)
    for i in np.flatnonzero(~np.isfinite(norms)):
        axes.annotate("NaN/Inf", (0.02, i), va="center", color="#b03030", fontsize=9,
                      xycoords=("axes fraction", "data"))
    axes.set_yticks(rows)
    axes.set_yticklabels(keys, fontsize=9)
    axes.set_ylim(len(keys) - 0.5, -0.5)  # input at the top
    axes.tick_params(axis="x", labelsize=9)
    axes.set_xlabel("mean ‖∇‖ per step", fontsize=9)
    axes.set_title(title if first is None else f"{title}\n(grey |: epoch 1)", fontsize=10)
    figure.tight_layout()
    return figure


def to_png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()
