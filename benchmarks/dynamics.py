"""Cost of the dynamics instruments (``logging.dynamics``) against plain Keras ``fit``.

    python benchmarks/dynamics.py [--repeats 5] [--quick] [--models "deep narrow MLP"]

Two models: the deep narrow MLP (32 → 20 × 64 ReLU → 10, batch 64) and a small conv net
(28×28×1 → conv 16 → pool → conv 32 → pool → dense 10, fused ReLU, batch 128), on random
data, SGD. Each instrument runs at its schedule through :class:`DynamicsCallback` on a probe
batch the size of the training batch (and the per-example statistics also from the training
step itself, ``gradient_noise_on: batch``, against the same nnkit step without them); plain ``fit`` of the same model is the baseline,
alternated in this process, median of the paired ratios of the training steps' time (from
the first step to the epoch's end, so a measurement at any step counts). Targets (issue
#19): per-example statistics every step ≤ 1.15, sharpness (20 Lanczos iterations) every 100
steps ≤ 1.10, Hessian trace (10 probes) every 100 steps ≤ 1.05. For scale, Cockpit's
published overheads (CIFAR-10 3C3D on a GPU, every step): gradient norm ≈ 1.0×, 1-D
histograms 1.27×, Hessian trace 1.57×, Hessian max eigenvalue 7.1×; its full configuration
every 64 steps 1.3×.

Also printed, as the floor of an instrument measured apart from the step: one
measurement's seconds over one plain step's (from the same timings), i.e. the ratio it
cannot go below at a given schedule: 1 + cost/every.
"""

from __future__ import annotations

import sys
from pathlib import Path
import tempfile

sys.path.insert(0, str(Path(__file__).resolve().parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402

import nnkit  # noqa: E402,F401  (registers the blocks)
from common import benchmark_parser, paired_ratio  # noqa: E402
from instrumentation import conv_net, fitter, mlp  # noqa: E402
from nnkit.config.dynamics import Dynamics  # noqa: E402
from nnkit.dynamics.callback import DynamicsCallback  # noqa: E402
from nnkit import instrument  # noqa: E402
from nnkit.config.schema import Logging  # noqa: E402
from nnkit.training import TrainingModel  # noqa: E402

MODELS = {  # name: (build, sample shape, batch, steps per timing)
    "deep narrow MLP": (mlp(32, 20, 64), (32,), 64, 300),
    "conv net": (conv_net, (28, 28, 1), 128, 200),
}
VARIANTS = {  # name: (schedule, target)
    "per-example statistics every step": ({"gradient_noise": 1}, None),
    "per-example statistics every 10 steps": ({"gradient_noise": 10}, None),
    "sharpness (20 iterations) every 100 steps": ({"sharpness": 100}, 1.10),
    "Hessian trace (10 probes) every 100 steps": ({"hessian_trace": 100}, 1.05),
    "effective rank every 100 steps": ({"effective_rank": 100}, None),
    "full tier, everything every 64 steps": ({"gradient_noise": 64, "effective_rank": 64,
                                              "hessian_trace": 64, "sharpness": 64}, None),
}


def in_step_pair(build, x, y, batch, folder):
    """(nnkit's step measuring the per-example statistics of every training batch from its
    own backward pass, the same step without them): ``gradient_noise_on: batch`` needs
    nnkit's step, so both run it, with a recorder that logs nothing after step 0."""
    quiet = Logging(every_n_steps=10 ** 9, histogram_every_n_steps=0, image_every_seconds=1e9)
    fits = []
    for measured in (True, False):
        model = TrainingModel(*build())
        callbacks = [instrument.attach(model, quiet, folder / str(measured))]
        if measured:
            settings = Dynamics(gradient_noise_on="batch")
            callbacks.append(DynamicsCallback(folder, x[:batch], y[:batch], settings,
                                              schedule={"gradient_noise": 1}))
        fits.append(fitter(model, x, y, batch, callbacks))
    return fits


def main(argv=None) -> None:
    parser = benchmark_parser(__doc__, MODELS, repeats=5)
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="nnkit-bench-dynamics-"))
    settings = Dynamics()
    print(f"median of {args.repeats} alternated pairs; ratio = instrumented fit / plain fit")
    for model_name in args.models.split(","):
        build, shape, batch, steps = MODELS[model_name]
        if args.quick:
            steps = 20
        rng = np.random.default_rng(0)
        x = rng.normal(size=(batch * steps, *shape)).astype("float32")
        y = rng.integers(0, 10, len(x))
        plain = fitter(keras.Model(*build()), x, y, batch, [])
        in_step = in_step_pair(build, x, y, batch, folder / f"{model_name}-in-step")
        result = paired_ratio(*in_step, args.repeats)
        print(f"{model_name:16s} {'per-example statistics every step, in the step':44s} "
              f"{result['ratio']:.3f}  (target ≤ 1.15; gradient_noise_on: batch, against the "
              f"same nnkit step without it)", flush=True)
        for variant, (schedule, target) in VARIANTS.items():
            if args.quick:
                schedule = {name: min(every, 10) for name, every in schedule.items()}
            callback = DynamicsCallback(folder / variant.replace(" ", "_"), x[:batch],
                                        y[:batch], settings, schedule=schedule)
            result = paired_ratio(fitter(keras.Model(*build()), x, y, batch, [callback]),
                                  plain, args.repeats)
            step = result["baseline_s"] / steps
            measurements = sum(len(range(0, steps, every)) for every in schedule.values())
            extra = (result["candidate_s"] - result["baseline_s"]) / max(measurements, 1)
            goal = f"target ≤ {target}" if target else "—"
            print(f"{model_name:16s} {variant:44s} {result['ratio']:.3f}  ({goal}; one "
                  f"measurement ≈ {extra / step:.1f} plain steps, {extra * 1e3:.1f} ms)")


if __name__ == "__main__":
    main()
