"""Study 16: depth with and without skip connections (He, Zhang, Ren & Sun 2016, "Deep
Residual Learning for Image Recognition", Figure 1 and section 4.2).

He et al. found that a deeper plain network trains *worse* than a shallower one (higher
training error: not over-fitting but an optimisation problem, "degradation"), and that
the same networks with identity skip connections do not degrade. Measured on the 8 × 8
digits with the CIFAR-style nets of ``architecture: resnet`` (3 stages of 16, 32, 64
filters, batch norm, projection shortcuts): the training loss after the same epochs, and
the gradient norm per block at the first step (``block_grad_norm/<block>``), first block
over last, for plain and residual nets of 20 and 56 layers, three seeds.
"""

import matplotlib.pyplot as plt
import numpy as np

from study import arguments, clauses_text, run_study, spread, write_results

CLAIM = ("Without skips the 56-layer net ends with a higher training loss than the 20-layer "
         "net (degradation), in every seed; with skips the 56-layer net's training loss is no "
         "higher than 1.1 × the 20-layer net's, in every seed; and, as He et al. argue, the "
         "plain net's degradation is not a vanishing gradient: at the first step the plain "
         "56-layer net's gradient grows toward its input (first block over last above 10, the "
         "explosion mean-field theory predicts for deep batch-normalised nets, Yang et al. "
         "2019), while the residual 56-layer net's stays below 10, in every seed.")


def measure(run) -> dict:
    history = run.data.metrics["history"]
    blocks = {tag.split("/", 1)[1]: series for tag, series in run.data.scalars["train"].items()
              if tag.startswith("block_grad_norm/")}
    keys = sorted(blocks)
    first, last = blocks[keys[0]][1][0], blocks[keys[-1]][1][0]
    return {"net": "plain" if run.values["model.plain"] else "residual",
            "depth": run.values["model.depth"], "seed": run.values["experiment.seed"],
            "final training loss": float(history["loss"][-1]),
            "training accuracy": float(history["accuracy"][-1]),
            "test accuracy": float(run.data.metrics["test"]["accuracy"]),  # BN's moving stats
            "block ‖∇‖ first/last at step 0": float(first / last)}


def verdict(table):
    seeds = sorted({r["seed"] for r in table})
    shallow, deep = sorted({r["depth"] for r in table})
    at = {(r["net"], r["depth"], r["seed"]): r for r in table}
    loss = lambda net, depth, s: at[(net, depth, s)]["final training loss"]  # noqa: E731
    flow = lambda net, s: at[(net, deep, s)]["block ‖∇‖ first/last at step 0"]  # noqa: E731
    clauses = {
        f"plain: {deep} layers end with a higher training loss than {shallow}, every seed":
            all(loss("plain", deep, s) > loss("plain", shallow, s) for s in seeds),
        f"residual: {deep} layers end at most 1.1 × the training loss of {shallow}, every "
        "seed": all(loss("residual", deep, s) <= 1.1 * loss("residual", shallow, s)
                    for s in seeds),
        f"at step 0 the plain {deep}-layer net's first/last block gradient is above 10 and "
        "the residual one's below 10, every seed":
            all(flow("plain", s) > 10 and flow("residual", s) < 10 for s in seeds),
    }
    return all(clauses.values()), clauses


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], argv)
    runs = run_study("residual_depth", args, [
        "training.epochs=2", "sweep={model.depth: [8, 20], model.plain: [true, false], "
                             "experiment.seed: [0]}"])
    table = [measure(run) for run in runs]
    held, clauses = verdict(table)
    depths = sorted({r["depth"] for r in table})
    figure, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    colours = {("plain", depths[0]): "tab:orange", ("plain", depths[-1]): "tab:red",
               ("residual", depths[0]): "tab:cyan", ("residual", depths[-1]): "tab:blue"}
    for run in runs:
        row = measure(run)
        key = (row["net"], row["depth"])
        loss = run.data.metrics["history"]["loss"]
        axes[0].plot(np.arange(1, len(loss) + 1), loss, color=colours[key],
                     label=f"{key[0]}-{key[1]}" if row["seed"] == 0 else None)
    axes[0].set_yscale("log")
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("training loss")
    axes[0].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    for i, (key, colour) in enumerate(colours.items()):
        values = [r["block ‖∇‖ first/last at step 0"] for r in table
                  if (r["net"], r["depth"]) == key]
        axes[1].scatter([i] * len(values), values, color=colour)
    axes[1].set_xticks(range(len(colours)), [f"{n}-{d}" for n, d in colours])
    axes[1].set_yscale("log")
    axes[1].set_ylabel("‖∇‖ first block / last block, step 0")
    figure.tight_layout()
    summary = []
    for (net, depth) in colours:
        values = [r["final training loss"] for r in table if (r["net"], r["depth"]) == (net, depth)]
        summary.append(f"{net}-{depth}: final training loss {spread(values)}")
    notes = ("digits as 8 × 8 images, CIFAR-style nets (3 × 3 stem, basic blocks, 3 stages of "
             "16/32/64 filters, batch norm, projection shortcuts, He init), SGD with momentum "
             "0.9 at 0.05, batch 64, 8 epochs. Mean ± std over seeds:\n\n"
             + "\n".join(f"- {line}" for line in summary)
             + "\n\n" + clauses_text(clauses))
    write_results("residual_depth", args, CLAIM, held, table, figure, notes)
    return held, table


if __name__ == "__main__":
    main()
