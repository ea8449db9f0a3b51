"""Study 9: dropout (the notes: dropping units at random during training works like an
ensemble and curbs over-fitting; too much dropout under-fits).

Measured: training and validation loss at the end, and their gap.
"""

import matplotlib.pyplot as plt

from study import arguments, run_study, write_results

CLAIM = ("On 40 noisy training points a wide MLP over-fits without dropout (the largest "
         "validation - training loss gap of the small rates); a moderate rate (0.3) shrinks "
         "that gap; a large rate (0.8) under-fits (the highest training loss).")


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], argv)
    # over-fitting needs the full 400 full-batch epochs; the quick size validates every 25
    # epochs instead of every epoch (validation is most of a 40-sample epoch's time)
    runs = run_study("dropout", args, ["training.validation_every_n_epochs=25"])
    table, gap, train = [], {}, {}
    figure, axes = plt.subplots(figsize=(6, 3.5))
    for run in sorted(runs, key=lambda r: r.values["model.dropout"]):
        rate = float(run.values["model.dropout"])
        metrics = run.data.metrics
        train[rate] = metrics["train"]["loss"]
        gap[rate] = metrics["validation"]["loss"] - metrics["train"]["loss"]
        table.append({"dropout": rate, "train loss": train[rate],
                      "validation loss": metrics["validation"]["loss"], "gap": gap[rate]})
        for split, style in (("train", "-"), ("validation", "--")):
            steps, loss = run.data.series(split, "epoch_loss")
            axes.plot(steps + 1, loss, style, label=f"dropout {rate} ({split})")
    held = gap[0.0] > gap[0.3] and train[0.8] == max(train.values())
    axes.set_xlabel("epoch")
    axes.set_ylabel("loss")
    axes.legend(fontsize=6)
    write_results("dropout", args, CLAIM, held, table, figure,
                  notes="Losses are evaluated without dropout (inference mode) on the final "
                        "weights; full-batch Adam. At 0.8 the gap grows again: an under-fitted "
                        "model is poor on both sets.")
    return held


if __name__ == "__main__":
    main()
