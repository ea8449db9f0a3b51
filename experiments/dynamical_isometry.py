"""Study 13: dynamical isometry (Pennington, Schoenholz & Ganguli 2017, "Resurrecting the
sigmoid in deep learning through dynamical isometry").

A deep tanh network near criticality learns fastest when every singular value of its
input-output Jacobian is near 1, not only their mean square: orthogonal weights give that,
Gaussian weights of the same variance do not (their product's spectrum spreads with depth).
Measured at initialisation, with ``nnkit.dynamics.jacobian_spectrum`` (exact: the 64 × 64
Jacobian of each of 64 training samples, from the input to the last hidden layer's
pre-activation, SVD), and during training: the training loss per epoch, three seeds.
"""

import keras
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator
import numpy as np

from nnkit import dynamics
from nnkit.config import load_config
from nnkit.training import build_experiment
from study import arguments, run_study, write_results

CLAIM = ("At initialisation, a depth-32 tanh MLP with orthogonal kernels (σ_w = 1.05) keeps "
         "most of its input-output Jacobian's singular values within a decade of 1 (0.1 ≤ s ≤ "
         "10 for more than half of them), while Gaussian kernels of the same variance send "
         "most below 0.1 (fewer than half within), in every seed; the orthogonal network "
         "trains faster: lower training loss after every epoch, in every seed.")


def kind(values) -> str:
    return "orthogonal" if values["model.kernel_initializer"]["name"] == "orthogonal" \
        else "Gaussian"


def spectrum(run) -> np.ndarray:
    """Singular values [64 samples, 64] of the initial network (rebuilt from the run's own
    config.yaml, so the same seed gives the same weights), input to last hidden layer."""
    experiment = build_experiment(load_config(run.folder / "config.yaml"))
    network = experiment.network
    hidden = [layer for layer in network.layers if layer.name.endswith("_dense")][-1]
    body = keras.Model(network.inputs, hidden.output)
    return dynamics.jacobian_spectrum(body, experiment.dataset.x_train[:64],
                                      "exact").singular_values


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], argv)
    runs = run_study("dynamical_isometry", args, [
        "training.epochs=3", "sweep={model.kernel_initializer: [{name: orthogonal, gain: "
        "1.05}, {name: variance_scaling, scale: 1.1025, mode: fan_in, distribution: "
        "untruncated_normal}], experiment.seed: [0]}"])
    table, spectra, losses = [], {}, {}
    for run in runs:
        s = spectrum(run)
        label, seed = kind(run.values), run.values["experiment.seed"]
        loss = np.array(run.data.metrics["history"]["loss"])
        spectra.setdefault(label, []).append(s.ravel())
        losses[(label, seed)] = loss
        table.append({"init": label, "seed": seed, "mean s²": float(np.mean(s ** 2)),
                      "max s": float(s.max()), "max² / mean s²": float(s.max() ** 2 /
                                                                      np.mean(s ** 2)),
                      "median s": float(np.median(s)),
                      "within a decade of 1": float(np.mean((s >= 0.1) & (s <= 10))),
                      "loss after epoch 1": float(loss[0]), "final loss": float(loss[-1]),
                      "test accuracy": float(run.data.metrics["test"]["accuracy"])})
    spread = {r["init"]: [] for r in table}
    for r in table:
        spread[r["init"]].append(r["max² / mean s²"])
    seeds = sorted({seed for _, seed in losses})
    faster = all(np.all(losses[("orthogonal", s)] < losses[("Gaussian", s)]) for s in seeds)
    within = {label: [r["within a decade of 1"] for r in table if r["init"] == label]
              for label in spread}
    held = min(within["orthogonal"]) > 0.5 and max(within["Gaussian"]) < 0.5 and faster
    figure, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    everything = np.log10(np.concatenate([np.concatenate(v) for v in spectra.values()]))
    bins = np.linspace(np.floor(everything.min()), np.ceil(everything.max()), 61)
    for label, colour in (("orthogonal", "tab:blue"), ("Gaussian", "tab:orange")):
        values = np.log10(np.concatenate(spectra[label]))
        axes[0].hist(values, bins=bins, alpha=0.6, color=colour, label=label, density=True)
        for seed in seeds:
            loss = losses[(label, seed)]
            axes[1].plot(np.arange(1, len(loss) + 1), loss, color=colour, marker="o",
                         label=label if seed == seeds[0] else None)
    axes[0].set_xlabel("log10 singular value of the input-output Jacobian")
    axes[0].set_ylabel("density")
    axes[0].legend()
    axes[1].set_yscale("log")
    axes[1].set_xlabel("epoch")
    axes[1].xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[1].set_ylabel("training loss")
    axes[1].legend()
    figure.tight_layout()
    notes = ("digits, tanh MLP 32 × 64 (square layers), zero biases, SGD 0.01, batch 32. "
             "Gaussian: variance_scaling with scale 1.05² (fan-in, untruncated), so both have "
             "Var w = 1.05²/64. The Jacobian runs from the input to the 32nd hidden layer's "
             "pre-activation (64 × 64), at initialisation, on 64 training samples; "
             f"max² / mean s² over seeds: orthogonal {np.mean(spread['orthogonal']):.3g} ± "
             f"{np.std(spread['orthogonal']):.2g}, Gaussian {np.mean(spread['Gaussian']):.3g} "
             f"± {np.std(spread['Gaussian']):.2g} (mean ± std over {len(seeds)} seeds).")
    write_results("dynamical_isometry", args, CLAIM, held, table, figure, notes)
    return held, table


if __name__ == "__main__":
    main()
