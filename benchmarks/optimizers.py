"""Step time of each hand-written optimizer against its Keras twin (target ratio ≤ 1.03).

    python benchmarks/optimizers.py [--steps 10] [--repeats 5] [--quick]

The wide-MLP benchmark: 256 → 4 × 1024 ReLU → 10, batch 512, trained with ``fit``, with
``jit_compile`` off and on. Each pair is built once and then alternated in this process;
the printed figure is the median of the paired step-time ratios (nnkit / Keras).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402

import nnkit  # noqa: E402
from common import StepTimer, paired_ratio  # noqa: E402

PAIRS = {
    "sgd": (lambda: nnkit.optimizers.SGD(0.01), lambda: keras.optimizers.SGD(0.01)),
    "momentum": (lambda: nnkit.optimizers.Momentum(0.01, 0.9),
                 lambda: keras.optimizers.SGD(0.01, momentum=0.9)),
    "nag": (lambda: nnkit.optimizers.NAG(0.01, 0.9),
            lambda: keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True)),
    "adagrad": (lambda: nnkit.optimizers.AdaGrad(), lambda: keras.optimizers.Adagrad()),
    "rmsprop": (lambda: nnkit.optimizers.RMSProp(), lambda: keras.optimizers.RMSprop()),
    "adadelta": (lambda: nnkit.optimizers.AdaDelta(), lambda: keras.optimizers.Adadelta()),
    "adam": (lambda: nnkit.optimizers.Adam(), lambda: keras.optimizers.Adam()),
}


def wide_mlp(width: int, depth: int) -> keras.Model:
    layers = [keras.Input((256,))]
    layers += [keras.layers.Dense(width, activation="relu") for _ in range(depth)]
    layers += [keras.layers.Dense(10)]
    return keras.Sequential(layers)


def trainer(optimizer, jit: bool, x, y, batch: int, width: int, depth: int):
    """One epoch of ``fit``, returning the seconds its training steps took."""
    keras.utils.set_random_seed(0)
    model = wide_mlp(width, depth)
    model.compile(optimizer, keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=jit)
    timer = StepTimer()

    def fit() -> float:
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False, callbacks=[timer])
        return timer.seconds

    return fit


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="training steps per timing")
    parser.add_argument("--repeats", type=int, default=5, help="alternated pairs")
    parser.add_argument("--quick", action="store_true", help="a small model, for a smoke run")
    args = parser.parse_args(argv)
    width, depth, batch = (64, 2, 64) if args.quick else (1024, 4, 512)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch * args.steps, 256)).astype("float32")
    y = rng.integers(0, 10, len(x))
    print(f"wide MLP 256 → {depth} × {width} ReLU → 10, batch {batch}, {args.steps} steps, "
          f"median of {args.repeats} alternated pairs")
    print(f"{'optimizer':<10} {'jit':<5} {'nnkit/keras':>11} {'nnkit s/step':>13} "
          f"{'keras s/step':>13}")
    worst = 0.0
    for jit in (False, True):
        for name, (ours, theirs) in PAIRS.items():
            result = paired_ratio(trainer(ours(), jit, x, y, batch, width, depth),
                                  trainer(theirs(), jit, x, y, batch, width, depth),
                                  args.repeats)
            worst = max(worst, result["ratio"])
            print(f"{name:<10} {str(jit):<5} {result['ratio']:>11.3f} "
                  f"{result['candidate_s'] / args.steps:>13.4f} "
                  f"{result['baseline_s'] / args.steps:>13.4f}", flush=True)
    print(f"worst ratio: {worst:.3f} (target ≤ 1.03)")


if __name__ == "__main__":
    main()
