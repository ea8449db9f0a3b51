"""Study 11: large batch with and without learning-rate warm-up; early stopping (the notes: a
large batch wants a large learning rate, which is unstable at the start unless it is warmed up
from a small value; early stopping ends training once the monitored loss stops improving).

Measured: validation accuracy with and without 30 warm-up steps at learning rates 0.1 and 0.3
(batch 256, momentum 0.9); then one run with early stopping (monitor val_loss, patience 3,
restore the best weights): the epoch it stopped at, and the final against the best
validation loss.
"""

import matplotlib.pyplot as plt
import numpy as np

from nnkit.config import load_config
from nnkit.training import run
from study import ROOT, arguments, run_study, write_results

CLAIM = ("At the large learning rate (0.3, batch 256) warm-up gives a higher validation "
         "accuracy than starting at the full rate; early stopping ends training before the "
         "epoch limit and restores the weights of the best validation loss.")


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], argv)
    runs = run_study("warmup_early_stopping", args,
                     ["training.epochs=8", "sweep={optimizer.learning_rate: [0.3], "
                      "optimizer.warmup_steps: [0, 30]}"])
    table, accuracy = [], {}
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    for run_ in runs:
        rate = float(run_.values["optimizer.learning_rate"])
        warm = int(run_.values["optimizer.warmup_steps"])
        accuracy[(rate, warm)] = run_.data.metrics["validation"]["accuracy"]
        table.append({"learning rate": rate, "warm-up steps": warm,
                      "first-epoch loss": run_.data.metrics["history"]["loss"][0],
                      "validation accuracy": accuracy[(rate, warm)]})
        steps, loss = run_.data.series("train", "epoch_loss")
        left.plot(steps + 1, loss, "-" if warm else "--", label=f"lr {rate}, warm-up {warm}")
    config = load_config(ROOT / "configs" / "studies" / "warmup_early_stopping.yaml", [
        "sweep=null", "optimizer.learning_rate=0.1", "optimizer.warmup_steps=30",
        f"experiment.log_dir={args.logdir}", f"training.epochs={20 if args.quick else 60}",
        "training.early_stopping={monitor: val_loss, patience: 3, restore_best: true}"])
    metrics = run(config, verbose=0).metrics
    val = np.array(metrics["history"]["val_loss"])
    limit = config.training.epochs
    stopped_early = metrics["epochs_run"] < limit
    restored = abs(metrics["validation"]["loss"] - val.min()) < 1e-4
    table.append({"learning rate": 0.1, "warm-up steps": 30,
                  "first-epoch loss": metrics["history"]["loss"][0],
                  "validation accuracy": metrics["validation"]["accuracy"]})
    right.plot(np.arange(1, len(val) + 1), val, marker="o")
    right.axvline(int(np.argmin(val)) + 1, color="#999", linestyle=":")
    right.set_title(f"early stopping: {metrics['epochs_run']} of {limit} epochs", fontsize=9)
    right.set_xlabel("epoch")
    right.set_ylabel("validation loss")
    left.set_xlabel("epoch")
    left.set_ylabel("training loss")
    left.set_yscale("log")
    left.legend(fontsize=7)
    held = (accuracy[(0.3, 30)] > accuracy[(0.3, 0)] and stopped_early and restored)
    write_results("warmup_early_stopping", args, CLAIM, held, table, figure,
                  notes=f"The last row is the early-stopping run: it stopped after "
                        f"{metrics['epochs_run']} of {limit} epochs; its final validation loss "
                        f"{metrics['validation']['loss']:.4f} equals the best epoch's "
                        f"{val.min():.4f} (restored weights).")
    return held


if __name__ == "__main__":
    main()
