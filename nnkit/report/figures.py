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


FONT = {"font.size": 11, "axes.titlesize": 11, "axes.labelsize": 11, "xtick.labelsize": 10,
        "ytick.labelsize": 10, "legend.fontsize": 10}


def readable(draw):
    """Draw under fonts of at least 10 pt (without changing the caller's matplotlib)."""
    def wrapped(*args, **kwargs):
        with plt.rc_context(FONT):
            return draw(*args, **kwargs)
    wrapped.__doc__, wrapped.__name__ = draw.__doc__, draw.__name__
    return wrapped


def run_colours(n: int) -> list:
    """n colours told apart: tab10, then tab20, then evenly spaced on turbo."""
    if n <= 10:
        return [plt.cm.tab10(i) for i in range(n)]
    if n <= 20:
        return [plt.cm.tab20(i) for i in range(n)]
    return list(plt.cm.turbo(np.linspace(0.05, 0.95, n)))


def _grid(n: int, width: float = 5.2, height: float = 3.6):
    cols = min(n, 2)
    rows = (n + cols - 1) // cols
    figure, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), dpi=100,
                                squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return figure, axes.flat


def _depth_colourbar(figure, ax, layers: list[str]) -> None:
    """A colour bar from the input layer to the output layer, instead of a legend."""
    mappable = plt.cm.ScalarMappable(cmap="viridis", norm=plt.Normalize(0, 1))
    bar = figure.colorbar(mappable, ax=ax, ticks=[0, 1], fraction=0.05, pad=0.02)
    bar.ax.set_yticklabels([layers[0], layers[-1]] if layers else ["", ""])


@readable
def norms_over_time(runs: list[Run]):
    """One panel per run: ‖∇‖ of each layer against the step, log scale, coloured by depth
    (a colour bar from the input layer to the output layer, no legend over the data)."""
    figure, axes = _grid(len(runs))
    for ax, run in zip(axes, runs):
        layers = run.layer_norms()
        colours = plt.cm.viridis(np.linspace(0, 1, max(len(layers), 1)))
        for colour, (key, (steps, values)) in zip(colours, layers.items()):
            ax.plot(steps, values, color=colour, lw=1)
        if layers:
            ax.set_yscale("log")
            _depth_colourbar(figure, ax, list(layers))
        ax.set_title(textwrap.shorten(run.label, 60))
        ax.set_xlabel("step")
        ax.set_ylabel("‖∇‖ per layer")
    figure.tight_layout()
    return figure


@readable
def heatmaps(runs: list[Run]):
    """One panel per run: log10 ‖∇‖, a row per layer (input at the top) × step."""
    figure, axes = _grid(len(runs))
    for ax, run in zip(axes, runs):
        layers = run.layer_norms()
        ax.set_title(textwrap.shorten(run.label, 60))
        if not layers:
            continue
        steps = np.unique(np.concatenate([s for s, _ in layers.values()]))
        grid = np.full((len(layers), len(steps)), np.nan)
        for row, (s, values) in enumerate(layers.values()):
            with np.errstate(divide="ignore", invalid="ignore"):
                grid[row, np.searchsorted(steps, s)] = np.log10(values)
        grid[~np.isfinite(grid)] = np.nan
        image = ax.imshow(grid, aspect="auto", interpolation="nearest", cmap="viridis",
                          extent=(steps[0] - 0.5, steps[-1] + 0.5, len(layers) - 0.5, -0.5))
        every = max(1, len(layers) // 12)
        ax.set_yticks(range(0, len(layers), every))
        ax.set_yticklabels(list(layers)[::every])
        ax.set_xlabel("step")
        figure.colorbar(image, ax=ax, fraction=0.05, pad=0.02, label="log10 ‖∇‖")
    figure.tight_layout()
    return figure


@readable
def final_flow(runs: list[Run], tail: float = 0.1):
    """Side by side: mean ‖∇‖ per layer over the last ``tail`` of each run's steps; the
    bars of one layer (its key) stand together, whatever position it has in each run; the
    legend to the right of the plot."""
    flows = [run.layer_norms() for run in runs]
    keys = merged_order([list(flow) for flow in flows])
    figure, ax = plt.subplots(figsize=(max(7.0, 0.35 * len(keys) * max(len(runs), 2) + 3), 4.2),
                              dpi=100)
    width = 0.8 / max(len(runs), 1)
    for i, (run, layers, colour) in enumerate(zip(runs, flows, run_colours(len(runs)))):
        at = [keys.index(key) for key in layers]
        means = [np.mean(values[-max(1, int(len(values) * tail)):])
                 for _, values in layers.values()]
        ax.bar(np.array(at, dtype=float) + i * width, means, width, color=colour,
               label=textwrap.shorten(run.label, 50))
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(keys)) + width * (len(runs) - 1) / 2)
    ax.set_xticklabels(keys, rotation=45, ha="right")
    ax.set_xlabel("layer (input → output)")
    ax.set_ylabel("mean ‖∇‖, end of training")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0, frameon=False)
    figure.tight_layout()
    return figure


