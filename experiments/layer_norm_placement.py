"""Study 17: LayerNorm placement in the Transformer (Xiong et al. 2020, "On Layer
Normalization in the Transformer Architecture").

Post-LN (the original Transformer's x ← LN(x + F(x))) puts a normalisation on the residual
path; Xiong et al. show that at initialisation its gradient grows toward the output blocks,
so large early steps there unsettle training unless the learning rate is warmed up, while
pre-LN (x ← x + F(LN(x))) keeps an identity path, gradients of a similar size in every
block, and trains without warm-up. Measured on the token-reversal task with 6-block
encoders: the gradient norm per block at the first step (``block_grad_norm/<block>``,
last over first), and the test accuracy after the same epochs, for post- and pre-LN with
and without a linear warm-up, three seeds.
"""

import matplotlib.pyplot as plt
import numpy as np

from study import arguments, clauses_text, run_study, spread, write_results

CLAIM = ("At initialisation the post-LN encoder's gradient norm grows toward the output "
         "(last block / first block larger than the pre-LN encoder's, every seed); without "
         "warm-up post-LN ends with a lower test accuracy than with it (every seed), while "
         "pre-LN without warm-up is within 0.05 of pre-LN with it (every seed).")


def block_ratio(run) -> float:
    blocks = {tag.split("/", 1)[1]: series for tag, series in run.data.scalars["train"].items()
              if tag.startswith("block_grad_norm/")}
    keys = sorted(blocks)
    return float(blocks[keys[-1]][1][0] / blocks[keys[0]][1][0])


def measure(run) -> dict:
    return {"norm": run.values["model.norm"], "warm-up": run.values["optimizer.warmup_steps"],
            "seed": run.values["experiment.seed"],
            "block ‖∇‖ last/first at step 0": block_ratio(run),
            "final training loss": float(run.data.metrics["history"]["loss"][-1]),
            "test accuracy": float(run.data.metrics["test"]["accuracy"])}


def verdict(table):
    seeds = sorted({r["seed"] for r in table})
    warm = max(r["warm-up"] for r in table)
    at = {(r["norm"], r["warm-up"], r["seed"]): r for r in table}
    accuracy = lambda n, w, s: at[(n, w, s)]["test accuracy"]  # noqa: E731
    clauses = {
        "post-LN's last/first block gradient at step 0 above pre-LN's, every seed":
            all(at[("post", 0, s)]["block ‖∇‖ last/first at step 0"]
                > at[("pre", 0, s)]["block ‖∇‖ last/first at step 0"] for s in seeds),
        "post-LN: lower test accuracy without warm-up than with, every seed":
            all(accuracy("post", 0, s) < accuracy("post", warm, s) for s in seeds),
        "pre-LN: without warm-up within 0.05 of with, every seed":
            all(accuracy("pre", 0, s) >= accuracy("pre", warm, s) - 0.05 for s in seeds),
    }
    return all(clauses.values()), clauses


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], argv)
    runs = run_study("layer_norm_placement", args, [
        "data.n_samples=600", "training.epochs=3", "model.blocks=2", "model.width=32",
        "sweep={model.norm: [post, pre], optimizer.warmup_steps: [0, 20], "
        "experiment.seed: [0]}"])
    table = [measure(run) for run in runs]
    held, clauses = verdict(table)
    styles = {("post", False): ("tab:red", "-"), ("post", True): ("tab:red", "--"),
              ("pre", False): ("tab:blue", "-"), ("pre", True): ("tab:blue", "--")}
    figure, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for run in runs:
        row = measure(run)
        colour, style = styles[(row["norm"], row["warm-up"] > 0)]
        loss = run.data.metrics["history"]["loss"]
        label = f"{row['norm']}-LN, {'warm-up' if row['warm-up'] else 'no warm-up'}"
        axes[0].plot(np.arange(1, len(loss) + 1), loss, style, color=colour,
                     label=label if row["seed"] == 0 else None)
        blocks = sorted((tag.split("/", 1)[1], series)
                        for tag, series in run.data.scalars["train"].items()
                        if tag.startswith("block_grad_norm/"))
        if row["warm-up"] == 0:
            axes[1].plot(range(1, len(blocks) + 1), [s[1][0] for _, s in blocks], "o-",
                         color=colour, label=f"{row['norm']}-LN" if row["seed"] == 0 else None)
    axes[0].set_yscale("log")
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("training loss")
    axes[0].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    axes[1].set_yscale("log")
    axes[1].set_xlabel("block (input → output)")
    axes[1].set_ylabel("‖∇‖ of the block at step 0")
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    figure.tight_layout()
    summary = []
    for (norm, warmed) in styles:
        rows = [r for r in table if r["norm"] == norm and (r["warm-up"] > 0) == warmed]
        summary.append(f"{norm}-LN, {'warm-up' if warmed else 'no warm-up'}: test accuracy "
                       f"{spread([r['test accuracy'] for r in rows])}")
    notes = ("token reversal (length 10, 12 token ids, 3000 sequences), encoder of 6 blocks, "
             "width 64, 4 heads, MLP 256, sinusoidal positions, Adam 0.003, batch 64, 10 "
             "epochs; warm-up linear over 300 steps. Mean ± std over seeds:\n\n"
             + "\n".join(f"- {line}" for line in summary)
             + "\n\n" + clauses_text(clauses))
    write_results("layer_norm_placement", args, CLAIM, held, table, figure, notes)
    return held, table


if __name__ == "__main__":
    main()
