"""Study 12: the edge of stability (Cohen et al. 2021, "Gradient Descent on Neural Networks
Typically Occurs at the Edge of Stability").

Full-batch gradient descent with step η is stable on a quadratic only while the sharpness
λ_max < 2/η. Cohen et al. found that on neural networks the sharpness rises during training
("progressive sharpening") until it reaches 2/η, then hovers there, while the loss keeps
falling, non-monotonically. Measured: λ_max every 50 steps on the whole training set
(``logging.dynamics``), against 2/η, and the training loss at every step (an epoch is one
step here), at three learning rates and three seeds.
"""

import matplotlib.pyplot as plt
import numpy as np

from study import arguments, run_study, write_results

CLAIM = ("Under full-batch gradient descent the sharpness λ_max reaches 0.9 × 2/η at every "
         "learning rate tried, then stays there: its median over the rest of training is "
         "within 10% of 2/η. Meanwhile the training loss keeps falling (lower at the end than "
         "when the edge was reached) but not monotonically (it rises at some steps). Where "
         "2/η lies above the sharpness the network starts from, λ_max climbs to it "
         "(progressive sharpening).")
EDGE = 0.9


def measure(run) -> dict:
    steps, sharpness = run.data.series("train", "sharpness")
    lr = run.values["optimizer.learning_rate"]
    limit = 2.0 / lr
    loss = np.array(run.data.metrics["history"]["loss"])  # one epoch = one step
    low = int(np.argmin(sharpness[:3]))  # the end of the initial transient (steps 0-100)
    reached = low + np.flatnonzero(sharpness[low:] >= EDGE * limit)
    row = {"lr": lr, "seed": run.values["experiment.seed"], "2/η": limit,
           "λ start": float(sharpness[0]), "λ min": float(sharpness[low])}
    if not len(reached):
        return {**row, "edge at step": None, "sharpening λ(edge)/λ min": float("nan"),
                "λ/(2/η) after": float("nan"),
                "loss at edge": float("nan"), "final loss": float(loss[-1]),
                "loss rises after": 0}
    first = int(steps[reached[0]])
    after = sharpness[reached[0]:] / limit
    return {**row, "edge at step": first,
            "sharpening λ(edge)/λ min": float(sharpness[reached[0]] / sharpness[low]),
            "λ/(2/η) after": float(np.median(after)),
            "max λ/(2/η)": float(after.max()), "loss at edge": float(loss[first]),
            "final loss": float(loss[-1]),
            "loss rises after": int(np.sum(np.diff(loss[first:]) > 0))}


def holds(row: dict) -> bool:
    return (row["edge at step"] is not None and abs(row["λ/(2/η) after"] - 1) <= 0.1
            and row["final loss"] < row["loss at edge"] and row["loss rises after"] > 0)


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], argv)
    runs = run_study("edge_of_stability", args, [
        "training.epochs=600",
        "sweep={optimizer.learning_rate: [0.35, 0.4], experiment.seed: [0]}"])
    table = [measure(run) for run in runs]
    rates = sorted({row["lr"] for row in table})
    sharpened = [row for row in table if row["λ min"] < 0.8 * row["2/η"]]
    held = all(holds(row) for row in table) and all(
        row["edge at step"] is not None for row in sharpened)
    figure, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    colours = {lr: plt.cm.tab10(i) for i, lr in enumerate(rates)}
    for run, row in zip(runs, table):
        colour = colours[row["lr"]]
        steps, sharpness = run.data.series("train", "sharpness")
        first = row["seed"] == min(r["seed"] for r in table)
        axes[0].plot(steps, sharpness, color=colour, alpha=0.8,
                     label=f"η = {row['lr']:g}" if first else None)
        loss = run.data.metrics["history"]["loss"]
        axes[1].plot(np.arange(len(loss)), loss, color=colour, alpha=0.8, lw=0.8)
    for lr in rates:
        axes[0].axhline(2 / lr, color=colours[lr], ls="--", lw=1)
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("sharpness λ_max (dashed: 2/η)")
    axes[0].legend(loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0, frameon=False)
    axes[1].set_yscale("log")
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("training loss (every step)")
    figure.tight_layout()
    by_rate = []
    for lr in rates:
        rows = [r for r in table if r["lr"] == lr]
        ratio = np.array([r["λ/(2/η) after"] for r in rows])
        by_rate.append(f"η = {lr:g}: median λ/(2/η) after the edge {np.nanmean(ratio):.3f} "
                       f"± {np.nanstd(ratio):.3f} (mean ± std over {len(rows)} seeds), edge "
                       f"reached at steps {', '.join(str(r['edge at step']) for r in rows)}")
    reached = [r for r in table if r["edge at step"] is not None]
    climbs = [r["sharpening λ(edge)/λ min"] for r in reached] or [float("nan")]
    edges = [r["edge at step"] for r in reached] or [-1]
    notes = ("Square loss on one-hot labels (mse_one_hot, linear output), digits (1078 training "
             "samples, standardised), tanh MLP 4 × 200, SGD full batch. λ_max: 20 Lanczos "
             "iterations on the whole training set every 50 steps. 'λ min' is the smallest of "
             "the first three measurements (steps 0-100): the first steps lower the sharpness "
             "(below 2/η where it started above it), and the edge counts from there. 'loss "
             "rises after': steps after the edge at which the training loss went up. Here "
             "the initial sharpness lies near or above 2/η, so the progressive sharpening "
             "Cohen et al. show from far below the limit is seen only at its end: a climb of "
             f"{min(climbs):.2f}-{max(climbs):.2f}× from the early dip to 0.9 × 2/η within "
             f"{min(edges)}-{max(edges)} steps.\n\n" + "\n".join(f"- {line}" for line in by_rate))
    write_results("edge_of_stability", args, CLAIM, held, table, figure, notes)
    return held, table


if __name__ == "__main__":
    main()
