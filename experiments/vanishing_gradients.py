"""Study 1: vanishing gradients (the notes: sigmoid and tanh suffer from it, ReLU does not).

Measured: ‖∇W‖ of the first hidden layer over ‖∇W‖ of the last hidden layer, averaged over
training, in a 10-layer MLP with Glorot initialisation.
"""

import matplotlib.pyplot as plt
import numpy as np

from study import arguments, layer_series, run_study, write_results

CLAIM = ("In a 10-layer MLP the gradient vanishes on its way to the first layer with sigmoid "
         "(first/last hidden-layer gradient norm < 1e-2, whatever the initialisation), while "
         "ReLU with He initialisation keeps it within an order of magnitude (> 0.1); tanh "
         "lies in between (its ratio is above sigmoid's).")


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], argv)
    runs = run_study("vanishing_gradients", args, ["data={name: moons, n_samples: 400}",
                                                   "training.epochs=1"])
    table, flows = [], {}
    for run in runs:
        norms = layer_series(run, "grad_norm")
        hidden = [key for key in norms if "dense" in key]
        flow = np.array([np.mean(norms[key]) for key in hidden])
        label = f"{run.values['model.activation']} + {run.values['model.kernel_initializer']}"
        flows[label] = flow
        table.append({"activation": run.values["model.activation"],
                      "initializer": run.values["model.kernel_initializer"],
                      "first-layer ‖∇W‖": float(flow[0]), "last-hidden ‖∇W‖": float(flow[-1]),
                      "ratio first/last": float(flow[0] / flow[-1])})
    ratio = {(r["activation"], r["initializer"]): r["ratio first/last"] for r in table}
    sigmoid = [v for (a, _), v in ratio.items() if a == "sigmoid"]
    tanh = [v for (a, _), v in ratio.items() if a == "tanh"]
    held = (max(sigmoid) < 1e-2 and ratio[("relu", "he_normal")] > 0.1
            and min(tanh) > max(sigmoid))
    figure, axes = plt.subplots(figsize=(6, 3.5))
    for label, flow in flows.items():
        axes.plot(range(1, len(flow) + 1), flow, marker="o", label=label,
                  linestyle="-" if "he_normal" in label else "--")
    axes.set_yscale("log")
    axes.set_xlabel("hidden layer (input → output)")
    axes.set_ylabel("mean ‖∇‖ of the layer")
    axes.legend(fontsize=7)
    write_results("vanishing_gradients", args, CLAIM, held, table, figure)
    return held, ratio


if __name__ == "__main__":
    main()
