"""Initializers: moments against their formulas, bounds, seeds, Keras twins.

Tolerances come from the sample size n: the sample mean has standard error σ/√n, the
sample variance σ²·√((κ - 1)/n) with κ the kurtosis (3 for a normal, 1.8 for a uniform,
about 2.36 for a normal truncated at 2σ). We allow 5 standard errors, using κ = 3.
"""

import math

import keras
import numpy as np
import pytest

from nnkit import initializers as init
from nnkit.initializers import INITIALIZERS, compute_fans
from nnkit.initializers.base import SeededInitializer

DENSE = (256, 128)  # fan_in 256, fan_out 128
CONV = (3, 3, 16, 32)  # fan_in 3·3·16 = 144, fan_out 3·3·32 = 288
TRUNCATED_VARIANCE = 0.87962566103423978 ** 2  # variance of N(0,1) truncated at ±2


def _fan(shape, mode):
    fan_in, fan_out = compute_fans(shape)
    return {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]


# name → (parameters, expected mean, expected variance as a function of the shape)
EXPECTED = {
    "zeros": ({}, 0.0, lambda s: 0.0),
    "ones": ({}, 1.0, lambda s: 0.0),
    "constant": ({"value": 0.5}, 0.5, lambda s: 0.0),
    "random_normal": ({"mean": 0.1, "stddev": 0.2}, 0.1, lambda s: 0.04),
    "random_uniform": ({"minval": -0.3, "maxval": 0.5}, 0.1, lambda s: 0.8 ** 2 / 12),
    "truncated_normal": ({"stddev": 0.2}, 0.0, lambda s: 0.04 * TRUNCATED_VARIANCE),
    "variance_scaling": ({"scale": 3.0, "mode": "fan_out", "distribution": "untruncated_normal"},
                         0.0, lambda s: 3.0 / _fan(s, "fan_out")),
    "glorot_normal": ({}, 0.0, lambda s: 2.0 / (2 * _fan(s, "fan_avg"))),
    "glorot_uniform": ({}, 0.0, lambda s: 2.0 / (2 * _fan(s, "fan_avg"))),
    "he_normal": ({}, 0.0, lambda s: 2.0 / _fan(s, "fan_in")),
    "he_uniform": ({}, 0.0, lambda s: 2.0 / _fan(s, "fan_in")),
    "lecun_normal": ({}, 0.0, lambda s: 1.0 / _fan(s, "fan_in")),
    "lecun_uniform": ({}, 0.0, lambda s: 1.0 / _fan(s, "fan_in")),
    "orthogonal": ({"gain": 1.5}, 0.0, lambda s: 1.5 ** 2 / math.prod(s[:-1])),
    "identity": ({"gain": 2.0}, None, None),  # exact: 2·I, checked on its own
    # LSUV's start is the orthogonal matrix (its rescale on data is tested below)
    "lsuv": ({"gain": 1.5}, 0.0, lambda s: 1.5 ** 2 / math.prod(s[:-1])),
}


def test_every_registered_initializer_has_a_formula():
    assert set(EXPECTED) == set(INITIALIZERS.names())


@pytest.mark.parametrize("shape", [DENSE, CONV], ids=["dense", "conv"])
@pytest.mark.parametrize("name", EXPECTED)
def test_moments_match_the_formula(name, shape):
    params, mean, variance = EXPECTED[name]
    if issubclass(INITIALIZERS.get(name), SeededInitializer):
        params = {**params, "seed": 1}
    if name == "identity":
        if len(shape) != 2:
            with pytest.raises(ValueError, match="needs a 2-D kernel"):
                init.get({"name": name, **params})(shape)
        else:
            np.testing.assert_array_equal(init.get({"name": name, **params})(shape),
                                          2.0 * np.eye(*shape))
        return
    w = np.asarray(init.get({"name": name, **params})(shape), "float64")
    assert w.shape == shape
    n, var = w.size, variance(shape)
    if var == 0.0:
        np.testing.assert_array_equal(w, mean)
        return
    assert abs(w.mean() - mean) < 5 * math.sqrt(var / n)
    if name in ("orthogonal", "lsuv"):
        # columns of unit norm (times gain) make the mean square exactly gain²/rows
        assert np.mean(w ** 2) == pytest.approx(var, rel=1e-5)
    else:
        assert abs(w.var() - var) < 5 * var * math.sqrt(2 / n), (w.var(), var)


