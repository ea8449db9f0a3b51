"""Cost of nnkit's per-layer instrumentation against plain Keras ``fit``.

    python benchmarks/instrumentation.py [--repeats 7] [--quick] [--models conv,lstm]

Four models where per-step costs show differently: the wide MLP (256 → 4 × 1024 ReLU → 10,
batch 512), the deep narrow MLP (32 → 20 × 64 ReLU → 10, batch 64), a small conv net
(28×28×1 → conv 16 → pool → conv 32 → pool → dense 10, fused ReLU, batch 128) and an LSTM
(20 steps × 32 → LSTM 64 → dense 10, batch 64), on random data. For each, plain ``fit``
of the same model is the baseline, alternated in this process with the instrumented step:
norms every step, every 10 steps, and every step plus histograms every 100 steps. The time
runs from the first step to the end of the epoch, so writing out the statistics the steps
stored counts; the gradient-flow image (once per epoch at most) does not. Printed: the
median of the paired step-time ratios (targets: wide ≤ 1.02 every step; deep narrow ≤ 1.05
every 10 steps, ≤ 1.15 every step; conv and LSTM ≤ 1.10 every step, ≤ 1.03 every 10 steps;
histograms ≤ +0.05), and three more pairs:

* the online diagnosis' own cost: the last variant with the diagnosis on over the same run
  with it off (target ≤ 1.01);
* ``nnkit.watch`` on the plain Keras model over ``nnkit run``'s TrainingModel, both every
  step (target: within 0.02);
* the floor: nnkit every step over the plain step plus the three bare reductions a logged
  step cannot avoid, ½‖∇‖², ½‖W‖² and a third pass of the weights' size (ΔW), stored in
  a variable (target ≤ 1.01: nnkit adds nothing beyond the passes it cannot avoid).

For scale, the same pairing times the two ways users log without nnkit, which the issue
this answers measured: Keras' own ``TensorBoard(update_freq=1)`` (the loss, each batch)
and the usual hand-written workaround, a ``train_step`` returning every variable's gradient
norm as a metric, written each batch by a callback (``--no-references`` leaves them out).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import nnkit  # noqa: E402,F401
from common import StepTimer, benchmark_parser, paired_ratio  # noqa: E402
from nnkit import instrument  # noqa: E402
from nnkit.config.schema import Logging  # noqa: E402
from nnkit.training import TrainingModel  # noqa: E402


def mlp(inputs, depth, width):
    def build():
        keras.utils.set_random_seed(0)
        x = input_layer = keras.Input((inputs,))
        for _ in range(depth):
            x = keras.layers.Dense(width)(x)
            x = keras.layers.ReLU()(x)
        return input_layer, keras.layers.Dense(10)(x)

    return build


def conv_net():
    keras.utils.set_random_seed(0)
    x = input_layer = keras.Input((28, 28, 1))
    for filters in (16, 32):
        x = keras.layers.Conv2D(filters, 3, activation="relu", padding="same")(x)
        x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    return input_layer, keras.layers.Dense(10)(x)


def lstm():
    keras.utils.set_random_seed(0)
    input_layer = keras.Input((20, 32))
    x = keras.layers.LSTM(64)(input_layer)
    return input_layer, keras.layers.Dense(10)(x)


MODELS = {  # name: (build, sample shape, batch, steps per timing, quick build)
    "wide MLP": (mlp(256, 4, 1024), (256,), 512, 8, mlp(256, 4, 64)),
    "deep narrow MLP": (mlp(32, 20, 64), (32,), 64, 60, mlp(32, 4, 64)),
    "conv net": (conv_net, (28, 28, 1), 128, 20, conv_net),
    "LSTM": (lstm, (20, 32), 64, 20, lstm),
}
VARIANTS = {  # name: (every_n_steps, histogram_every_n_steps)
    "norms every step": (1, 0),
    "norms every 10 steps": (10, 0),
    "every step + histograms/100": (1, 100),
}


class FloorModel(keras.Model):
    """Keras' step plus the reductions a logged step cannot avoid, and nothing else: one
    pass over the gradients, one over the weights before the update, one more of the same
    size after it (ΔW's), their sums kept in a variable (so nothing is pruned)."""

    def train_step(self, data):
        x, y = data
        variables = self.trainable_variables
        with tf.GradientTape() as tape:
            loss = self.compute_loss(x=x, y=y, y_pred=self(x, training=True))
        gradients = tape.gradient(loss, variables)
        grad = tf.add_n([tf.nn.l2_loss(g) for g in gradients])
        weights = tf.add_n([tf.nn.l2_loss(v) for v in variables])
        with tf.control_dependencies([weights]):
            self.optimizer.apply(gradients, variables)
        after = tf.add_n([tf.nn.l2_loss(v) for v in variables])
        if not hasattr(self, "_sums"):
            with tf.init_scope():
                self._sums = tf.Variable(tf.zeros([3]), trainable=False)
        self._sums.assign(tf.stack([grad, weights, after]))
        return {"loss": loss}


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
    parser = benchmark_parser(__doc__, MODELS, repeats=7)
    parser.add_argument("--no-references", dest="references", action="store_false",
                        help="time nnkit only, not Keras' callback and the workaround")
    args = parser.parse_args(argv)
    logdir = Path(tempfile.mkdtemp(prefix="nnkit-bench-"))
    print(f"median of {args.repeats} alternated pairs; ratio = logged run / plain fit")
    for model_name in args.models.split(","):
        build, shape, batch, steps, quick_build = MODELS[model_name]
        if args.quick:
            build, batch, steps = quick_build, 32, 10
        rng = np.random.default_rng(0)
        x = rng.normal(size=(batch * steps, *shape)).astype("float32")
        y = rng.integers(0, 10, len(x))
        plain = fitter(keras.Model(*build()), x, y, batch, [])
        candidates = {}
        for variant, (every, histograms) in VARIANTS.items():
            model = TrainingModel(*build())
            logging = Logging(every_n_steps=every, histogram_every_n_steps=histograms,
                              image_every_seconds=1e9)  # per epoch, not per step: left out
            callback = instrument.attach(model, logging,
                                         logdir / f"{model_name}-{every}-{histograms}")
            candidates[f"nnkit {variant}"] = fitter(model, x, y, batch, [callback])
        every_step = candidates["nnkit norms every step"]
        off = TrainingModel(*build())
        off_callback = instrument.attach(off, logging, logdir / f"{model_name}-off")
        off_callback.diagnosis = DiagnosisOff()
        pairs = {"online diagnosis (last row, on/off)": (
            candidates[f"nnkit {variant}"], fitter(off, x, y, batch, [off_callback]))}
        watched = keras.Model(*build())
        watch = nnkit.watch(watched, logdir / f"{model_name}-watch", histogram_every_n_steps=0,
                            image_every_seconds=1e9, verbose=False)
        pairs["nnkit.watch / nnkit run, every step"] = (
            fitter(watched, x, y, batch, [watch]), every_step)
        pairs["nnkit every step / floor"] = (every_step,
                                             fitter(FloorModel(*build()), x, y, batch, []))
        for name, (model_class, callbacks) in REFERENCES.items() if args.references else ():
            folder = logdir / f"{model_name}-{name}"
            candidates[name] = fitter(model_class(*build()), x, y, batch, callbacks(folder))
        for name, candidate in candidates.items():
            result = paired_ratio(candidate, plain, args.repeats)
            print(f"{model_name:<16} {name:<38} {result['ratio']:6.3f}  "
                  f"({result['candidate_s'] / steps * 1000:.2f} vs "
                  f"{result['baseline_s'] / steps * 1000:.2f} ms/step)", flush=True)
        for name, pair in pairs.items():
            result = paired_ratio(*pair, args.repeats)
            print(f"{model_name:<16} {name:<38} {result['ratio']:6.3f}", flush=True)


if __name__ == "__main__":
    main()
