"""Study 4: initialisation × activation (Glorot & Bengio 2010, He et al. 2015, in the notes:
the variance of the weights decides whether activations and gradients keep their size
through the layers: too small and they vanish, too large and they explode or saturate;
Glorot suits tanh, He suits ReLU).

Measured at the first step, three seeds: the standard deviation of every layer's
activations and the gradient norm of every dense layer, as per-layer factors (the fitted
ratio from one layer to the next, ``nnkit``'s depth trend) so that nets of any depth
compare. A ReLU layer multiplies the second moment of its input by n·Var w / 2, so with
N(0, 1) weights and 64 units the activations grow by √32 ≈ 5.7 per layer.
"""

import matplotlib.pyplot as plt
import numpy as np

from nnkit.instrument.depth_trend import depth_trend
from study import arguments, clauses_text, layer_series, run_study, spread, write_results

CLAIM = ("Through a deep MLP, at initialisation and in every seed: Glorot keeps tanh's "
         "gradients level and He keeps ReLU's activations and gradients level (per-layer "
         "factors between 0.9 and 1.1); weights of std 0.01 make activations vanish (std "
         "shrinking more than 2× per layer); weights of std 1 saturate tanh (last-layer std "
         "above 0.9) and make its gradient grow toward the input (more than 1.5× per layer), "
         "and make ReLU's activations explode (growing more than 3× per layer, within 20% of "
         "√(n·Var w / 2) = √32), finite in float32.")
N = 64


def label(init) -> str:
    return init if isinstance(init, str) else f"N(0, {init['stddev']}²)"


def per_layer(values, toward_input=False) -> float:
    """The fitted factor from one layer to the next (toward the output; toward the input
    with ``toward_input``), over the layers whose value is finite and positive."""
    with np.errstate(divide="ignore", invalid="ignore"):
        trend = depth_trend(np.log10(np.asarray(values, float)))
    if trend is None:
        return float("nan")
    return 1 / trend.per_layer if toward_input else trend.per_layer


def measure(run) -> tuple[dict, np.ndarray, np.ndarray]:
    stds = np.array([v[0] for v in layer_series(run, "activation_std").values()])
    grads = np.array([v[0] for k, v in layer_series(run, "grad_norm").items() if "dense" in k])
    row = {"activation": run.values["model.activation"],
           "initializer": label(run.values["model.kernel_initializer"]),
           "seed": run.values["experiment.seed"],
           "last-layer act. std": float(stds[-1]),
           "act. std factor per layer": per_layer(stds),
           "grad factor per layer toward input": per_layer(grads, toward_input=True),
           "grad ratio first/last": float(grads[0] / grads[-1]) if grads[-1] > 0 else
           float("nan")}
    return row, stds, grads


def verdict(table):
    seeds = sorted({r["seed"] for r in table})
    at = {(r["activation"], r["initializer"], r["seed"]): r for r in table}
    act = lambda a, i, s: at[(a, i, s)]["act. std factor per layer"]  # noqa: E731
    grad = lambda a, i, s: at[(a, i, s)]["grad factor per layer toward input"]  # noqa: E731
    small, large = "N(0, 0.01²)", "N(0, 1.0²)"
    clauses = {
        "tanh + Glorot: gradient factor per layer within [0.9, 1.1], every seed":
            all(0.9 <= grad("tanh", "glorot_uniform", s) <= 1.1 for s in seeds),
        "ReLU + He: activation and gradient factors within [0.9, 1.1], every seed":
            all(0.9 <= act("relu", "he_normal", s) <= 1.1
                and 0.9 <= grad("relu", "he_normal", s) <= 1.1 for s in seeds),
        "std 0.01: activations shrink more than 2× per layer (tanh, ReLU), every seed":
            all(act(a, small, s) < 0.5 for a in ("tanh", "relu") for s in seeds),
        "std 1, tanh: last-layer std above 0.9 and gradient growing > 1.5× per layer toward "
        "the input, every seed":
            all(at[("tanh", large, s)]["last-layer act. std"] > 0.9
                and grad("tanh", large, s) > 1.5 for s in seeds),
        "std 1, ReLU: activations growing > 3× per layer, within 20% of √32, finite, every "
        "seed": all(act("relu", large, s) > 3 and abs(act("relu", large, s) / np.sqrt(N / 2)
                                                       - 1) <= 0.2
                    and np.isfinite(at[("relu", large, s)]["last-layer act. std"])
                    for s in seeds),
    }
    return all(clauses.values()), clauses


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], argv)
    runs = run_study("init_activation", args, [  # quick: one seed, no LeCun (24 layers still)
        "sweep={model.activation: [tanh, relu], model.kernel_initializer: [glorot_uniform, "
        "he_normal, {name: random_normal, stddev: 0.01}, {name: random_normal, stddev: 1.0}], "
        "experiment.seed: [0]}"])
    table = []
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    colours = dict(zip(["glorot_uniform", "he_normal", "lecun_normal", "N(0, 0.01²)",
                        "N(0, 1.0²)"], ["tab:blue", "tab:green", "tab:purple", "tab:grey",
                                        "tab:red"]))
    for run in runs:
        row, stds, grads = measure(run)
        table.append(row)
        if row["seed"] != 0:
            continue
        style = "-" if row["activation"] == "relu" else "--"
        name = f"{row['activation']}, {row['initializer']}"
        left.plot(range(1, len(stds) + 1), np.where(stds > 0, stds, np.nan), style,
                  color=colours[row["initializer"]], label=name)
        right.plot(range(1, len(grads) + 1), np.where(grads > 0, grads, np.nan), style,
                   color=colours[row["initializer"]], label=name)
    held, clauses = verdict(table)
    for axes, title in ((left, "activation std per layer (seed 0)"),
                        (right, "‖∇W‖ per dense layer at step 0 (seed 0)")):
        axes.set_yscale("log")
        axes.set_title(title, fontsize=10)
        axes.set_xlabel("layer (input → output)")
    right.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    figure.tight_layout()
    lines = []
    for activation in ("tanh", "relu"):
        for init in colours:
            rows = [r for r in table if (r["activation"], r["initializer"]) == (activation, init)]
            if rows:
                lines.append(f"{activation} + {init}: activation std factor per layer "
                             f"{spread([r['act. std factor per layer'] for r in rows])}, gradient "
                             f"factor toward the input "
                             f"{spread([r['grad factor per layer toward input'] for r in rows])}")
    notes = ("digits, 24 hidden layers of 64 units, zero biases, one step of SGD 0.001 on a "
             "batch of 256 (the statistics are the first step's). Factors are fitted over "
             "the layers whose value is finite and positive (std 0.01's activations reach "
             "exactly 0 in float32 after a few layers). Mean ± std over seeds:\n\n"
             + "\n".join(f"- {line}" for line in lines) + "\n\n" + clauses_text(clauses))
    write_results("init_activation", args, CLAIM, held, table, figure, notes=notes)
    return held, table


if __name__ == "__main__":
    main()
