"""nnkit.dynamics against exact answers: NumPy eigenvalues, full Hessians from a tape,
explicit per-example gradients, NumPy's SVD, the mean-field map, closed forms."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import nnkit
from nnkit import dynamics
from nnkit.dynamics.hessian import lanczos
from nnkit.dynamics.objective import Objective

RNG = np.random.default_rng(7)


def _least_squares(n=64, d=6, X=None):
    X = RNG.standard_normal((n, d)).astype("float32") if X is None else X
    y = RNG.standard_normal((len(X), 1)).astype("float32")
    model = keras.Sequential([keras.Input((X.shape[1],)), keras.layers.Dense(1, use_bias=False)])
    return model, X, y, 2 * X.astype(np.float64).T @ X / len(X)  # H of the mean squared error


@pytest.mark.parametrize("hvp", ["forward_over_reverse", "double_backward"])
@pytest.mark.parametrize("method,iterations", [("lanczos", 20), ("power", 300)])
def test_sharpness_of_least_squares_is_the_top_eigenvalue_of_2XtX_over_n(hvp, method,
                                                                          iterations):
    model, X, y, H = _least_squares()
    found = dynamics.sharpness(model, X, y, "mse", iterations=iterations, method=method, hvp=hvp)
    assert found == pytest.approx(np.linalg.eigvalsh(H)[-1], rel=1e-3)


def test_hessian_trace_is_exact_for_a_diagonal_hessian_and_within_its_standard_error():
    q, _ = np.linalg.qr(RNG.standard_normal((64, 5)))  # orthogonal columns: XᵀX diagonal
    model, X, y, H = _least_squares(X=(q * [1, 2, 3, 4, 5]).astype("float32"))
    assert dynamics.hessian_trace(model, X, y, "mse", samples=3) == pytest.approx(
        np.trace(H), rel=1e-5)  # vᵀDv = tr D for every Rademacher v
    model, X, y, H = _least_squares()
    samples = 400
    off_diagonal = np.sum(H ** 2) - np.sum(np.diag(H) ** 2)
    standard_error = np.sqrt(2 * off_diagonal / samples)  # Var vᵀHv = 2 Σ_{i≠j} H_ij²
    found = dynamics.hessian_trace(model, X, y, "mse", samples=samples, seed=3)
    assert abs(found - np.trace(H)) < 4 * standard_error


def _mlp_problem():
    X = RNG.standard_normal((32, 4)).astype("float32")
    y = RNG.integers(0, 3, 32)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation="tanh"),
                              keras.layers.Dense(3, activation="softmax")])
    return model, X, y


def _full_hessian(model, X, y, loss):
    """The P × P Hessian from nested tapes (tape.jacobian of the flat gradient)."""
    variables = model.trainable_variables
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            value = loss(y, model(X))
        gradient = tf.concat([tf.reshape(g, [-1]) for g in inner.gradient(value, variables)], 0)
    rows = outer.jacobian(gradient, variables)
    return np.concatenate([tf.reshape(r, [gradient.shape[0], -1]).numpy() for r in rows],
                          1).astype(np.float64)


def test_sharpness_of_an_mlp_equals_the_top_eigenvalue_of_its_full_hessian():
    model, X, y = _mlp_problem()
    loss = keras.losses.SparseCategoricalCrossentropy()
    H = _full_hessian(model, X, y, loss)
    assert np.allclose(H, H.T, atol=1e-5)
    assert dynamics.sharpness(model, X, y, loss, iterations=40) == pytest.approx(
        np.linalg.eigvalsh((H + H.T) / 2)[-1], rel=1e-3)


def test_preconditioned_sharpness_is_the_top_eigenvalue_of_d_inverse_h():
    model, X, y = _mlp_problem()
    loss = keras.losses.SparseCategoricalCrossentropy()
    H = _full_hessian(model, X, y, loss)
    D = RNG.uniform(0.1, 2.0, len(H))
    scaled = H / np.sqrt(np.outer(D, D))  # D^-1/2 H D^-1/2: the eigenvalues of D⁻¹H
    expected = np.max(np.linalg.eigvals(np.diag(1 / D) @ H).real)
    assert np.linalg.eigvalsh((scaled + scaled.T) / 2)[-1] == pytest.approx(expected, rel=1e-6)
    found = dynamics.sharpness(model, X, y, loss, iterations=40, preconditioner=D)
    assert found == pytest.approx(expected, rel=1e-3)


def test_lanczos_finds_the_largest_eigenvalue_not_the_largest_in_magnitude():
    eigenvalues = np.array([-9.0, -1.0, 0.5, 2.0, 3.0])
    Q, _ = np.linalg.qr(RNG.standard_normal((5, 5)))
    A = Q @ np.diag(eigenvalues) @ Q.T
    assert lanczos(lambda v: A @ v, 5, 5, np.random.default_rng(0))[-1] == pytest.approx(3.0)


def test_regularization_is_part_of_the_curvature():
    """R = c‖W‖² adds 2c to every eigenvalue of the least-squares Hessian."""
    X = RNG.standard_normal((64, 4)).astype("float32")
    y = RNG.standard_normal((64, 1)).astype("float32")
    c = 0.5
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(
        1, use_bias=False, kernel_regularizer=keras.regularizers.L2(c))])
    H = 2 * X.astype(np.float64).T @ X / 64 + 2 * c * np.eye(4)
    assert dynamics.sharpness(model, X, y, "mse") == pytest.approx(np.linalg.eigvalsh(H)[-1],
                                                                    rel=1e-3)


# --- gradient noise ------------------------------------------------------------------------


def _noise_model():
    """Dense (fused tanh, L2), Conv2D, a Dense on sequences, a strided Conv1D (all by their
    identities), LayerNormalization (the Jacobian fallback), nnkit's Dense."""
    inputs = keras.Input((6,))
    h = keras.layers.Dense(16, activation="tanh", kernel_regularizer=keras.regularizers.L2(0.01),
                           name="first")(inputs)
    h = keras.layers.Reshape((2, 2, 4))(h)
    h = keras.layers.Conv2D(3, 2, padding="same", activation="relu", name="conv2d")(h)
    h = keras.layers.Reshape((4, 3))(h)
    h = keras.layers.Dense(5, activation="relu", name="on_sequences")(h)
    h = keras.layers.Conv1D(3, 2, strides=2, name="conv")(h)
    h = keras.layers.LayerNormalization(name="norm")(h)
    h = keras.layers.Flatten()(h)
    h = nnkit.layers.Dense(4, activation="elu", name="nnkit_dense")(h)
    outputs = keras.layers.Dense(3, activation="softmax", name="output")(h)
    return keras.Model(inputs, outputs)


