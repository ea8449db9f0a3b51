"""Cost of instrumenting recurrent nets (with ‖∂L/∂hₜ‖ through time) and Transformers
(with per-head attention entropy) against plain Keras ``fit`` of the same model.

    python benchmarks/architectures.py [--repeats 5] [--quick] [--models LSTM]

Models, on random data, SGD, batch 64: an nnkit LSTM (T = 50 steps of 8 features, 64
units → dense 10) and a 4-block pre-LN Transformer encoder (T = 32 steps of 16 features,
width 64, 4 heads, MLP 256, mean-pooled → dense 10), both as ``nnkit run`` builds them.
Ratio = instrumented ``fit`` / plain ``fit`` of the same model, alternated in this process,
median of the paired ratios of the training steps' time. Targets (issue #20): every step
(with the through-time norms) ≤ 1.15, every 10 steps ≤ 1.05. Also printed: nnkit's LSTM
(``tf.scan`` over the cell) against Keras' own ``LSTM`` layer, both plain, and the floor of
a logged step: the tap's extra gradient alone (a model whose step asks the tape for
∂L/∂hₜ and reduces it, nothing else), over plain ``fit``.
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
from common import benchmark_parser, paired_ratio  # noqa: E402
from instrumentation import fitter  # noqa: E402
from nnkit import instrument, layers  # noqa: E402
from nnkit.config.schema import Logging  # noqa: E402
from nnkit.instrument.through_time import HiddenStateTaps, norms_through_time  # noqa: E402
from nnkit.training import TrainingModel  # noqa: E402


def lstm(length=50, features=8, units=64, keras_layer=False):
    def build():
        keras.utils.set_random_seed(0)
        inputs = keras.Input((length, features))
        cell = keras.layers.LSTM(units) if keras_layer else layers.LSTM(units)
        return inputs, keras.layers.Dense(10)(cell(inputs))
    return build


def transformer(length=32, features=16, blocks=4, width=64, heads=4):
    def build():
        from nnkit.config.model import Transformer
        from nnkit.models.transformer import build_transformer

        keras.utils.set_random_seed(0)
        cfg = Transformer(architecture="transformer", blocks=blocks, width=width, heads=heads)
        model = build_transformer(cfg, (length, features), "regression", 10, "mse")
        return model.inputs, model.outputs
    return build


class TapFloorModel(keras.Model):
    """Keras' step plus the through-time gradient and its per-t reduction, nothing else."""

    def train_step(self, data):
        x, y = data
        if not hasattr(self, "_taps"):
            self._taps = HiddenStateTaps([l for l in self.layers if isinstance(l, layers.RNN)])
            with tf.init_scope():
                self._sums = tf.Variable(tf.zeros([50]), trainable=False)
        variables = self.trainable_variables
        with tf.GradientTape() as tape:
            with self._taps.active(tape.watch):
                loss = self.compute_loss(x=x, y=y, y_pred=self(x, training=True))
        taps = self._taps.taps()
        gradients = tape.gradient(loss, [*variables, *taps])
        self.optimizer.apply(gradients[:len(variables)], variables)
        self._sums.assign(norms_through_time(gradients[-1]))
        return {"loss": loss}


MODELS = {  # name: (build, sample shape, batch, steps per timing)
    "LSTM T=50": (lstm(), (50, 8), 64, 60),
    "Transformer 4 blocks": (transformer(), (32, 16), 64, 40),
}
VARIANTS = {  # name: (every_n_steps, histogram_every_n_steps, target)
    "every step (through time / attention)": (1, 0, 1.15),
    "every 10 steps": (10, 0, 1.05),
    "every step + histograms/100": (1, 100, None),
}


def main(argv=None) -> None:
    parser = benchmark_parser(__doc__, MODELS, repeats=5)
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="nnkit-bench-architectures-"))
    print(f"median of {args.repeats} alternated pairs; ratio = instrumented fit / plain fit")
    for name in args.models.split(","):
        build, shape, batch, steps = MODELS[name]
        steps = 8 if args.quick else steps
        rng = np.random.default_rng(0)
        x = rng.normal(size=(batch * steps, *shape)).astype("float32")
        y = rng.integers(0, 10, len(x))
        plain = fitter(keras.Model(*build()), x, y, batch, [])
        for variant, (every, histograms, target) in VARIANTS.items():
            model = TrainingModel(*build())
            logging = Logging(every_n_steps=every, histogram_every_n_steps=histograms,
                              image_every_seconds=1e9, preflight=False)
            callback = instrument.attach(model, logging, folder / f"{name}-{variant}")
            result = paired_ratio(fitter(model, x, y, batch, [callback]), plain, args.repeats)
            goal = f"target ≤ {target}" if target else "—"
            print(f"{name:<22} {variant:<40} {result['ratio']:6.3f}  ({goal}; "
                  f"{result['candidate_s'] / steps * 1e3:.1f} vs "
                  f"{result['baseline_s'] / steps * 1e3:.1f} ms/step)", flush=True)
        if name.startswith("LSTM"):
            floor = paired_ratio(fitter(TapFloorModel(*build()), x, y, batch, []), plain,
                                 args.repeats)
            print(f"{name:<22} {'floor: the tap gradient alone':<40} {floor['ratio']:6.3f}")
            keras_lstm = fitter(keras.Model(*lstm(keras_layer=True)()), x, y, batch, [])
            result = paired_ratio(plain, keras_lstm, args.repeats)
            print(f"{name:<22} {'plain: nnkit LSTM / Keras LSTM':<40} {result['ratio']:6.3f}")


if __name__ == "__main__":
    main()