@readable
def loss_curves(runs: list[Run]):
    """Training (solid) and validation (dashed) loss per epoch, every run on one axis: one
    legend entry per run (its colour) and one per split (its line style), right of the
    plot."""
    from matplotlib.lines import Line2D

    figure, ax = plt.subplots(figsize=(9.0, 4.2), dpi=100)
    handles = []
    for run, colour in zip(runs, run_colours(len(runs))):
        for split, style in (("train", "-"), ("validation", "--")):
            series = run.series(split, "epoch_loss")
            if series is not None:
                ax.plot(series[0] + 1, series[1], style, color=colour,
                        marker="o" if len(series[0]) == 1 else None)  # one epoch: a dot
        handles.append(Line2D([], [], color=colour, label=textwrap.shorten(run.label, 50)))
    handles += [Line2D([], [], color="black", ls="-", label="training"),
                Line2D([], [], color="black", ls="--", label="validation")]
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("loss")
    losses = np.array([v for r in runs for split in ("train", "validation")
                       if (series := r.series(split, "epoch_loss")) is not None
                       for v in series[1]])
    losses = losses[np.isfinite(losses)]
    if len(losses) and losses.min() > 0 and losses.max() / losses.min() > 30:
        ax.set_yscale("log")  # losses over decades (a diverging run) stay readable
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0,
              frameon=False)
    figure.tight_layout()
    return figure


DYNAMICS = (  # (title, tags drawn solid then dashed, log scale)
    ("sharpness (solid) against its stability limit (dashed)",
     ("preconditioned_sharpness", "sharpness"), "sharpness_limit", True),
    ("gradient noise scale B_simple = tr(Σ)/|G|²", ("gradient_noise_scale",), None, True),
    ("Hessian trace (Hutchinson)", ("hessian_trace",), None, False),
    ("effective rank of the penultimate features", ("effective_rank",), None, False),
)


def has_dynamics(runs: list[Run]) -> bool:
    return any(run.series("train", tag) is not None for run in runs
               for _, tags, _, _ in DYNAMICS for tag in tags)


@readable
def dynamics(runs: list[Run]):
    """The ``logging.dynamics`` series over steps, a panel each, every run in its colour:
    the sharpness (the preconditioned one for Adam and RMSProp, the one its limit is for)
    with the optimizer's limit dashed on the same axis, B_simple, tr(H), effective rank."""
    from matplotlib.lines import Line2D

    panels = [(title, tags, limit, log) for title, tags, limit, log in DYNAMICS
              if any(run.series("train", tag) is not None for run in runs for tag in tags)]
    figure, axes = _grid(len(panels))
    colours = run_colours(len(runs))
    for ax, (title, tags, limit, log) in zip(axes, panels):
        for run, colour in zip(runs, colours):
            series = next((run.series("train", t) for t in tags
                           if run.series("train", t) is not None), None)
            if series is not None:
                ax.plot(*series, color=colour, marker="." if len(series[0]) < 30 else None)
            bound = run.series("train", limit) if limit else None
            if bound is not None:
                ax.plot(*bound, "--", color=colour)
        if log:
            ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("step")
    handles = [Line2D([], [], color=c, label=textwrap.shorten(r.label, 50))
               for r, c in zip(runs, colours)]
    figure.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    figure.tight_layout()
    return figure


def has_through_time(runs: list[Run]) -> bool:
    return any(run.through_time for run in runs)


@readable
def through_time(runs: list[Run], curves: int = 5):
    """‖∂L/∂hₜ‖ against t for each recurrent layer of each run (a panel each, log scale):
    ``curves`` logged steps spread over training, coloured from the first (dark) to the last
    (light): the picture of Bengio et al. (1994) and Pascanu et al. (2013)."""
    panels = [(run, key, data) for run in runs for key, data in run.through_time.items()]
    figure, axes = _grid(len(panels))
    cmap = matplotlib.colormaps["viridis"]
    for ax, (run, key, (steps, norms)) in zip(axes, panels):
        picked = np.unique(np.linspace(0, len(steps) - 1, min(curves, len(steps))).astype(int))
        t = np.arange(1, norms.shape[1] + 1)
        for rank, index in enumerate(picked):
            shown = np.where(norms[index] > 0, norms[index], np.nan)
            ax.plot(t, shown, color=cmap(0.85 * rank / max(len(picked) - 1, 1)),
                    label=f"step {steps[index]}")
        ax.set_yscale("log")
        ax.set_xlabel("time step t")
        ax.set_ylabel("‖∂L/∂hₜ‖")
        ax.set_title(textwrap.shorten(f"{run.label}: {key}", 60))
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=9)
    figure.tight_layout()
    return figure


@readable
def diagnosis_text(rows: list[tuple[str, ...]], columns: int = 110):
    """The diagnosis table's rows (run, status, finding, where, details) as wrapped lines."""
    lines = []
    for run, status, finding, where, details in rows:
        head = f"{run} [{status}]: " + (details if finding == "-" else
                                         f"{finding} at {where}: {details}")
        lines += textwrap.wrap(head, columns, subsequent_indent="    ")
    figure = plt.figure(figsize=(0.09 * columns, 0.24 * (len(lines) + 2)), dpi=100)
    figure.text(0.01, 1 - 0.5 / (len(lines) + 2), "diagnosis", fontsize=12, va="top")
    figure.text(0.01, 1 - 1.5 / (len(lines) + 2), "\n".join(lines), family="monospace",
                fontsize=10, va="top", linespacing=1.5)
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
