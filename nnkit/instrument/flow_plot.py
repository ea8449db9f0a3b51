"""The gradient-flow picture: mean gradient norm per layer, log scale."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def gradient_flow_figure(keys: list[str], norms, title: str = "gradient flow"):
    """Bars of ‖∇‖ per layer (input at the left), on a log axis: vanishing shows as a slope."""
    norms = np.asarray(norms, dtype=float)
    figure, axes = plt.subplots(figsize=(max(4.0, 0.45 * len(keys) + 2), 3.2), dpi=100)
    usable = np.isfinite(norms) & (norms > 0)
    axes.bar(range(len(keys)), np.where(usable, norms, 0.0), color="#3b75af")
    if usable.any():
        axes.set_yscale("log")
        axes.set_ylim(bottom=norms[usable].min() / 10)
    for i in np.flatnonzero(~np.isfinite(norms)):
        axes.annotate("NaN/Inf", (i, 0), ha="center", va="bottom", color="#b03030", fontsize=7,
                      xycoords=("data", "axes fraction"))
    axes.set_xticks(range(len(keys)))
    axes.set_xticklabels(keys, rotation=60, ha="right", fontsize=7)
    axes.set_ylabel("mean ‖∇‖ per step")
    axes.set_title(title, fontsize=9)
    figure.tight_layout()
    return figure


def to_png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()