@pytest.mark.parametrize("name, keras_name", [
    ("glorot_normal", "GlorotNormal"), ("glorot_uniform", "GlorotUniform"),
    ("he_normal", "HeNormal"), ("he_uniform", "HeUniform"),
    ("lecun_normal", "LecunNormal"), ("lecun_uniform", "LecunUniform"),
])
def test_same_moments_as_the_keras_twin(name, keras_name):
    ours = np.asarray(init.get(name)(DENSE), "float64")
    theirs = np.asarray(getattr(keras.initializers, keras_name)(seed=5)(DENSE), "float64")
    var = EXPECTED[name][2](DENSE)
    # difference of two independent sample variances: √2 × one standard error
    assert abs(ours.var() - theirs.var()) < 5 * math.sqrt(2) * var * math.sqrt(2 / ours.size)


@pytest.mark.parametrize("name, fan", [("glorot_uniform", "fan_avg"), ("he_uniform", "fan_in"),
                                       ("lecun_uniform", "fan_in")])
def test_uniform_bounds(name, fan):
    scale = 2.0 if name.startswith("he") else 1.0
    limit = math.sqrt(3 * scale / _fan(DENSE, fan))
    w = np.asarray(init.get(name)(DENSE))
    assert w.max() <= limit and w.min() >= -limit
    assert w.max() > 0.99 * limit and w.min() < -0.99 * limit, "the whole range is used"


def test_truncation_at_two_standard_deviations():
    w = np.asarray(init.TruncatedNormal(mean=1.0, stddev=0.1, seed=2)((100_000,)))
    assert np.all(np.abs(w - 1.0) <= 0.2 + 1e-6)
    he = init.HeNormal(seed=3)
    w = np.asarray(he(DENSE))
    sigma = math.sqrt(2 / 256) / 0.87962566103423978
    assert np.abs(w).max() <= 2 * sigma + 1e-6


def test_orthogonal_rows_or_columns_are_orthonormal():
    for shape in [(20, 8), (8, 20), (3, 3, 4, 6)]:
        w = np.asarray(init.Orthogonal(gain=2.0, seed=1)(shape)).reshape(-1, shape[-1])
        gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
        np.testing.assert_allclose(gram, 4.0 * np.eye(len(gram)), atol=1e-5)


def test_fans_follow_keras():
    assert compute_fans((7,)) == (7.0, 7.0)
    assert compute_fans((5, 3)) == (5.0, 3.0)
    assert compute_fans(CONV) == (144.0, 288.0)
    assert compute_fans(()) == (1.0, 1.0)


def test_seeds_reproduce_and_differ():
    a = init.HeNormal(seed=11)(DENSE)
    b = init.HeNormal(seed=11)(DENSE)
    c = init.HeNormal(seed=12)(DENSE)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_global_seed_fixes_unseeded_initializers():
    keras.utils.set_random_seed(4)
    first = [init.get("glorot_uniform")(DENSE) for _ in range(2)]
    keras.utils.set_random_seed(4)
    second = [init.get("glorot_uniform")(DENSE) for _ in range(2)]
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[0], first[1]), "two initializers in a row differ"


def test_get_accepts_names_dicts_instances_and_keras():
    he = init.HeNormal()
    assert init.get(he) is he
    assert isinstance(init.get({"name": "constant", "value": 2.0}), init.Constant)
    assert isinstance(init.get("keras:he_normal"), keras.initializers.HeNormal)
    assert init.get({"name": "keras:RandomNormal", "stddev": 3.0}).stddev == 3.0
    with pytest.raises(ValueError, match="did you mean 'he_normal'"):
        init.get("he_norml")


