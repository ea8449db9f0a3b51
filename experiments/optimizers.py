"""Study 7: optimizers on an ill-conditioned quadratic (a long valley) and on digits (the
notes: momentum speeds up descent along the valley, NAG's look-ahead damps the oscillation
across it, adaptive methods rescale each direction).

Valley: L(w) = ½ wᵀAw, A = diag(1, 0.01) (condition number 100), from w = (-1, 1.5).
Measured: steps until L < 1e-4 (at most 1000) and how often the steep coordinate w₁ changes
sign (oscillation across the valley); on digits, validation accuracy after training.
"""

import keras
import matplotlib.pyplot as plt
import numpy as np

import nnkit
from study import arguments, run_study, write_results

A = np.array([1.0, 0.01], dtype="float32")
START = np.array([-1.0, 1.5], dtype="float32")
SETTINGS = {  # learning rates that suit each rule on this valley
    "sgd": {"learning_rate": 1.5}, "momentum": {"learning_rate": 0.3, "momentum": 0.9},
    "nag": {"learning_rate": 0.3, "momentum": 0.9}, "adagrad": {"learning_rate": 0.5},
    "rmsprop": {"learning_rate": 0.05}, "adadelta": {"learning_rate": 1.0},
    "adam": {"learning_rate": 0.1},
}
CLAIM = ("On a long valley, momentum reaches L < 1e-4 in fewer steps than plain gradient "
         "descent, and NAG oscillates less across the valley (fewer sign changes of the steep "
         "coordinate) and converges in fewer steps than momentum.")


def descend(name: str, steps: int = 1000):
    optimizer = nnkit.optimizers.OPTIMIZERS.get(name)(**SETTINGS[name])
    w = keras.Variable(START.copy())
    path, reached = [w.numpy().copy()], None
    for step in range(1, steps + 1):
        optimizer.apply([A * w], [w])
        path.append(w.numpy().copy())
        loss = 0.5 * float(np.sum(A * w.numpy() ** 2))
        if reached is None and loss < 1e-4:
            reached = step
    path = np.array(path)
    crossings = int(np.sum(np.diff(np.sign(path[:, 0])) != 0))
    return path, reached, crossings


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], argv)
    table, paths = [], {}
    for name in SETTINGS:
        path, reached, crossings = descend(name)
        paths[name] = path
        table.append({"optimizer": name, "steps to L<1e-4": reached if reached else ">1000",
                      "sign changes of w1": crossings})
    steps = {row["optimizer"]: row["steps to L<1e-4"] for row in table}
    crossings = {row["optimizer"]: row["sign changes of w1"] for row in table}

    def count(name):
        return steps[name] if isinstance(steps[name], int) else 10**9

    held = (count("momentum") < count("sgd") and count("nag") < count("momentum")
            and crossings["nag"] < crossings["momentum"])
    runs = run_study("optimizers", args, ["training.epochs=1",
                                          "sweep={optimizer.name: [sgd, momentum, nag, adam]}"])
    accuracy = {run.values["optimizer.name"]: run.data.metrics.get("validation", {})
                .get("accuracy", float("nan")) for run in runs}
    for row in table:
        row["digits val. accuracy"] = accuracy.get(row["optimizer"], "-")
    figure, axes = plt.subplots(figsize=(7, 4))
    x, y = np.meshgrid(np.linspace(-1.3, 1.3, 200), np.linspace(-0.5, 1.7, 200))
    axes.contour(x, y, 0.5 * (A[0] * x ** 2 + A[1] * y ** 2), levels=15, colors="#ccc",
                 linewidths=0.6)
    for name, path in paths.items():
        axes.plot(path[:150, 0], path[:150, 1], lw=1, label=name)
    axes.set_xlim(-1.3, 1.3)
    axes.set_ylim(-0.5, 1.7)
    axes.set_title("first 150 steps on L = ½(w₁² + 0.01 w₂²)", fontsize=9)
    axes.legend(fontsize=7)
    write_results("optimizers", args, CLAIM, held, table, figure,
                  notes="Learning rates per optimizer are in experiments/optimizers.py "
                        "(SETTINGS); on digits every optimizer uses learning rate 0.01.")
    return held


if __name__ == "__main__":
    main()
