"""Study 2: symmetry (the notes: constant initialisation makes all units of a layer compute the
same thing and receive the same gradient, so they stay identical; random initialisation breaks
the symmetry).

Measured: ``distinct_units/<layer>`` (units with different weights) at every histogram step.
"""

import matplotlib.pyplot as plt

from study import arguments, layer_series, run_study, write_results

CLAIM = ("With a constant kernel initialiser every hidden layer keeps exactly one distinct "
         "unit throughout training (its units stay identical); with Glorot initialisation "
         "every unit is distinct from the start.")


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], argv)
    runs = run_study("symmetry", args, ["training.epochs=2", "logging.histogram_every_n_steps=5"])
    table, held = [], True
    figure, axes = plt.subplots(figsize=(6, 3.5))
    for run in runs:
        init = run.values["model.kernel_initializer"]
        label = init if isinstance(init, str) else f"constant {init['value']}"
        distinct = {k: v for k, v in layer_series(run, "distinct_units").items() if "output" not in k}
        for key, series in distinct.items():
            table.append({"initializer": label, "layer": key, "min distinct units": min(series),
                          "max distinct units": max(series), "measurements": len(series)})
            axes.plot(series, label=f"{label}: {key}",
                      linestyle="--" if label.startswith("constant") else "-")
        constant = label.startswith("constant")
        width = 32  # configs/studies/symmetry.yaml: model.units
        for series in distinct.values():
            held &= (max(series) == 1) if constant else (min(series) == width)
    axes.set_yscale("log")
    axes.set_xlabel("histogram step")
    axes.set_ylabel("distinct units in the layer")
    axes.legend(fontsize=6)
    write_results("symmetry", args, CLAIM, held, table, figure)
    return held


if __name__ == "__main__":
    main()