def _per_example_gradients(model, X, y, loss):
    rows = []
    for i in range(len(X)):
        with tf.GradientTape() as tape:
            value = loss(y[i:i + 1], model(X[i:i + 1])) + tf.add_n(model.losses)
        rows.append([g.numpy().astype(np.float64) for g in
                     tape.gradient(value, model.trainable_variables)])
    return [np.stack([r[j] for r in rows]) for j in range(len(rows[0]))]


def test_gradient_moments_equal_sums_over_explicit_per_example_gradients():
    model = _noise_model()
    X = RNG.standard_normal((24, 6)).astype("float32")
    y = RNG.integers(0, 3, 24)
    loss = keras.losses.SparseCategoricalCrossentropy()
    moments = dynamics.gradient_moments(model, X, y, loss)
    names = [v.path for v in model.trainable_variables]
    fast = {n for n, f in zip(names, moments.fast) if f}
    assert set(names) - fast == {"norm/gamma", "norm/beta"}  # they took the Jacobian
    eps = np.finfo(np.float32).eps
    for G, first, second in zip(_per_example_gradients(model, X, y, loss), moments.first,
                                moments.second):
        # float32 sums of B terms in another order: off by up to B·eps·Σᵢ|gᵢ| (and a
        # few eps relative for each term's own rounding)
        np.testing.assert_allclose(first, G.sum(0), rtol=1e-4,
                                   atol=len(X) * eps * np.abs(G).sum(0).max())
        np.testing.assert_allclose(second, (G ** 2).sum(0), rtol=1e-4,
                                   atol=len(X) * eps * (G ** 2).sum(0).max())


