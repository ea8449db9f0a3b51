"""Bytes of TensorBoard events nnkit writes per training step, against depth.

    python benchmarks/logging_volume.py [--steps 500] [--depths 5,20,80]

ReLU MLPs of 5, 20 and 80 hidden layers (32 units, batch 32, random data) trained for
``--steps`` steps under ``nnkit.watch`` with the default logging (gradient norms every
step, weight norms and update ratios every 10th, histograms and activation statistics
every 100th, no per-variable tags), and again with ``per_variable=True`` and with
everything every step (``weights_every_n_logged=1``), the defaults before. Printed: the
event bytes per step (every file of the run folder, Keras' own included) and that figure
× 50,000 steps: the issue's target is a 20-layer, 50,000-step run under about 100 MB.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402

import nnkit  # noqa: E402

VARIANTS = {
    "default": {},
    "per_variable": {"per_variable": True},
    "all every step": {"per_variable": True, "weights_every_n_logged": 1},
}


def event_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*tfevents*"))


def one_run(depth: int, steps: int, options: dict, folder: Path) -> int:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((32,))] + [
        keras.layers.Dense(32, activation="relu") for _ in range(depth)] + [
        keras.layers.Dense(10)])
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.default_rng(0).normal(size=(32 * steps, 32)).astype("float32")
    y = np.random.default_rng(1).integers(0, 10, size=32 * steps)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0,
              callbacks=[nnkit.watch(model, folder, verbose=False, **options)])
    return event_bytes(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--depths", default="5,20,80")
    args = parser.parse_args()
    print(f"{'layers':>6} {'variant':>15} {'bytes/step':>11} {'MB at 50,000 steps':>19}")
    for depth in map(int, args.depths.split(",")):
        for name, options in VARIANTS.items():
            with tempfile.TemporaryDirectory() as folder:
                per_step = one_run(depth, args.steps, options, Path(folder)) / args.steps
            print(f"{depth:>6} {name:>15} {per_step:>11.0f} {per_step * 50_000 / 1e6:>19.1f}",
                  flush=True)


if __name__ == "__main__":
    main()