def test_config_round_trip_keeps_the_drawn_seed():
    original = init.VarianceScaling(scale=2.0, mode="fan_avg", distribution="uniform")
    copy = init.VarianceScaling.from_config(original.get_config())
    np.testing.assert_array_equal(original(DENSE), copy(DENSE))


@pytest.mark.parametrize("factory, message", [
    (lambda: init.RandomNormal(stddev=0), "stddev must be > 0"),
    (lambda: init.RandomUniform(minval=1, maxval=1), "maxval must be > minval"),
    (lambda: init.VarianceScaling(scale=-1), "scale must be > 0"),
    (lambda: init.VarianceScaling(mode="fan"), "mode must be one of fan_in, fan_out, fan_avg"),
    (lambda: init.VarianceScaling(distribution="cauchy"), "distribution must be one of"),
    (lambda: init.Orthogonal(gain=0), "gain must be > 0"),
    (lambda: init.Orthogonal()((5,)), "rank ≥ 2"),
    (lambda: init.Identity(gain=0), "gain must be > 0"),
])
def test_bad_parameters(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


def test_keras_identifiers_resolve_as_keras_get_does():
    assert init.get(None) is None and keras.initializers.get(None) is None
    values = np.arange(6.0).reshape(2, 3)
    for identifier in (values, keras.ops.convert_to_tensor(values)):
        np.testing.assert_array_equal(init.get(identifier)((2, 3)), values)
        with pytest.raises(ValueError, match=r"Expected `shape` to be \(2, 3\)"):
            init.get(identifier)((3, 2))
    assert isinstance(init.get(init.HeNormal), init.HeNormal)  # a class: an instance of it
    function = lambda shape, dtype=None: keras.ops.ones(shape, dtype)  # noqa: E731
    assert init.get(function) is function
    for alias, cls in [("HeNormal", init.HeNormal), ("GlorotUniform", init.GlorotUniform),
                       ("Zeros", init.Zeros), ("zero", init.Zeros), ("one", init.Ones),
                       ("normal", init.RandomNormal), ("uniform", init.RandomUniform),
                       ("OrthogonalInitializer", init.Orthogonal),
                       ("IdentityInitializer", init.Identity), ("VarianceScaling",
                                                                init.VarianceScaling)]:
        assert type(init.get(alias)) is cls, alias
        assert type(keras.initializers.get(alias)).__name__ == cls.__name__, alias
    assert "HeNormal" not in INITIALIZERS.names()  # aliases resolve but are not listed


def test_seed_generators_are_accepted_and_advance_as_in_keras():
    for kind in (init.HeNormal, keras.initializers.HeNormal):
        ours = kind(seed=keras.random.SeedGenerator(3))
        first, second = ours(DENSE), ours(DENSE)
        assert not np.array_equal(first, second), kind  # the generator moved on
    first = init.RandomUniform(seed=keras.random.SeedGenerator(5))
    again = init.RandomUniform.from_config(first.get_config())  # the generator's seed travels
    np.testing.assert_array_equal(again((4,)), first((4,)))
    with pytest.raises(ValueError, match="should be an instance of `keras.random.SeedGenerator"):
        init.HeNormal(seed="7")


def test_constant_takes_arrays_that_broadcast():
    row = [1.0, 2.0, 3.0]
    np.testing.assert_array_equal(init.Constant(row)((2, 3)), np.tile(row, (2, 1)))
    np.testing.assert_array_equal(init.Constant(np.float32(0.5))((2,)), [0.5, 0.5])
    again = init.Constant.from_config(init.Constant(row).get_config())
    np.testing.assert_array_equal(again((2, 3)), np.tile(row, (2, 1)))
    dense = keras.layers.Dense(3, kernel_initializer=init.Constant([[1.0, 2.0, 3.0]]))
    dense.build((None, 4))
    np.testing.assert_array_equal(dense.kernel, np.tile(row, (4, 1)))
    with pytest.raises(ValueError, match=r"shape \(3,\) does not broadcast to .*\(2, 4\)"):
        init.Constant(row)((2, 4))


def test_normal_means_truncated_and_untruncated_is_accepted_as_in_keras():
    for distribution in ("normal", "truncated_normal", "untruncated_normal"):
        ours = init.VarianceScaling(2.0, distribution=distribution, seed=1)
        theirs = keras.initializers.VarianceScaling(2.0, distribution=distribution, seed=1)
        assert ours.distribution == theirs.distribution
    w = np.asarray(init.VarianceScaling(distribution="normal", seed=2)(DENSE))
    sigma = math.sqrt(1 / 256) / 0.87962566103423978
    assert np.abs(w).max() <= 2 * sigma + 1e-6  # truncated
    w = np.asarray(init.VarianceScaling(distribution="untruncated_normal", seed=2)((100_000, 1)))
    assert np.abs(w).max() / math.sqrt(1 / 100_000) > 3.5  # a tail: P(|z| > 3.5) = 4.7e-4 a draw


@pytest.mark.parametrize("name", ["lecun_normal", "glorot_uniform", "he_normal"])
def test_attention_kernels_get_keras_fans(name):
    """MultiHeadAttention tells its initializer the kernels' input and output axes; nnkit's
    variance-scaling family must use them, as Keras' does (query kernel (dim, heads, key_dim):
    fan_in = dim = 64, not 64·4)."""
    import keras.layers as kl

    stds = []
    for initializer in (init.get(name), keras.initializers.get(name)):
        attention = kl.MultiHeadAttention(num_heads=4, key_dim=32, kernel_initializer=initializer)
        attention.build((None, 10, 64), (None, 10, 64))
        stds.append([float(np.std(w)) for w in attention.weights if len(w.shape) == 3])
    fan_in, fan_out = 64.0, 4 * 32.0  # the query kernel's
    scale = {"lecun_normal": 1 / fan_in, "glorot_uniform": 2 / (fan_in + fan_out),
             "he_normal": 2 / fan_in}[name]
    n = 64 * 4 * 32  # each kernel's size; a sample std's relative standard error is 1/√(2n)
    assert abs(stds[0][0] - math.sqrt(scale)) < 5 * math.sqrt(scale) / math.sqrt(2 * n)
    for ours, theirs in zip(*stds, strict=True):  # query, key, value, output
        assert ours == pytest.approx(theirs, rel=5 * math.sqrt(2) / math.sqrt(2 * n))


def test_lsuv_rescales_each_hidden_layer_to_unit_variance_and_leaves_the_output():
    """Mishkin & Matas (2016), Algorithm 1, on a Sequential of Keras' own layers (the function
    works on any functional model): orthonormal start, then W_L / √Var(B_L) until within
    the tolerance."""
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input((20,))] + [
        keras.layers.Dense(30, kernel_initializer=init.LSUV(gain=3.0)) for _ in range(3)] + [
        keras.layers.Dense(4, activation="softmax", kernel_initializer=init.LSUV())])
    x = np.random.default_rng(3).normal(2.0, 5.0, size=(64, 20)).astype("float32")
    output_kernel = model.layers[-1].kernel.numpy().copy()
    reached = init.lsuv_rescale(model, x, tolerance=0.02)
    assert list(reached) == [layer.name for layer in model.layers[:3]]
    h = x
    for layer in model.layers[:3]:
        h = layer(h)
        assert abs(float(np.var(h)) - 1.0) < 0.02, layer.name
    np.testing.assert_array_equal(model.layers[-1].kernel.numpy(), output_kernel)
    assert init.lsuv_rescale(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]),
                             x[:, :3]) == {}  # no LSUV layer: nothing to do
    with pytest.raises(ValueError, match="variance 0.0 on the batch"):
        init.lsuv_rescale(keras.Sequential([keras.Input((20,)), keras.layers.Dense(
            5, kernel_initializer=init.LSUV()), keras.layers.Dense(1)]), np.zeros((8, 20)))
