"""Study 3: zero initialisation with ReLU (the notes: with all weights zero, ReLU outputs zero,
every hidden gradient is zero, and the hidden layers never change).

Measured: the largest gradient norm any hidden layer received, and test accuracy.
"""

import matplotlib.pyplot as plt

from study import arguments, layer_series, run_study, write_results

CLAIM = ("With zero-initialised kernels and ReLU every hidden layer's gradient is exactly 0 at "
         "every step and the network stays at chance level (test accuracy ≤ 0.2 on 10 classes), "
         "while He initialisation learns (test accuracy > 0.8).")


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], argv)
    runs = run_study("zero_init_relu", args, ["training.epochs=2"])
    table, results = [], {}
    figure, axes = plt.subplots(figsize=(6, 3.5))
    for run in runs:
        init = run.values["model.kernel_initializer"]
        hidden = {k: v for k, v in layer_series(run, "grad_norm").items()
                  if "dense" in k and "output" not in k}
        largest = max(max(series) for series in hidden.values())
        accuracy = run.data.metrics["test"]["accuracy"]
        results[init] = (largest, accuracy)
        table.append({"initializer": init, "largest hidden ‖∇W‖": float(largest),
                      "test accuracy": accuracy})
        steps, loss = run.data.series("train", "epoch_loss")
        axes.plot(steps + 1, loss, marker="o", label=init)
    held = (results["zeros"][0] == 0.0 and results["zeros"][1] <= 0.2
            and results["he_normal"][1] > 0.8)
    axes.set_xlabel("epoch")
    axes.set_ylabel("training loss")
    axes.legend()
    write_results("zero_init_relu", args, CLAIM, held, table, figure,
                  notes="With zero kernels only the output bias learns (the class frequencies), "
                        "which is why the loss still moves a little.")
    return held


if __name__ == "__main__":
    main()
