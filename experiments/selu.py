"""Study 5: SELU self-normalisation (Klambauer et al. 2017, in the notes: with LeCun-normal
weights and standardised inputs, SELU activations keep mean ≈ 0 and std ≈ 1 in every layer).

Measured: mean and standard deviation of every SELU layer's output over the first batch.
"""

import matplotlib.pyplot as plt
import numpy as np

from study import arguments, layer_series, run_study, write_results

CLAIM = ("With LeCun-normal initialisation and standardised inputs, every SELU layer keeps "
         "|mean| < 0.25 and 0.75 < std < 1.25; He initialisation (variance 2/fan_in) drifts "
         "out of that band in the deepest layers; raw (unstandardised) inputs start outside it.")
NOTES = ("Glorot initialisation equals LeCun's here: every hidden layer is 64 → 64, so "
         "2/(fan_in + fan_out) = 1/fan_in. With raw inputs the first layers are out of the "
         "band, but SELU's fixed point pulls later layers back towards mean 0 and std 1 "
         "(the self-normalising property), so raw inputs hurt the early layers, not the deep "
         "ones.")


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], argv)
    runs = run_study("selu", args, [
        "model.depth=16", "training.epochs=1", "data={name: digits, test_split: 0.8}",
        "sweep={model.kernel_initializer: [lecun_normal, he_normal], "
        "data.standardize: [true, false]}"])
    table, held = [], True
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    for run in runs:
        init, standardized = (run.values["model.kernel_initializer"],
                              run.values["data.standardize"])
        means = np.array([v[0] for v in layer_series(run, "activation_mean").values()])
        stds = np.array([v[0] for v in layer_series(run, "activation_std").values()])
        inside = (np.abs(means) < 0.25) & (stds > 0.75) & (stds < 1.25)
        label = f"{init}, {'standardised' if standardized else 'raw'} inputs"
        table.append({"initializer": init, "inputs": "standardised" if standardized else "raw",
                      "layers in band": f"{int(inside.sum())}/{len(inside)}",
                      "last-layer mean": float(means[-1]), "last-layer std": float(stds[-1])})
        expected = init == "lecun_normal" and standardized
        if expected:
            held &= bool(inside.all())
        if init == "he_normal":
            held &= not bool(inside[-3:].any())
        if not standardized:
            held &= not bool(inside[0])
        style = "-" if expected else "--"
        left.plot(means, style, label=label)
        right.plot(stds, style, label=label)
    left.set_title("activation mean per layer", fontsize=9)
    right.set_title("activation std per layer", fontsize=9)
    right.set_yscale("log")
    for axes in (left, right):
        axes.set_xlabel("SELU layer (input → output)")
    right.legend(fontsize=6)
    write_results("selu", args, CLAIM, held, table, figure, notes=NOTES)
    return held


if __name__ == "__main__":
    main()
