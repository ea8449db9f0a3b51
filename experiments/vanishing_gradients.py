"""Study 1: vanishing gradients (the notes: sigmoid and tanh suffer from it, ReLU does not;
Glorot & Bengio 2010; He et al. 2015).

Measured: ‖∇W‖ of the first hidden layer over ‖∇W‖ of the last hidden layer of a 10-layer
MLP on digits, at the first step (the initialisation, what the theory predicts) and
averaged over training, for sigmoid, tanh and ReLU with Glorot & Bengio's "standard"
initialisation U[−1/√n, 1/√n] (Var w = 1/(3n)), Glorot's (Var w = 2/(n_in + n_out)) and
He's (Var w = 2/n), three seeds. Backpropagation multiplies the gradient by Wᵀ·diag(f'(z))
once per layer; near z = 0 that scales its norm by about f'(0)·√(n·Var w): for sigmoid
0.25·√(1/3) ≈ 0.14 (standard) or 0.25 (Glorot), so over the 9 steps from the last hidden
layer to the first the gradient shrinks by that factor to the 9th power.
"""

import matplotlib.pyplot as plt
import numpy as np

from study import arguments, clauses_text, layer_series, run_study, spread, write_results

CLAIM = ("In a 10-layer MLP, at initialisation, the gradient vanishes on its way to the first "
         "layer with sigmoid whatever the initialisation (first/last hidden-layer ‖∇W‖ below "
         "1e-2), within a factor 4 of the product of the per-layer factors 0.25·√(n·Var w) "
         "for the standard and Glorot initialisations; tanh with Glorot and ReLU with He keep "
         "it level (ratio between 0.1 and 10); ReLU with Glorot, which halves the signal's "
         "variance at every layer, has a smaller ratio than ReLU with He. In every seed.")
N = 64  # units of every hidden layer, and the digits' features
VARIANCE = {"standard": 1 / (3 * N), "glorot": 2 / (N + N), "he": 2 / N}
LAYERS = 10
QUICK_SWEEP = ("sweep={model.activation: [sigmoid, tanh, relu], model.kernel_initializer: "
               "[{name: variance_scaling, scale: 0.3333333333333333, mode: fan_in, "
               "distribution: uniform}, glorot_uniform, he_normal], experiment.seed: [0]}")


def init_name(value) -> str:
    if isinstance(value, dict):
        return "standard"
    return {"glorot_uniform": "glorot", "he_normal": "he"}[value]


def predicted(init: str) -> float:
    """Π over the 9 backward steps of σ'(0)·√(n·Var w): sigmoid's factor to the 9th power."""
    return (0.25 * np.sqrt(N * VARIANCE[init])) ** (LAYERS - 1)


def measure(run) -> dict:
    norms = layer_series(run, "grad_norm")
    hidden = [key for key in norms if "dense" in key]
    first = np.array([norms[key][0] for key in hidden])  # step 0
    mean = np.array([np.mean(norms[key]) for key in hidden])
    activation, init = run.values["model.activation"], init_name(
        run.values["model.kernel_initializer"])
    row = {"activation": activation, "init": init, "seed": run.values["experiment.seed"],
           "ratio at step 0": float(first[0] / first[-1]),
           "ratio over training": float(mean[0] / mean[-1])}
    if activation == "sigmoid" and init != "he":
        row["measured / predicted"] = row["ratio at step 0"] / predicted(init)
    return row, first


def verdict(table):
    seeds = sorted({r["seed"] for r in table})
    at = {(r["activation"], r["init"], r["seed"]): r for r in table}
    ratio = lambda a, i, s: at[(a, i, s)]["ratio at step 0"]  # noqa: E731
    clauses = {
        "sigmoid: ratio at step 0 below 1e-2 with every initialisation, every seed":
            all(ratio("sigmoid", i, s) < 1e-2 for i in VARIANCE for s in seeds),
        "sigmoid, standard and Glorot: within 4× of Π 0.25·√(n·Var w), every seed":
            all(0.25 <= at[("sigmoid", i, s)]["measured / predicted"] <= 4
                for i in ("standard", "glorot") for s in seeds),
        "tanh + Glorot and ReLU + He: ratio between 0.1 and 10, every seed":
            all(0.1 <= ratio(a, i, s) <= 10 for a, i in (("tanh", "glorot"), ("relu", "he"))
                for s in seeds),
        "ReLU: Glorot's ratio below He's, every seed":
            all(ratio("relu", "glorot", s) < ratio("relu", "he", s) for s in seeds),
    }
    return all(clauses.values()), clauses


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], argv)
    runs = run_study("vanishing_gradients", args, [
                                                   "training.epochs=1", QUICK_SWEEP])
    table, flows = [], {}
    for run in runs:
        row, first = measure(run)
        table.append(row)
        flows.setdefault((row["activation"], row["init"]), []).append(first)
    held, clauses = verdict(table)
    figure, axes = plt.subplots(figsize=(8, 4))
    colours = {"sigmoid": "tab:red", "tanh": "tab:orange", "relu": "tab:blue"}
    styles = {"standard": ":", "glorot": "--", "he": "-"}
    for (activation, init), curves in flows.items():
        curve = np.exp(np.mean(np.log(curves), axis=0))  # geometric mean over seeds
        axes.plot(range(1, len(curve) + 1), curve, styles[init], marker="o",
                  color=colours[activation], label=f"{activation} + {init}")
    axes.set_yscale("log")
    axes.set_xlabel("hidden layer (input → output)")
    axes.set_ylabel("‖∇W‖ at the first step")
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    figure.tight_layout()
    lines = []
    for (activation, init) in flows:
        rows = [r for r in table if (r["activation"], r["init"]) == (activation, init)]
        logs = np.log10([r["ratio at step 0"] for r in rows])
        lines.append(f"{activation} + {init}: log10 ratio at step 0 {spread(logs)}"
                     + (f" (predicted {np.log10(predicted(init)):.2f})"
                        if activation == "sigmoid" and init != "he" else ""))
    notes = ("digits, 10 hidden layers of 64 units, SGD 0.05, batch 64, 3 epochs; standard = "
             "U[−1/√n, 1/√n] (variance_scaling, scale 1/3, fan-in, uniform). The ratio over "
             "training averages each layer's ‖∇W‖ over every logged step. The product of the "
             "per-layer factors leaves out the ratio of the first layer's input norm to the "
             "last hidden layer's (standardised inputs against sigmoid outputs near 0.5: about "
             "2) and σ' below 0.25 away from 0. Mean ± std over seeds:\n\n"
             + "\n".join(f"- {line}" for line in lines) + "\n\n" + clauses_text(clauses))
    write_results("vanishing_gradients", args, CLAIM, held, table, figure, notes)
    return held, table


if __name__ == "__main__":
    main()
