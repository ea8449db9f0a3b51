"""The report's figures: gradient norm per layer over time, final flow, loss curves, and
(for a PNG report) the diagnosis as text and the figures stacked into one image."""

from __future__ import annotations

import io
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import numpy as np  # noqa: E402

from nnkit.layer_keys import merged_order  # noqa: E402
from nnkit.report.reader import Run  # noqa: E402


def _grid(n: int, width: float = 4.2, height: float = 3.0):
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    figure, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), dpi=90,
                                squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return figure, axes.flat


def norms_over_time(runs: list[Run]):
    """One panel per run: ‖∇‖ of each layer against the step, log scale (input layers dark)."""
    figure, axes = _grid(len(runs))
    for ax, run in zip(axes, runs):
        layers = run.layer_norms()
        colours = plt.cm.viridis(np.linspace(0, 0.9, max(len(layers), 1)))
        for colour, (key, (steps, values)) in zip(colours, layers.items()):
            ax.plot(steps, values, color=colour, lw=1, label=key)
        if layers:
            ax.set_yscale("log")
            ax.legend(fontsize=6, ncol=2 if len(layers) > 8 else 1)
        ax.set_title(run.name, fontsize=8)
        ax.set_xlabel("step", fontsize=8)
        ax.set_ylabel("‖∇‖ per layer", fontsize=8)
    figure.tight_layout()
    return figure


def final_flow(runs: list[Run], tail: float = 0.1):
    """Side by side: mean ‖∇‖ per layer over the last ``tail`` of each run's steps; the
    bars of one layer (its key) stand together, whatever position it has in each run."""
    figure, ax = plt.subplots(figsize=(max(6, 1.2 * len(runs) + 4), 3.4), dpi=90)
    width = 0.8 / max(len(runs), 1)
    flows = [run.layer_norms() for run in runs]
    keys = merged_order([list(flow) for flow in flows])
    for i, (run, layers) in enumerate(zip(runs, flows)):
        at = [keys.index(key) for key in layers]
        means = [np.mean(values[-max(1, int(len(values) * tail)):])
                 for _, values in layers.values()]
        ax.bar(np.array(at, dtype=float) + i * width, means, width, label=run.name)
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(keys)) + width * (len(runs) - 1) / 2)
    ax.set_xticklabels(keys, rotation=30, ha="right", fontsize=7)
    ax.set_xlabel("layer (input → output)")
    ax.set_ylabel("mean ‖∇‖, end of training")
    ax.legend(fontsize=7)
    ax.set_title("gradient flow", fontsize=9)
    figure.tight_layout()
    return figure


def loss_curves(runs: list[Run]):
    """Training (solid) and validation (dashed) loss per epoch, every run on one axis."""
    figure, ax = plt.subplots(figsize=(6.5, 3.4), dpi=90)
    for i, run in enumerate(runs):
        colour = f"C{i % 10}"
        for split, style in (("train", "-"), ("validation", "--")):
            series = run.series(split, "epoch_loss")
            if series is not None:
                ax.plot(series[0] + 1, series[1], style, color=colour,
                        marker="o" if len(series[0]) == 1 else None,  # one epoch: a dot
                        label=f"{run.name} ({split})")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("loss")
    ax.legend(fontsize=7)
    figure.tight_layout()
    return figure


def diagnosis_text(rows: list[tuple[str, ...]], columns: int = 120):
    """The diagnosis table's rows (run, status, finding, where, details) as wrapped lines."""
    lines = []
    for run, status, finding, where, details in rows:
        head = f"{run} [{status}]: " + (details if finding == "-" else
                                         f"{finding} at {where}: {details}")
        lines += textwrap.wrap(head, columns, subsequent_indent="    ")
    figure = plt.figure(figsize=(0.075 * columns, 0.2 * (len(lines) + 2)), dpi=90)
    figure.text(0.01, 1 - 0.5 / (len(lines) + 2), "diagnosis", fontsize=9, va="top")
    figure.text(0.01, 1 - 1.5 / (len(lines) + 2), "\n".join(lines), family="monospace",
                fontsize=8, va="top", linespacing=1.5)
    return figure


def stacked(pngs: list[bytes]) -> bytes:
    """One PNG of the images ``pngs`` one under another, left-aligned on white."""
    images = [plt.imread(io.BytesIO(png))[..., :3] for png in pngs]
    width = max(image.shape[1] for image in images)
    column = np.concatenate([np.pad(image, ((0, 0), (0, width - image.shape[1]), (0, 0)),
                                    constant_values=1.0) for image in images])
    buffer = io.BytesIO()
    plt.imsave(buffer, column, format="png")
    return buffer.getvalue()
