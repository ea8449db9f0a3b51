"""Study 18: He initialisation in deep ReLU nets (He, Zhang, Ren & Sun 2015, "Delving Deep
into Rectifiers", section 2.2 and Figure 3).

ReLU zeroes half of each layer's pre-activations, so a layer keeps the signal's second
moment only if n·Var w = 2 (He); Glorot's n·Var w = 1 halves it at every layer, 2^-15 of the
input's variance after 30 layers (std × 2^-15 ≈ 3e-5 at the last layer if the first is 1).
He et al. found a 30-layer ReLU net trains with theirs and stalls with Glorot's, while at 22
layers both train, theirs faster. Measured on digits: the last hidden layer's activation std
at the first step, the training loss after each epoch and the test accuracy, three seeds.
"""

import math

import matplotlib.pyplot as plt
import numpy as np

from study import arguments, clauses_text, layer_series, run_study, spread, write_results

CLAIM = ("At 30 ReLU layers He initialisation trains (test accuracy above 0.3) and Glorot's "
         "stalls (training loss within 5% of ln 10, the loss of a uniform guess, and test "
         "accuracy below 0.15), its last hidden layer's activation std at the first step "
         "below a hundredth of He's; at 22 layers both train (loss below 0.95 × ln 10) and He "
         "ends lower. In every seed.")
STALLED = math.log(10)


def measure(run) -> dict:
    stds = layer_series(run, "activation_std")
    last = [key for key in stds if key.endswith("_activation")][-1]
    loss = run.data.metrics["history"]["loss"]
    return {"depth": run.values["model.depth"],
            "init": "He" if run.values["model.kernel_initializer"] == "he_normal" else "Glorot",
            "seed": run.values["experiment.seed"],
            "last-layer activation std at step 0": float(stds[last][0]),
            "final training loss": float(loss[-1]),
            "test accuracy": float(run.data.metrics["test"]["accuracy"])}


def verdict(table):
    seeds = sorted({r["seed"] for r in table})
    shallow, deep = sorted({r["depth"] for r in table})
    at = {(r["depth"], r["init"], r["seed"]): r for r in table}
    clauses = {
        f"{deep} layers: He's test accuracy above 0.3, every seed":
            all(at[(deep, "He", s)]["test accuracy"] > 0.3 for s in seeds),
        f"{deep} layers: Glorot stalls (loss within 5% of ln 10, accuracy below 0.15), every "
        "seed": all(abs(at[(deep, "Glorot", s)]["final training loss"] / STALLED - 1) < 0.05
                    and at[(deep, "Glorot", s)]["test accuracy"] < 0.15 for s in seeds),
        f"{deep} layers: Glorot's last activation std at step 0 below 0.01 × He's, every seed":
            all(at[(deep, "Glorot", s)]["last-layer activation std at step 0"]
                < 0.01 * at[(deep, "He", s)]["last-layer activation std at step 0"]
                for s in seeds),
        f"{shallow} layers: both train (loss below 0.95 ln 10) and He ends lower, every seed":
            all(at[(shallow, i, s)]["final training loss"] < 0.95 * STALLED
                for i in ("He", "Glorot") for s in seeds)
            and all(at[(shallow, "He", s)]["final training loss"]
                    < at[(shallow, "Glorot", s)]["final training loss"] for s in seeds),
    }
    return all(clauses.values()), clauses


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], argv)
    runs = run_study("he_initialisation", args, [
        "training.epochs=3", "sweep={model.depth: [22, 30], model.kernel_initializer: "
                             "[he_normal, glorot_uniform], experiment.seed: [0]}"])
    table = [measure(run) for run in runs]
    held, clauses = verdict(table)
    colours = {"He": "tab:blue", "Glorot": "tab:red"}
    figure, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    depths = sorted({r["depth"] for r in table})
    for ax, depth in zip(axes, depths):
        for run, row in zip(runs, table):
            if row["depth"] != depth:
                continue
            loss = run.data.metrics["history"]["loss"]
            ax.plot(np.arange(1, len(loss) + 1), loss, color=colours[row["init"]],
                    label=row["init"] if row["seed"] == 0 else None)
        ax.axhline(STALLED, color="grey", linestyle="--", label="ln 10 (uniform guess)")
        ax.set_title(f"{depth} ReLU layers")
        ax.set_xlabel("epoch")
        ax.set_yscale("log")
    axes[0].set_ylabel("training loss")
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    figure.tight_layout()
    lines = []
    for depth in depths:
        for init in colours:
            rows = [r for r in table if (r["depth"], r["init"]) == (depth, init)]
            lines.append(f"{depth} layers, {init}: test accuracy "
                         f"{spread([r['test accuracy'] for r in rows])}, final loss "
                         f"{spread([r['final training loss'] for r in rows])}, last activation "
                         f"std at step 0 "
                         f"{spread([r['last-layer activation std at step 0'] for r in rows])}")
    notes = ("digits, MLP of 64-unit ReLU layers, zero biases, SGD 0.01, batch 64, 10 epochs. "
             "Mean ± std over seeds:\n\n" + "\n".join(f"- {line}" for line in lines)
             + "\n\n" + clauses_text(clauses))
    write_results("he_initialisation", args, CLAIM, held, table, figure, notes)
    return held, table


if __name__ == "__main__":
    main()
