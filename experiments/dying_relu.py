"""Study 6: dying ReLU (the notes: a large learning rate can push a ReLU unit's pre-activation
below zero for every input; it then outputs 0, gets no gradient and never recovers; leaky
ReLU, PReLU and ELU keep a gradient for negative inputs; Lu et al. 2019).

Measured, three seeds: the fraction of ReLU units with no positive output on any sample of
the probe set (256 fixed training samples, inference mode: ``dead_fraction``), and for the
alternatives the same count (``negative_fraction``: units only in the negative regime, which
for them is not death), averaged over the hidden layers at the last measurement; and the
test accuracy.
"""

import matplotlib.pyplot as plt
import numpy as np

from study import arguments, clauses_text, layer_series, run_study, spread, write_results

CLAIM = ("ReLU's dead fraction grows with the learning rate, and at the largest rate ReLU has "
         "more dead units than any alternative has units stuck in the negative regime (leaky "
         "ReLU, PReLU, ELU), in every seed.")


def measure(run) -> dict:
    activation = run.values["model.activation"]
    series = layer_series(run, "dead_fraction" if activation == "relu" else "negative_fraction")
    return {"activation": activation, "learning rate": float(run.values["optimizer.learning_rate"]),
            "seed": run.values["experiment.seed"],
            "dead (ReLU) or negative-only fraction": float(np.mean([v[-1] for v in
                                                                    series.values()])),
            "test accuracy": float(run.data.metrics.get("test", {}).get("accuracy", np.nan))}


def verdict(table):
    seeds = sorted({r["seed"] for r in table})
    rates = sorted({r["learning rate"] for r in table})
    others = sorted({r["activation"] for r in table} - {"relu"})
    at = {(r["activation"], r["learning rate"], r["seed"]): r for r in table}
    dead = lambda a, lr, s: at[(a, lr, s)]["dead (ReLU) or negative-only fraction"]  # noqa: E731
    clauses = {
        "ReLU's dead fraction rises from each learning rate to the next, every seed":
            all(dead("relu", a, s) < dead("relu", b, s)
                for a, b in zip(rates, rates[1:]) for s in seeds),
        f"at learning rate {rates[-1]} ReLU's dead fraction is above every alternative's "
        "negative-only fraction, every seed":
            all(dead("relu", rates[-1], s) > dead(a, rates[-1], s) for a in others
                for s in seeds),
    }
    return all(clauses.values()), clauses


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], argv)
    runs = run_study("dying_relu", args, [
        "training.epochs=2",
        "sweep={optimizer.learning_rate: [0.001, 0.2], model.activation: [relu, leaky_relu, "
        "elu], experiment.seed: [0]}"])
    table = [measure(run) for run in runs]
    held, clauses = verdict(table)
    activations = list(dict.fromkeys(r["activation"] for r in table))
    rates = sorted({r["learning rate"] for r in table})
    width = 0.8 / len(rates)
    figure, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    for i, rate in enumerate(rates):
        for ax, column in zip(axes, ("dead (ReLU) or negative-only fraction", "test accuracy")):
            groups = [[r[column] for r in table if (r["activation"], r["learning rate"])
                       == (a, rate)] for a in activations]
            x = np.arange(len(activations)) + width * (i - (len(rates) - 1) / 2)
            ax.bar(x, [np.mean(g) for g in groups], width * 0.9, yerr=[np.std(g) for g in groups],
                   capsize=2, label=f"learning rate {rate}")
    for ax, title in zip(axes, ("dead (ReLU) / negative-only units, end of training",
                                "test accuracy")):
        ax.set_xticks(np.arange(len(activations)), activations)
        ax.set_title(title, fontsize=10)
    axes[1].axhline(0.1, color="grey", linestyle="--", linewidth=1, label="chance")
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    figure.tight_layout()
    lines = []
    for activation in activations:
        for rate in rates:
            rows = [r for r in table if (r["activation"], r["learning rate"]) == (activation, rate)]
            lines.append(f"{activation}, lr {rate}: fraction "
                         f"{spread([r['dead (ReLU) or negative-only fraction'] for r in rows])}, "
                         f"test accuracy {spread([r['test accuracy'] for r in rows])}")
    notes = ("digits, 3 hidden layers of 64 units, He init, Adam, batch 32, 4 epochs; bars are "
             "means over seeds with their std. For leaky ReLU, PReLU and ELU a unit with no "
             "positive output still passes a gradient and can recover; for ReLU it cannot. "
             "Keeping units alive does not make a too-large learning rate safe: compare the test "
             "accuracies at the largest rate with those at 0.001. Mean ± std over seeds:\n\n"
             + "\n".join(f"- {line}" for line in lines) + "\n\n" + clauses_text(clauses))
    write_results("dying_relu", args, CLAIM, held, table, figure, notes=notes)
    return held, table


if __name__ == "__main__":
    main()
