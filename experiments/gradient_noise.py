"""Study 14: the gradient noise scale (McCandlish, Kaplan, Amodei et al. 2018, "An
Empirical Model of Large-Batch Training").

B_simple = tr(Σ)/|G|² compares the noise of one example's gradient with the signal of the
true gradient. The paper predicts the trade-off between steps S and examples E = S·B to a
target loss, S = S_min(1 + B_crit/B), with a critical batch size B_crit ≈ B_simple: below
it a larger batch saves steps almost for free, above it extra examples buy few steps; and
B_simple grows during training as the gradient's signal shrinks. Measured: for each batch
size, the best learning rate of one grid (fewest steps to the target training loss), its
S and E, B_crit from a least-squares fit of S against 1/B (intercept S_min, slope
S_min·B_crit), and B_simple logged on a fixed probe during the same runs
(``logging.dynamics``).
"""

import matplotlib.pyplot as plt
import numpy as np

from study import arguments, run_study, write_results

TARGET = 0.1  # the probe's (training) loss
CLAIM = ("(a) B_simple grows during training (its median over the last third of the "
         "measurements at least twice its value at step 0, in the best run of every batch "
         "size); (b) larger batches need fewer steps but more examples to reach a training "
         "loss of 0.1; (c) the critical batch size fitted to that trade-off is within a "
         "factor of 10 of B_simple measured when the target is reached (the paper's "
         "B_crit ≈ B_simple).")


def steps_to_target(run) -> int | None:
    """The first step whose probe loss (1024 training samples, measured at every step) is at
    most the target."""
    steps, loss = run.data.series("train", "probe_loss")
    reached = np.flatnonzero(loss <= TARGET)
    return None if not len(reached) else int(steps[reached[0]])


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], argv)
    runs = run_study("gradient_noise", args, [
        "training.epochs=8",
        "sweep={training.batch_size: [16, 128], optimizer.learning_rate: [0.1, 0.3]}"])
    best = {}
    for run in runs:
        batch, steps = run.values["training.batch_size"], steps_to_target(run)
        if steps is not None and (batch not in best or steps < best[batch][1]):
            best[batch] = (run, steps)
    table, noise_at_target = [], {}
    for batch in sorted(best):
        run, steps = best[batch]
        at, values = run.data.series("train", "gradient_noise_scale")
        early, late = values[0], np.median(values[-max(1, len(values) // 3):])
        near = float(np.median(values[np.argsort(abs(at - steps))[:9]]))  # 9 nearest steps
        noise_at_target[batch] = near
        table.append({"batch": batch, "best lr": run.values["optimizer.learning_rate"],
                      "steps to target": steps, "examples to target": steps * batch,
                      "B_simple early": float(early), "B_simple late": float(late),
                      "B_simple at target": float(near)})
    batches = np.array([r["batch"] for r in table], float)
    steps = np.array([r["steps to target"] for r in table], float)
    slope, intercept = np.polyfit(1 / batches, steps, 1) if len(batches) >= 2 else (np.nan,) * 2
    critical = slope / intercept if intercept > 0 else float("nan")
    measured = float(np.median(list(noise_at_target.values()))) if noise_at_target else np.nan
    grows = all(r["B_simple late"] >= 2 * r["B_simple early"] for r in table)
    trade = bool(np.all(np.diff(steps) <= 0) and np.all(np.diff(steps * batches) >= 0))
    within = bool(np.isfinite(critical) and critical > 0 and 0.1 <= critical / measured <= 10)
    all_reached = len(best) == len({r.values["training.batch_size"] for r in runs})
    parts = {"a": all_reached and grows, "b": all_reached and trade, "c": within}
    held = all(parts.values())
    figure, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for batch in sorted(best):
        run, _ = best[batch]
        at, values = run.data.series("train", "gradient_noise_scale")
        window = 9  # one measurement is noisy: a running median, the raw values faint
        smooth = [np.median(values[max(0, i - window // 2):i + window // 2 + 1])
                  for i in range(len(values))]
        line, = axes[0].plot((at + 1) * batch, smooth, label=f"B = {batch}")
        axes[0].plot((at + 1) * batch, values, ".", ms=2, alpha=0.25, color=line.get_color())
    axes[0].set_xscale("log")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("examples seen (after the step)")
    axes[0].set_ylabel("B_simple (running median of 9)")
    axes[0].legend()
    axes[1].plot(steps * batches, steps, "o-", label="measured (best lr each)")
    if np.isfinite(critical) and critical > 0:
        grid = np.geomspace(batches.min() / 2, batches.max() * 2, 50)
        axes[1].plot(intercept * grid * (1 + critical / grid), intercept * (1 + critical / grid),
                     "--", label=f"fit: S_min = {intercept:.0f}, B_crit = {critical:.0f}")
    for b, e, s in zip(batches, steps * batches, steps):
        axes[1].annotate(f"B={b:.0f}", (e, s), textcoords="offset points", xytext=(4, 4))
    axes[1].set_xscale("log")
    axes[1].set_yscale("log")
    axes[1].set_xlabel(f"examples to training loss {TARGET}")
    axes[1].set_ylabel("steps to it")
    axes[1].legend()
    figure.tight_layout()
    rates = ", ".join(f"{lr:g}" for lr in sorted({r.values["optimizer.learning_rate"]
                                                  for r in runs}))
    largest = max(r.values["optimizer.learning_rate"] for r in runs)
    at_edge = [r["batch"] for r in table if r["best lr"] == largest]
    edge_note = (f"The best rate of B = {', '.join(map(str, at_edge))} is the grid's largest: "
                 "a larger one might take fewer steps. " if at_edge else "")
    notes = (f"digits, ReLU MLP 2 × 64 (He), SGD; learning rates {{{rates}}} for "
             f"every batch size, the best (fewest steps to the target) kept. The loss is the "
             f"probe's (1024 training samples, inference mode), at every step. B_simple at the "
             f"target: the median of the 9 measurements nearest it. B_crit from S = S_min + "
             f"S_min·B_crit/B fitted by least squares: S_min = {intercept:.3g}, B_crit = "
             f"{critical:.3g}; B_simple when the target is reached (median over the batch "
             f"sizes' best runs) {measured:.3g}, ratio {critical / measured:.2g}. One seed.\n\n"
             + edge_note + "Parts: " + ", ".join(f"({k}) {'held' if v else 'did NOT hold'}"
                                     for k, v in parts.items())
             + (". B_simple ignores curvature: where the Hessian is far from isotropic the "
                "paper's B_noise = tr(HΣ)/GᵀHG, which B_crit follows, is smaller than it "
                "(McCandlish et al. 2018, section 2.2)" if not parts["c"] else ""))
    write_results("gradient_noise", args, CLAIM, held, table, figure, notes)
    return held, parts


if __name__ == "__main__":
    main()
