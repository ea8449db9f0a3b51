"""Cost of nnkit's per-layer instrumentation against plain Keras ``fit``.

    python benchmarks/instrumentation.py [--repeats 7] [--quick]

Two models where per-step costs show differently: the wide MLP (256 → 4 × 1024 ReLU → 10,
batch 512) and the deep narrow MLP (32 → 20 × 64 ReLU → 10, batch 64). For each, plain
``fit`` of the same functional model is the baseline, alternated in this process with the
instrumented step: norms every step, every 10 steps, and every step plus histograms every
100 steps. The time runs from the first step to the end of the epoch, so writing out the
statistics the steps stored counts; the gradient-flow image (once per epoch at most) does
not. Printed: the median of the paired step-time ratios (targets: wide ≤ 1.02 every
step; deep narrow ≤ 1.05 every 10 steps, ≤ 1.15 every step; histograms ≤ +0.05).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402

import nnkit  # noqa: E402,F401
from common import StepTimer, paired_ratio  # noqa: E402
from nnkit import instrument  # noqa: E402
from nnkit.config.schema import Logging  # noqa: E402
from nnkit.training import TrainingModel  # noqa: E402

MODELS = {  # name: (inputs, depth, width, batch, steps per timing)
    "wide MLP": (256, 4, 1024, 512, 8),
    "deep narrow MLP": (32, 20, 64, 64, 60),
}
VARIANTS = {  # name: (every_n_steps, histogram_every_n_steps)
    "norms every step": (1, 0),
    "norms every 10 steps": (10, 0),
    "every step + histograms/100": (1, 100),
}


def network(inputs, depth, width):
    keras.utils.set_random_seed(0)
    x = input_layer = keras.Input((inputs,))
    for _ in range(depth):
        x = keras.layers.Dense(width)(x)
        x = keras.layers.ReLU()(x)
    return input_layer, keras.layers.Dense(10)(x)


def fitter(model, x, y, batch, callbacks):
    """One epoch of ``fit``, returning the seconds its training steps took."""
    model.compile(keras.optimizers.SGD(0.001),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    timer = StepTimer()

    def fit() -> float:
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False,
                  callbacks=[*callbacks, timer])
        return timer.seconds

    return fit


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="alternated pairs")
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    args = parser.parse_args(argv)
    logdir = Path(tempfile.mkdtemp(prefix="nnkit-bench-"))
    print(f"median of {args.repeats} alternated pairs; ratio = instrumented / plain fit")
    for model_name, (inputs, depth, width, batch, steps) in MODELS.items():
        if args.quick:
            depth, width, batch, steps = min(depth, 4), min(width, 64), 32, 10
        rng = np.random.default_rng(0)
        x = rng.normal(size=(batch * steps, inputs)).astype("float32")
        y = rng.integers(0, 10, len(x))
        inputs_layer, outputs = network(inputs, depth, width)
        plain = fitter(keras.Model(inputs_layer, outputs), x, y, batch, [])
        for variant, (every, histograms) in VARIANTS.items():
            model = TrainingModel(*network(inputs, depth, width))
            logging = Logging(every_n_steps=every, histogram_every_n_steps=histograms,
                              image_every_seconds=1e9)  # per epoch, not per step: left out
            callback = instrument.attach(model, logging,
                                         logdir / f"{model_name}-{every}-{histograms}")
            result = paired_ratio(fitter(model, x, y, batch, [callback]), plain, args.repeats)
            print(f"{model_name:<16} {variant:<28} {result['ratio']:6.3f}  "
                  f"({result['candidate_s'] / steps * 1000:.2f} vs "
                  f"{result['baseline_s'] / steps * 1000:.2f} ms/step)", flush=True)


if __name__ == "__main__":
    main()
