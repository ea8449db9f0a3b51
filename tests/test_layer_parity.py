"""Dense, BatchNormalization and PReLU against their Keras twins: masks, regularizers,
constraints, input checks, axes, frozen layers and mixed precision (issue #18)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from nnkit import layers

RNG = np.random.default_rng(1)


def _x(*shape, scale=1.0, shift=0.0):
    return tf.constant(RNG.normal(size=shape) * scale + shift, dtype="float32")


def _copy_weights(source, target):
    for a, b in zip(source.weights, target.weights, strict=True):
        assert a.shape == b.shape, (a.path, b.path)
        b.assign(a)


def _masked_model(dense, norm, prelu, length=7):
    """Embedding(mask_zero) -> dense -> batch norm -> PReLU -> average pooling: each block
    must pass the mask on for the pooling to leave the pads out."""
    inputs = keras.Input((length,), dtype="int32")
    h = keras.layers.Embedding(12, 5, mask_zero=True,
                               embeddings_initializer=keras.initializers.RandomNormal(seed=4))(inputs)
    h = prelu(norm(dense(h)))
    return keras.Model(inputs, keras.layers.GlobalAveragePooling1D()(h))


def test_a_masked_sequence_model_equals_its_all_keras_twin():
    ours = _masked_model(layers.Dense(6, activation="tanh"), layers.BatchNormalization(),
                         layers.PReLU(alpha_initializer="zeros", shared_axes=[1]))
    theirs = _masked_model(keras.layers.Dense(6, activation="tanh"),
                           keras.layers.BatchNormalization(), keras.layers.PReLU(shared_axes=[1]))
    _copy_weights(ours, theirs)
    tokens = np.array([[3, 4, 0, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6, 7], [9, 0, 0, 0, 0, 0, 0]],
                      "int32")
    for training in (True, False):  # batch statistics over the unmasked steps, then moving
        np.testing.assert_allclose(ours(tokens, training=training),
                                   theirs(tokens, training=training), rtol=1e-5, atol=1e-6)
    for a, b in zip(ours.non_trainable_weights, theirs.non_trainable_weights, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)  # the moving statistics
    # the pads change nothing: the same sequences padded further give the same output
    longer = np.pad(tokens, [(0, 0), (0, 3)])
    wider = _masked_model(layers.Dense(6, activation="tanh"), layers.BatchNormalization(),
                          layers.PReLU(alpha_initializer="zeros", shared_axes=[1]), length=10)
    _copy_weights(ours, wider)
    np.testing.assert_allclose(wider(longer, training=False), ours(tokens, training=False),
                               rtol=1e-5, atol=1e-6)


def _regularized(kind):
    """Dense with every regularizer and constraint, nnkit's or Keras'."""
    return kind(4, kernel_regularizer=keras.regularizers.L2(0.3),
                bias_regularizer=keras.regularizers.L1(0.2),
                activity_regularizer=keras.regularizers.L2(0.01),
                kernel_constraint=keras.constraints.MaxNorm(0.5),
                bias_constraint=keras.constraints.NonNeg(),
                bias_initializer=keras.initializers.RandomNormal(seed=2))


def test_dense_regularizers_and_constraints_act_as_keras():
    x, y = _x(16, 3), _x(16, 4)
    models = []
    for kind in (layers.Dense, keras.layers.Dense):
        model = keras.Sequential([keras.Input((3,)), _regularized(kind)])
        model.compile(keras.optimizers.SGD(0.5), "mse")
        models.append(model)
    ours, theirs = models
    _copy_weights(ours, theirs)
    ours(x), theirs(x)
    assert len(ours.losses) == len(theirs.losses) == 3  # kernel, bias, activity
    np.testing.assert_allclose(sorted(map(float, ours.losses)),
                               sorted(map(float, theirs.losses)), rtol=1e-6)
    for model in models:
        model.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False)
    for a, b in zip(ours.weights, theirs.weights, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    kernel, bias = ours.layers[0].get_weights()
    assert np.all(np.linalg.norm(kernel, axis=0) <= 0.5 + 1e-6) and np.all(bias >= 0)
    config = ours.layers[0].get_config()
    again = layers.Dense.from_config(config)
    for key in ("kernel_regularizer", "bias_regularizer", "activity_regularizer",
                "kernel_constraint", "bias_constraint"):
        assert type(getattr(again, key)) is type(getattr(ours.layers[0], key)), key
    assert again.kernel_regularizer.l2 == pytest.approx(0.3)
    assert again.kernel_constraint.max_value == pytest.approx(0.5)


def test_dense_checks_its_input_as_keras():
    for kind in (layers.Dense, keras.layers.Dense):
        dense = kind(3)
        dense(_x(2, 5))
        with pytest.raises(ValueError, match=r"expected axis -1 of input shape to have value 5"):
            dense(_x(2, 4))  # refused before the matmul, with Keras' InputSpec message
        with pytest.raises(ValueError, match=r"expected min_ndim=2, found ndim=1"):
            kind(3)(tf.ones([5]))


def test_prelu_arguments_as_keras():
    x = _x(4, 3, 3, 2)
    for shared_axes in ([1, 2], None, 3):
        theirs = keras.layers.PReLU(alpha_initializer=keras.initializers.RandomUniform(seed=1),
                                    shared_axes=shared_axes)
        kwargs = {"shared_axes": shared_axes} if shared_axes is not None else {
            "shared_axes": [], "shared": False}
        ours = layers.PReLU(alpha_initializer=keras.initializers.RandomUniform(seed=1), **kwargs)
        ours.build(x.shape), theirs.build(x.shape)
        assert ours.alpha.shape == theirs.alpha.shape
        ours.alpha.assign(theirs.alpha)
        np.testing.assert_allclose(ours(x), theirs(x), rtol=1e-6)
    per_channel = layers.PReLU()
    per_channel.build((None, 3, 3, 2))
    assert per_channel.alpha.shape == (2,)  # nnkit's default: one slope per channel
    ours = layers.PReLU(alpha_regularizer=keras.regularizers.L2(0.5),
                        alpha_constraint=keras.constraints.NonNeg())
    ours(_x(2, 3))
    np.testing.assert_allclose(float(ours.losses[0]), 0.5 * 3 * 0.25 ** 2, rtol=1e-6)
    again = layers.PReLU.from_config(ours.get_config())
    assert isinstance(again.alpha_constraint, keras.constraints.NonNeg)
    assert again.alpha_regularizer.l2 == pytest.approx(0.5)


BN_ARGS = {"momentum": 0.8, "epsilon": 1e-2,
           "beta_initializer": keras.initializers.RandomNormal(seed=1),
           "gamma_initializer": keras.initializers.RandomUniform(0.5, 1.5, seed=2),
           "moving_mean_initializer": keras.initializers.Constant(0.3),
           "moving_variance_initializer": keras.initializers.Constant(2.0),
           "gamma_regularizer": keras.regularizers.L2(0.1),
           "beta_regularizer": keras.regularizers.L1(0.1),
           "gamma_constraint": keras.constraints.NonNeg(),
           "beta_constraint": keras.constraints.MaxNorm(1.0)}


@pytest.mark.parametrize("axis, shape", [(1, (8, 3, 4, 4)), (-1, (8, 4, 4, 3)), (2, (6, 5, 4))],
                         ids=["channels_first", "channels_last", "sequence_axis"])
def test_batch_norm_axis_and_arguments_as_keras(axis, shape):
    ours = layers.BatchNormalization(axis=axis, **BN_ARGS)
    theirs = keras.layers.BatchNormalization(axis=axis, **BN_ARGS)
    ours.build(shape), theirs.build(shape)
    _copy_weights(theirs, ours)
    for _ in range(3):
        x = _x(*shape, scale=3.0, shift=1.0)
        np.testing.assert_allclose(ours(x, training=True), theirs(x, training=True),
                                   rtol=1e-4, atol=1e-5)
    for a, b in zip(ours.weights, theirs.weights, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours(x, training=False), theirs(x, training=False),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(sorted(map(float, ours.losses)), sorted(map(float, theirs.losses)),
                               rtol=1e-6)
    again = layers.BatchNormalization.from_config(ours.get_config())
    assert again.axis == axis and again.momentum == 0.8
    assert isinstance(again.moving_variance_initializer, keras.initializers.Constant)


def test_batch_norm_over_two_feature_axes_normalises_each_pair():
    x = _x(64, 3, 2, scale=4.0, shift=-2.0)
    y = layers.BatchNormalization(axis=[1, 2], epsilon=1e-6)(x, training=True).numpy()
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-5)  # per (1, 2) pair
    np.testing.assert_allclose(y.std(axis=0), 1.0, rtol=1e-4)
    with pytest.raises(ValueError, match="Axis 3 is out of bounds"):
        layers.BatchNormalization(axis=3)(x)


def test_a_frozen_batch_norm_runs_in_inference_mode_in_fit_as_keras():
    x, y = _x(32, 4, scale=2.0, shift=5.0), _x(32, 1)
    models = []
    for kind in (layers.BatchNormalization, keras.layers.BatchNormalization):
        norm = kind()
        model = keras.Sequential([keras.Input((4,)), norm, keras.layers.Dense(1)])
        norm.trainable = False
        model.compile(keras.optimizers.SGD(0.1), "mse")
        models.append(model)
    _copy_weights(models[1], models[0])
    before = models[0].layers[0].get_weights()
    for model in models:
        model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
    for a, b in zip(before, models[0].layers[0].get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # neither γ, β nor the moving statistics moved
    # in training mode too it normalises with the moving statistics (0 and 1): y = x / √(1+ε)
    np.testing.assert_allclose(models[0].layers[0](x, training=True), x / np.sqrt(1 + 1e-3),
                               rtol=1e-6)
    for a, b in zip(models[0].weights, models[1].weights, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_batch_norm_under_mixed_precision_computes_in_float32_as_keras():
    x = _x(256, 3, scale=400.0, shift=50.0)  # variance ≈ 1.6e5, past float16's 65504
    outputs = []
    try:
        keras.mixed_precision.set_global_policy("mixed_float16")
        for kind in (layers.BatchNormalization, keras.layers.BatchNormalization):
            norm = kind(momentum=0.0)  # the moving statistics are this batch's
            y = norm(tf.cast(x, "float16"), training=True)
            assert y.dtype == "float16" and norm.moving_variance.dtype == "float32"
            outputs.append((y.numpy().astype("float32"), norm.moving_variance.numpy()))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    (ours, ours_var), (theirs, theirs_var) = outputs
    np.testing.assert_allclose(ours.std(axis=0), 1.0, rtol=1e-2)
    assert np.all(ours_var > 65504)  # not saturated at float16's largest value
    np.testing.assert_allclose(ours_var, theirs_var, rtol=1e-3)
    np.testing.assert_allclose(ours, theirs, atol=2e-3 * 4)  # float16 rounding of |y| ≲ 4


def test_synchronized_batch_norm_on_one_replica_is_the_batch_norm():
    strategy = tf.distribute.get_strategy()  # the default strategy: one replica
    x = _x(16, 3, scale=2.0)
    with strategy.scope():
        ours = layers.BatchNormalization(synchronized=True, momentum=0.0)
    y = ours(x, training=True).numpy()
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(ours.moving_mean, x.numpy().mean(axis=0), rtol=1e-5, atol=1e-6)
    assert layers.BatchNormalization.from_config(ours.get_config()).synchronized


@pytest.mark.parametrize("axis, shape", [(-1, (4, 6, 8)), ([1, 2], (4, 6, 8)), (1, (3, 5, 2))],
                         ids=["features", "two_axes", "middle"])
def test_layer_norm_equals_keras(axis, shape):
    args = {"epsilon": 1e-4, "beta_initializer": keras.initializers.RandomNormal(seed=3),
            "gamma_initializer": keras.initializers.RandomUniform(0.5, 1.5, seed=4),
            "gamma_regularizer": keras.regularizers.L2(0.1),
            "beta_constraint": keras.constraints.MaxNorm(1.0)}
    ours = layers.LayerNormalization(axis=axis, **args)
    theirs = keras.layers.LayerNormalization(axis=axis, **args)
    x = _x(*shape, scale=3.0, shift=2.0)
    ours.build(x.shape), theirs.build(x.shape)
    _copy_weights(theirs, ours)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y_ours, y_theirs = ours(x), theirs(x)
    np.testing.assert_allclose(y_ours, y_theirs, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(tape.gradient(y_ours, x), tape.gradient(y_theirs, x),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(float(ours.losses[0]), float(theirs.losses[0]), rtol=1e-6)
    # with γ = 1, β = 0 each sample has mean 0 and variance σ²/(σ² + ε) over the axes
    plain = layers.LayerNormalization(axis=axis, epsilon=1e-6)(x).numpy()
    axes = tuple(np.atleast_1d(axis) % len(shape))
    np.testing.assert_allclose(plain.mean(axis=axes), 0.0, atol=1e-5)
    np.testing.assert_allclose(plain.var(axis=axes), 1.0, rtol=1e-4)
    again = layers.LayerNormalization.from_config(ours.get_config())
    assert again.axis == ours.axis and isinstance(again.beta_constraint, keras.constraints.MaxNorm)


def test_layer_norm_under_mixed_precision_is_computed_in_float32():
    x = _x(8, 16, scale=400.0, shift=50.0)
    try:
        keras.mixed_precision.set_global_policy("mixed_float16")
        ys = [kind()(tf.cast(x, "float16")) for kind in (layers.LayerNormalization,
                                                           keras.layers.LayerNormalization)]
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert ys[0].dtype == ys[1].dtype == "float16"
    np.testing.assert_allclose(np.asarray(ys[0], "float32").std(axis=-1), 1.0, rtol=1e-2)
    np.testing.assert_allclose(np.asarray(ys[0], "float32"), np.asarray(ys[1], "float32"),
                               atol=8e-3)


def test_alpha_dropout_equals_keras_and_keeps_selu_moments():
    x = _x(64, 32)
    ours, theirs = layers.AlphaDropout(0.2, seed=7), keras.layers.AlphaDropout(0.2, seed=7)
    for _ in range(2):  # the same draws in the same order
        np.testing.assert_allclose(ours(x, training=True), theirs(x, training=True), rtol=1e-6)
    np.testing.assert_array_equal(ours(x, training=False), x)
    # Klambauer et al.: for inputs of mean 0 and variance 1, the output keeps both
    z = tf.constant(np.random.default_rng(2).normal(size=(400_000,)), "float32")
    for rate in (0.05, 0.1, 0.3):
        y = layers.AlphaDropout(rate, seed=1)(z, training=True).numpy().astype("float64")
        # 5 standard errors: of the mean, σ/√n; of the variance, √((μ₄ - σ⁴)/n), with the
        # fourth central moment μ₄ of this (non-normal: two-point plus normal) mixture
        n, var = y.size, y.var()
        mu4 = np.mean((y - y.mean()) ** 4)
        assert abs(y.mean()) < 5 * np.sqrt(var / n), rate
        assert abs(var - 1.0) < 5 * np.sqrt((mu4 - var ** 2) / n), rate
    shaped = layers.AlphaDropout(0.5, noise_shape=(None, 1), seed=3)(tf.ones([6, 4]), training=True)
    assert np.all(shaped.numpy() == shaped.numpy()[:, :1])
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\) for alpha dropout"):
        layers.AlphaDropout(1.0)