def test_noise_scale_and_gsnr_equal_those_of_explicit_per_example_gradients():
    model = _noise_model()
    X = RNG.standard_normal((48, 6)).astype("float32")
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)  # labels the gradients agree on
    loss = keras.losses.SparseCategoricalCrossentropy()
    noise = dynamics.gradient_noise_scale(model, X, y, loss)
    G = _per_example_gradients(model, X, y, loss)
    B = len(X)
    flat = np.concatenate([g.reshape(B, -1) for g in G], 1)
    mean = flat.mean(0)
    trace = np.sum((flat - mean) ** 2) / (B - 1)  # unbiased tr(Σ)
    signal = mean @ mean - trace / B
    assert signal > 0  # (else B_simple is inf, tested below)
    assert noise.trace_sigma == pytest.approx(trace, rel=1e-4)
    assert noise.gradient_norm_sq == pytest.approx(signal, rel=1e-3)
    assert noise.b_simple == pytest.approx(trace / signal, rel=1e-3)
    names = [v.path.split("/")[0] for v in model.trainable_variables]
    for layer in ("first", "conv", "output"):
        g = np.concatenate([G[j].reshape(B, -1) for j, n in enumerate(names) if n == layer], 1)
        variance = g.var(0)
        keep = variance > 1e-12 * np.maximum(g.mean(0) ** 2, 1e-30)
        assert noise.gsnr[layer] == pytest.approx(np.mean(g.mean(0)[keep] ** 2 /
                                                          variance[keep]), rel=1e-3)
        assert noise.variance[layer] == pytest.approx(variance.sum(), rel=1e-4)


def test_a_batch_without_signal_gives_an_infinite_noise_scale():
    """Two examples whose gradients cancel: |G|² estimate ≤ 0, B_simple inf, not negative."""
    model, X, y, _ = _least_squares(n=2, d=1, X=np.array([[1.0], [1.0]], "float32"))
    y = np.array([[1.0], [-1.0]], "float32")
    model.layers[0].kernel.assign([[0.0]])
    noise = dynamics.gradient_noise_scale(model, X, y, "mse")
    assert noise.b_simple == float("inf") and noise.trace_sigma > 0


# --- trainability at initialisation --------------------------------------------------------


def test_jacobian_spectrum_equals_numpy_svd_of_per_example_jacobians():
    model = keras.Sequential([keras.Input((12,)), keras.layers.Dense(20, activation="tanh"),
                              keras.layers.Dense(7)])
    X = RNG.standard_normal((6, 12)).astype("float32")
    s = []
    for i in range(len(X)):  # one tape per example: an independent route to J
        x = tf.constant(X[i:i + 1])
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = model(x)
        s.append(np.linalg.svd(tape.jacobian(out, x).numpy().reshape(7, 12),
                               compute_uv=False))
    s = np.array(s, np.float64)
    exact = dynamics.jacobian_spectrum(model, X, "exact")
    np.testing.assert_allclose(exact.singular_values, s, rtol=1e-5, atol=1e-6)
    assert exact.mean_squared == pytest.approx(np.mean(s ** 2), rel=1e-5)
    probes = dynamics.jacobian_spectrum(model, X, "probes", probes=400, iterations=60)
    # ‖Jv‖² over n Gaussian probes: relative std √(2Σs⁴)/Σs² per probe, /√n on the mean
    relative = np.sqrt(2 * np.sum(s ** 4, 1)) / np.sum(s ** 2, 1) / np.sqrt(400)
    assert probes.mean_squared == pytest.approx(exact.mean_squared, rel=4 * relative.max())
    assert probes.max == pytest.approx(s.max(), rel=1e-3)


def test_signal_length_of_a_deep_tanh_net_follows_the_mean_field_map():
    width, depth, sigma_w, sigma_b = 512, 16, 1.5, 0.1
    layers = [keras.Input((width,))]
    for _ in range(depth):
        layers.append(keras.layers.Dense(
            width, activation="tanh",  # fused: the pre-activation is read all the same
            kernel_initializer=keras.initializers.RandomNormal(stddev=sigma_w / np.sqrt(width)),
            bias_initializer=keras.initializers.RandomNormal(stddev=sigma_b)))
    model = keras.Sequential(layers)
    X = RNG.standard_normal((64, width)).astype("float32")
    measured = dynamics.signal_propagation(model, X)
    q1 = sigma_w ** 2 * np.mean(X.astype(np.float64) ** 2) + sigma_b ** 2
    expected = dynamics.mean_field_length(np.tanh, sigma_w, sigma_b, q1, depth)
    # q̂ is a mean of width × batch squares of near-Gaussian values: a relative std of
    # √(2/(width·batch)) = 0.8% were they independent; they share each layer's weights and
    # depth compounds it, so 10× that
    np.testing.assert_allclose(measured.q, expected, rtol=10 * np.sqrt(2 / (width * 64)))
    assert len(measured.layers) == depth and np.all(np.isfinite(measured.c))


