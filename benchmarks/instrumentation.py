"""Cost of nnkit's per-layer instrumentation against plain Keras ``fit``.

    python benchmarks/instrumentation.py [--repeats 7] [--quick]

Two models where per-step costs show differently: the wide MLP (256 → 4 × 1024 ReLU → 10,
batch 512) and the deep narrow MLP (32 → 20 × 64 ReLU → 10, batch 64). For each, plain
``fit`` of the same functional model is the baseline, alternated in this process with the
instrumented step: norms every step, every 10 steps, and every step plus histograms every
100 steps. The time runs from the first step to the end of the epoch, so writing out the
statistics the steps stored counts; the gradient-flow image (once per epoch at most) does
not. Printed: the median of the paired step-time ratios (targets: wide ≤ 1.02 every
step; deep narrow ≤ 1.05 every 10 steps, ≤ 1.15 every step; histograms ≤ +0.05), and the
online diagnosis' own cost: the last variant with the diagnosis on over the same run with it
off (target ≤ 1.01).

For scale, the same pairing times the two ways users log without nnkit, which the issue
this answers measured: Keras' own ``TensorBoard(update_freq=1)`` (the loss, each batch)
and the usual hand-written workaround, a ``train_step`` returning every variable's gradient
norm as a metric, written each batch by a callback (``--no-references`` leaves them out).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

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


class GradientNormModel(keras.Model):
    """The hand-written workaround: ``train_step`` returns every gradient norm as a metric."""

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            loss = self.compute_loss(x=x, y=y, y_pred=self(x, training=True))
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        norms = {f"grad_norm/{v.path}": tf.norm(g)
                 for v, g in zip(self.trainable_variables, gradients)}
        return {"loss": loss, **norms}


class BatchScalars(keras.callbacks.Callback):
    """Writes every value of the batch's logs with ``tf.summary.scalar``, from Python."""

    def __init__(self, folder):
        super().__init__()
        self.writer, self.step = tf.summary.create_file_writer(str(folder)), 0

    def on_train_batch_end(self, batch, logs=None):
        with self.writer.as_default(step=self.step):
            for name, value in logs.items():
                tf.summary.scalar(name, value)
        self.step += 1


REFERENCES = {  # name: (model class, callbacks given a log folder)
    "Keras TensorBoard, each batch": (
        keras.Model, lambda folder: [keras.callbacks.TensorBoard(folder, update_freq=1)]),
    "workaround: norms as metrics": (GradientNormModel, lambda folder: [BatchScalars(folder)]),
}


class DiagnosisOff:
    """Stands in for the callback's Diagnosis: the same instrumented run, judging nothing
    (the baseline of the online diagnosis' own cost)."""

    coverage: dict = {}

    def __getattr__(self, name):
        return lambda *args, **kwargs: {"findings": [], "summary": "",
                                        "open_kinds": set()}.get(name)


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
    parser.add_argument("--no-references", dest="references", action="store_false",
                        help="time nnkit only, not Keras' callback and the workaround")
    args = parser.parse_args(argv)
    logdir = Path(tempfile.mkdtemp(prefix="nnkit-bench-"))
    print(f"median of {args.repeats} alternated pairs; ratio = logged run / plain fit")
    for model_name, (inputs, depth, width, batch, steps) in MODELS.items():
        if args.quick:
            depth, width, batch, steps = min(depth, 4), min(width, 64), 32, 10
        rng = np.random.default_rng(0)
        x = rng.normal(size=(batch * steps, inputs)).astype("float32")
        y = rng.integers(0, 10, len(x))
        inputs_layer, outputs = network(inputs, depth, width)
        plain = fitter(keras.Model(inputs_layer, outputs), x, y, batch, [])
        candidates = {}
        for variant, (every, histograms) in VARIANTS.items():
            model = TrainingModel(*network(inputs, depth, width))
            logging = Logging(every_n_steps=every, histogram_every_n_steps=histograms,
                              image_every_seconds=1e9)  # per epoch, not per step: left out
            callback = instrument.attach(model, logging,
                                         logdir / f"{model_name}-{every}-{histograms}")
            candidates[f"nnkit {variant}"] = fitter(model, x, y, batch, [callback])
        off = TrainingModel(*network(inputs, depth, width))
        off_callback = instrument.attach(off, logging, logdir / f"{model_name}-off")
        off_callback.diagnosis = DiagnosisOff()
        diagnosis_pair = (candidates[f"nnkit {variant}"], fitter(off, x, y, batch, [off_callback]))
        for name, (model_class, callbacks) in REFERENCES.items() if args.references else ():
            folder = logdir / f"{model_name}-{name}"
            candidates[name] = fitter(model_class(*network(inputs, depth, width)), x, y,
                                      batch, callbacks(folder))
        for name, candidate in candidates.items():
            result = paired_ratio(candidate, plain, args.repeats)
            print(f"{model_name:<16} {name:<34} {result['ratio']:6.3f}  "
                  f"({result['candidate_s'] / steps * 1000:.2f} vs "
                  f"{result['baseline_s'] / steps * 1000:.2f} ms/step)", flush=True)
        result = paired_ratio(*diagnosis_pair, args.repeats)
        print(f"{model_name:<16} {'online diagnosis (last row, on/off)':<34} "
              f"{result['ratio']:6.3f}", flush=True)


if __name__ == "__main__":
    main()
