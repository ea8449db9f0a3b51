"""‖W‖ and ‖ΔW‖ as the instrumented step measures them, against the weights read before and
after ``optimizer.apply``, for every optimizer whose increments are captured and for the
cases that fall back to a snapshot of the weights."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from nnkit.instrument.updates import CapturedUpdates, SnapshotUpdates, can_capture, update_meter
from nnkit.optimizers import OPTIMIZERS

CAPTURED = {
    **{name: lambda name=name: OPTIMIZERS.get(name)(learning_rate=0.05)
       for name in OPTIMIZERS.names() if name != "adamw"},  # decays: below
    "nag lookahead": lambda: OPTIMIZERS.get("nag")(learning_rate=0.05, lookahead=True),
    "keras SGD nesterov": lambda: keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    "keras Adam amsgrad": lambda: keras.optimizers.Adam(0.05, amsgrad=True),
    "keras Adamax": lambda: keras.optimizers.Adamax(0.05),
    "keras Nadam": lambda: keras.optimizers.Nadam(0.05),
    "keras RMSprop centered": lambda: keras.optimizers.RMSprop(0.05, momentum=0.5,
                                                               centered=True),
    "keras Adagrad": lambda: keras.optimizers.Adagrad(0.05),
    "keras Adadelta": lambda: keras.optimizers.Adadelta(1.0),
    "keras Ftrl": lambda: keras.optimizers.Ftrl(0.05),  # assigns W outright: ΔW = new - old
    "keras Lion": lambda: keras.optimizers.Lion(0.05),
    "keras Adafactor": lambda: keras.optimizers.Adafactor(0.05),
    "clipped": lambda: keras.optimizers.Adam(0.05, clipnorm=0.5),
}
SNAPSHOT = {
    "weight decay": lambda: keras.optimizers.AdamW(0.05, weight_decay=0.5),
    "nnkit adamw": lambda: OPTIMIZERS.get("adamw")(learning_rate=0.05, weight_decay=0.5),
    "loss scaling": lambda: keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.05)),
    "gradient accumulation": lambda: keras.optimizers.SGD(0.05, gradient_accumulation_steps=2),
}


def _variables(constraint=None):
    kernel = keras.Variable(np.random.default_rng(0).normal(size=(5, 3)), dtype="float32",
                            name="kernel")
    kernel.constraint = constraint  # as Layer.add_weight(constraint=...) sets it
    return [kernel, keras.Variable(np.full(3, 0.5), dtype="float32", name="bias")]


def _check_three_steps(optimizer, variables, expected_meter):
    rng = np.random.default_rng(1)

    @tf.function
    def step(gradients):
        meter = update_meter(optimizer, variables, gradients)
        assert isinstance(meter, expected_meter)  # decided while tracing
        with meter:
            optimizer.apply(gradients, variables)
        return tf.stack(meter.weight_squares()), tf.stack(meter.update_squares())

    optimizer.build(variables)
    for _ in range(3):
        gradients = [tf.constant(rng.normal(size=v.shape), tf.float32) for v in variables]
        before = [v.numpy() for v in variables]
        weight_sq, update_sq = (t.numpy() for t in step(gradients))
        after = [v.numpy() for v in variables]
        np.testing.assert_allclose(np.sqrt(2 * weight_sq),
                                   [np.linalg.norm(b) for b in before], rtol=1e-6)
        # captured: the increment itself; W + ΔW is rounded to float32 when stored, which
        # moves the measured difference by ≤ 2⁻²⁴‖W‖ ≈ 1e-7‖W‖, ≤ 1e-5 of ‖ΔW‖ here
        np.testing.assert_allclose(np.sqrt(2 * update_sq),
                                   [np.linalg.norm(a - b) for a, b in zip(after, before)],
                                   rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", list(CAPTURED))
def test_captured_increments_equal_the_change_of_the_weights(name):
    _check_three_steps(CAPTURED[name](), _variables(), CapturedUpdates)


@pytest.mark.parametrize("name", list(SNAPSHOT))
def test_side_paths_fall_back_to_a_snapshot_and_stay_exact(name):
    _check_three_steps(SNAPSHOT[name](), _variables(), SnapshotUpdates)


def test_a_constraint_falls_back_to_a_snapshot():
    variables = _variables(constraint=keras.constraints.MaxNorm(1.0))
    _check_three_steps(keras.optimizers.SGD(0.5), variables, SnapshotUpdates)


def test_foreign_optimizers_and_sparse_gradients_are_not_captured():
    class Foreign(keras.optimizers.SGD):  # defined outside keras and nnkit: may write W itself
        pass

    variables = _variables()
    dense = [tf.zeros(v.shape) for v in variables]
    assert can_capture(keras.optimizers.SGD(0.1), variables, dense)
    assert not can_capture(Foreign(0.1), variables, dense)
    sparse = [tf.IndexedSlices(tf.zeros((1, 3)), tf.constant([0]), tf.constant([5, 3])),
              dense[1]]
    assert not can_capture(keras.optimizers.SGD(0.1), variables, sparse)
