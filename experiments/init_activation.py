"""Study 4: initialisation × activation (Glorot & Bengio 2010, He et al. 2015, in the notes:
the variance of the weights decides whether activations and gradients keep their size
through the layers: too small and they vanish, too large and they explode or saturate;
Glorot suits tanh, He suits ReLU).

Measured at the first step: the standard deviation of every layer's activations, and the
gradient norm of every dense layer; the figure plots both against depth.
"""

import matplotlib.pyplot as plt
import numpy as np

from study import arguments, layer_series, run_study, write_results

CLAIM = ("Through a deep MLP, Glorot keeps tanh's gradients the same size from layer to layer "
         "and He keeps ReLU's activations and gradients (first/last ratios between 0.25 and 4); "
         "weights of std 0.01 make activations vanish (last/first std < 0.01); weights of std 1 "
         "saturate tanh (last-layer std > 0.9) and make ReLU explode (ratio > 100).")
NOTES = ("With Glorot, tanh's forward activations still shrink slowly with depth (std ratio "
         "≈ 0.2 over 24 layers) while its gradients stay level, as Glorot & Bengio (2010) "
         "observed; Glorot and LeCun make ReLU's signal vanish (variance halves at each layer), "
         "which He's factor 2 corrects.")


def _label(init):
    return init if isinstance(init, str) else f"N(0, {init['stddev']}²)"


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], argv)
    runs = run_study("init_activation", args, [
        "model.depth=8",
        "sweep={model.activation: [tanh, relu], model.kernel_initializer: [glorot_uniform, "
        "he_normal, {name: random_normal, stddev: 0.01}, {name: random_normal, stddev: 1.0}]}"])
    table, ratio, last, gradient_ratio = [], {}, {}, {}
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for run in runs:
        activation, init = run.values["model.activation"], _label(run.values["model.kernel_initializer"])
        stds = np.array([v[0] for v in layer_series(run, "activation_std").values()])
        grads = np.array([v[0] for k, v in layer_series(run, "grad_norm").items() if "dense" in k])
        ratio[(activation, init)] = stds[-1] / max(stds[0], 1e-30)
        last[(activation, init)] = stds[-1]
        gradient_ratio[(activation, init)] = grads[0] / max(grads[-1], 1e-30)
        table.append({"activation": activation, "initializer": init,
                      "first-layer act. std": float(stds[0]), "last-layer act. std": float(stds[-1]),
                      "std ratio last/first": float(ratio[(activation, init)]),
                      "grad ratio first/last": float(grads[0] / max(grads[-1], 1e-30))})
        style = "-" if activation == "relu" else "--"
        left.plot(np.maximum(stds, 1e-12), style, label=f"{activation}, {init}")
        right.plot(np.maximum(grads, 1e-30), style, label=f"{activation}, {init}")
    held = (0.25 < gradient_ratio[("tanh", "glorot_uniform")] < 4
            and 0.25 < ratio[("relu", "he_normal")] < 4
            and 0.25 < gradient_ratio[("relu", "he_normal")] < 4
            and ratio[("tanh", "N(0, 0.01²)")] < 0.01 and ratio[("relu", "N(0, 0.01²)")] < 0.01
            and last[("tanh", "N(0, 1.0²)")] > 0.9 and ratio[("relu", "N(0, 1.0²)")] > 100)
    for axes, title in ((left, "activation std per layer"), (right, "‖∇W‖ per dense layer")):
        axes.set_yscale("log")
        axes.set_title(title, fontsize=9)
        axes.set_xlabel("layer (input → output)")
    right.legend(fontsize=6, ncol=2)
    write_results("init_activation", args, CLAIM, held, table, figure, notes=NOTES)
    return held


if __name__ == "__main__":
    main()