def test_signal_correlation_of_identical_inputs_is_one_and_of_orthogonal_inputs_near_zero():
    model = keras.Sequential([keras.Input((256,)), keras.layers.Dense(256, use_bias=False)])
    e = np.eye(256, dtype="float32")
    same = dynamics.signal_propagation(model, np.stack([e[0], e[0]]))
    assert same.c[0] == pytest.approx(1.0, abs=1e-6)
    # W e0 and W e1 are independent Gaussian vectors: correlation ~ N(0, 1/256)
    apart = dynamics.signal_propagation(model, np.stack([e[0], e[1]]))
    assert abs(apart.c[0]) < 4 / np.sqrt(256)


def test_effective_rank_closed_forms():
    assert dynamics.effective_rank(np.eye(6)) == pytest.approx(6.0)
    assert dynamics.effective_rank(np.outer(np.ones(5), RNG.standard_normal(4))) == \
        pytest.approx(1.0)
    s = np.array([3.0, 2.0, 1.0])
    p = s / s.sum()
    assert dynamics.effective_rank(np.diag(s)) == pytest.approx(np.exp(-np.sum(p * np.log(p))))


# --- stability limits ------------------------------------------------------------------------


def _quadratic_diverges(optimizer, curvature: float, steps: int = 400) -> bool:
    """Whether ``optimizer`` on L = ½λθ² runs away from θ = 1."""
    theta = keras.Variable(np.ones(1, "float32"))
    for _ in range(steps):
        with tf.GradientTape() as tape:
            value = 0.5 * curvature * tf.reduce_sum(tf.square(theta.value))
        optimizer.apply([tape.gradient(value, theta.value)], [theta])
    return not abs(float(theta.numpy()[0])) < 1.0


@pytest.mark.parametrize("make", [
    lambda: nnkit.optimizers.SGD(0.1), lambda: nnkit.optimizers.Momentum(0.1, 0.9),
    lambda: nnkit.optimizers.NAG(0.1, 0.9), lambda: keras.optimizers.SGD(0.1, momentum=0.5),
    lambda: keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True)],
    ids=["sgd", "momentum", "nag", "keras_heavy_ball", "keras_nesterov"])
def test_sharpness_limit_separates_convergence_from_divergence_on_a_quadratic(make):
    limit = dynamics.sharpness_limit(make())
    assert not _quadratic_diverges(make(), 0.97 * limit)
    assert _quadratic_diverges(make(), 1.03 * limit)


def test_adaptive_limits_follow_cohen_et_al_2022():
    assert dynamics.sharpness_limit(keras.optimizers.Adam(0.01)) == pytest.approx(3800, rel=1e-6)
    assert dynamics.sharpness_limit(nnkit.optimizers.Adam(0.01, beta_1=0.5)) == \
        pytest.approx(600, rel=1e-6)
    assert dynamics.sharpness_limit(keras.optimizers.RMSprop(0.01)) == pytest.approx(200, rel=1e-6)
    assert dynamics.sharpness_limit(nnkit.optimizers.AdaGrad(0.01)) is None


def test_adam_preconditioner_is_bias_corrected_root_second_moment():
    """After one step from W: v = (1 - β₂)g², v̂ = g², D = (1 - β₁)(|g| + ε)."""
    for optimizer in (keras.optimizers.Adam(0.01), nnkit.optimizers.Adam(0.01)):
        model, X, y, _ = _least_squares(n=16, d=3)
        w = model.layers[0].kernel.numpy().astype(np.float64)
        g = (2 * X.T @ (X @ w - y) / len(X)).ravel()  # ∇ of the mean squared error
        model.compile(optimizer, "mse")
        model.train_on_batch(X, y)
        D = dynamics.preconditioner(optimizer, model.trainable_variables)
        np.testing.assert_allclose(D, (1 - 0.9) * (np.abs(g) + 1e-7), rtol=1e-3)


def test_objective_needs_a_loss_for_an_uncompiled_model():
    model, X, y, _ = _least_squares()
    with pytest.raises(ValueError, match="pass loss="):
        Objective(model, X, y)
    model.compile("sgd", "mse")
    assert Objective(model, X, y)().shape == ()
