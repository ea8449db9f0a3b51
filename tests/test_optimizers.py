"""Hand-written optimizers: equal to Keras, equal to the formula, usable everywhere Keras is.

Keras twins: nnkit's update follows the same sequence of float32 operations, so trajectories
agree to the last bit in practice; the tests allow 1e-5 (the issue's bound) relative.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from nnkit import optimizers as opt
from nnkit.optimizers import OPTIMIZERS

TWINS = {
    "sgd": (lambda: opt.SGD(0.05), lambda: keras.optimizers.SGD(0.05)),
    "momentum": (lambda: opt.Momentum(0.02, momentum=0.9),
                 lambda: keras.optimizers.SGD(0.02, momentum=0.9)),
    "nag": (lambda: opt.NAG(0.02, momentum=0.9),
            lambda: keras.optimizers.SGD(0.02, momentum=0.9, nesterov=True)),
    "adagrad": (lambda: opt.AdaGrad(0.1), lambda: keras.optimizers.Adagrad(0.1)),
    "rmsprop": (lambda: opt.RMSProp(0.01), lambda: keras.optimizers.RMSprop(0.01)),
    "rmsprop_centered_momentum": (
        lambda: opt.RMSProp(0.01, momentum=0.5, centered=True),
        lambda: keras.optimizers.RMSprop(0.01, momentum=0.5, centered=True)),
    "adadelta": (lambda: opt.AdaDelta(1.0), lambda: keras.optimizers.Adadelta(1.0)),
    "adam": (lambda: opt.Adam(0.01), lambda: keras.optimizers.Adam(0.01)),
    "adam_amsgrad": (lambda: opt.Adam(0.01, amsgrad=True),
                     lambda: keras.optimizers.Adam(0.01, amsgrad=True)),
    "adamw": (lambda: opt.AdamW(0.01, weight_decay=0.05),
              lambda: keras.optimizers.AdamW(0.01, weight_decay=0.05)),
    "adamw_default_decay": (lambda: opt.AdamW(0.01), lambda: keras.optimizers.AdamW(0.01)),
    "sgd_weight_decay": (lambda: opt.SGD(0.05, weight_decay=0.1),
                         lambda: keras.optimizers.SGD(0.05, weight_decay=0.1)),
    "rmsprop_weight_decay": (lambda: opt.RMSProp(0.01, weight_decay=0.1),
                             lambda: keras.optimizers.RMSprop(0.01, weight_decay=0.1)),
}
# an ill-conditioned quadratic L(w) = ½ wᵀAw, condition number 100: a long narrow valley
A = np.array([[10.0, 0.0], [0.0, 0.1]], dtype="float32")


def _quadratic_gradient(w):
    return keras.ops.matmul(A, w)


@pytest.mark.parametrize("name", TWINS)
def test_quadratic_trajectory_equals_keras(name):
    ours, theirs = (factory() for factory in TWINS[name])
    w_ours, w_theirs = (keras.Variable(np.array([1.0, 1.0], "float32")) for _ in range(2))
    for _ in range(200):
        ours.apply([_quadratic_gradient(w_ours)], [w_ours])
        theirs.apply([_quadratic_gradient(w_theirs)], [w_theirs])
        np.testing.assert_allclose(w_ours.numpy(), w_theirs.numpy(), rtol=1e-5, atol=1e-7)


def _mlp(seed):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh"),
                             keras.layers.Dense(3)])


# the variants' 200-step MLP runs are long checks; the quadratic test above covers each twin
VARIANTS = {"rmsprop_centered_momentum", "adam_amsgrad", "adamw_default_decay",
            "sgd_weight_decay", "rmsprop_weight_decay"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in VARIANTS
                                  else n for n in TWINS])
def test_mlp_weights_equal_keras_after_each_of_200_steps(name):
    x = tf.constant(np.random.default_rng(0).normal(size=(32, 4)), "float32")
    y = tf.constant(np.random.default_rng(1).integers(0, 3, 32))
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    models = [_mlp(3), _mlp(3)]
    optimizers = [factory() for factory in TWINS[name]]

    @tf.function
    def step(model, optimizer):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x))
        optimizer.apply(tape.gradient(loss, model.trainable_variables),
                        model.trainable_variables)

    steps = [tf.function(step.python_function) for _ in models]
    for _ in range(200):
        for run_step, model, optimizer in zip(steps, models, optimizers):
            run_step(model, optimizer)
        for a, b in zip(models[0].weights, models[1].weights):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


# --- the formulas, in NumPy, independent of Keras: single steps and golden trajectories ---

def _reference(name, w, gradient_fn, steps, lr, **p):
    """The notes' update rules (with Keras' defaults for ε and initial accumulators)."""
    w = w.astype("float64")
    v, s, m, d = (np.zeros_like(w) for _ in range(4))
    g_acc = np.full_like(w, p.get("initial_accumulator_value", 0.1))
    path = []
    for t in range(1, steps + 1):
        g = gradient_fn(w)  # at W before the decay: both use the step's starting point
        w = w - lr * p.get("wd", 0.0) * w  # decoupled weight decay (Loshchilov & Hutter)
        if name == "sgd":
            w = w - lr * g
        elif name == "momentum":
            v = p["beta"] * v + lr * g
            w = w - v
        elif name == "nag_lookahead":
            v = p["beta"] * v + lr * gradient_fn(w - p["beta"] * v)
            w = w - v
        elif name == "adagrad":
            g_acc = g_acc + g ** 2
            w = w - lr * g / np.sqrt(g_acc + p["eps"])
        elif name == "rmsprop":
            s = p["rho"] * s + (1 - p["rho"]) * g ** 2
            w = w - lr * g / np.sqrt(s + p["eps"])
        elif name == "adadelta":
            s = p["rho"] * s + (1 - p["rho"]) * g ** 2
            delta = -np.sqrt(d + p["eps"]) / np.sqrt(s + p["eps"]) * g
            d = p["rho"] * d + (1 - p["rho"]) * delta ** 2
            w = w + lr * delta
        elif name == "adam":
            m = p["b1"] * m + (1 - p["b1"]) * g
            v = p["b2"] * v + (1 - p["b2"]) * g ** 2
            m_hat, v_hat = m / (1 - p["b1"] ** t), v / (1 - p["b2"] ** t)
            if p["mode"] == "paper":
                w = w - lr * m_hat / (np.sqrt(v_hat) + p["eps"])
            elif p["mode"] == "notes":
                w = w - lr * m_hat / np.sqrt(v_hat + p["eps"])
            else:
                alpha = lr * np.sqrt(1 - p["b2"] ** t) / (1 - p["b1"] ** t)
                w = w - alpha * m / (np.sqrt(v) + p["eps"])
        path.append(w.copy())
    return np.array(path)


FORMULAS = {
    "sgd": (lambda: opt.SGD(0.05), {}),
    "momentum": (lambda: opt.Momentum(0.02, 0.9), {"beta": 0.9}),
    "adagrad": (lambda: opt.AdaGrad(0.1), {"eps": 1e-7}),
    "rmsprop": (lambda: opt.RMSProp(0.01, rho=0.8), {"rho": 0.8, "eps": 1e-7}),
    "adadelta": (lambda: opt.AdaDelta(1.0, rho=0.9), {"rho": 0.9, "eps": 1e-7}),
    "adam": (lambda: opt.Adam(0.01), {"b1": 0.9, "b2": 0.999, "eps": 1e-7, "mode": "keras"}),
    "adam_paper": (lambda: opt.Adam(0.01, epsilon=1e-3, epsilon_mode="paper"),
                   {"b1": 0.9, "b2": 0.999, "eps": 1e-3, "mode": "paper"}),
    "adam_notes": (lambda: opt.Adam(0.01, epsilon=1e-3, epsilon_mode="notes"),
                   {"b1": 0.9, "b2": 0.999, "eps": 1e-3, "mode": "notes"}),
    "adam_decoupled": (lambda: opt.AdamW(0.01, weight_decay=0.2),
                       {"b1": 0.9, "b2": 0.999, "eps": 1e-7, "mode": "keras", "wd": 0.2}),
    "sgd_decoupled": (lambda: opt.SGD(0.05, weight_decay=0.3), {"wd": 0.3}),
}


@pytest.mark.parametrize("name", FORMULAS)
def test_trajectory_follows_the_formula(name):
    factory, params = FORMULAS[name]
    optimizer = factory()
    lr = float(optimizer.learning_rate)
    w = keras.Variable(np.array([1.0, -2.0], "float32"))
    ours = []
    for _ in range(50):
        optimizer.apply([_quadratic_gradient(w)], [w])
        ours.append(w.numpy().copy())
    rule = name.split("_")[0]
    expected = _reference(rule, np.array([1.0, -2.0]), lambda v: A.astype("float64") @ v, 50,
                          lr, **params)
    # float32 arithmetic against float64: relative error grows ~1e-7 per step
    np.testing.assert_allclose(np.array(ours), expected, rtol=5e-5, atol=1e-6)
    np.testing.assert_allclose(ours[0], expected[0], rtol=1e-6)  # the single first step


def test_first_adam_step_is_learning_rate_times_sign():
    """With bias correction, Adam's first step is η·g/(|g| + ε/√(1-β₂)) ≈ η·sign(g)."""
    g = np.array([1e-3, 5.0, -200.0])
    w = keras.Variable(np.ones(3, "float32"))
    opt.Adam(0.1).apply([tf.constant(g, "float32")], [w])
    root = np.sqrt(1 - 0.999)
    np.testing.assert_allclose(w.numpy(), 1 - 0.1 * root * g / (root * np.abs(g) + 1e-7),
                               rtol=1e-6)
    assert np.all(np.abs(1 - w.numpy()) > 0.0996), "the step size barely depends on |g|"


def test_momentum_velocity_has_the_notes_sign():
    w = keras.Variable([1.0])
    optimizer = opt.Momentum(0.1, momentum=0.5)
    optimizer.apply([tf.constant([2.0])], [w])
    optimizer.apply([tf.constant([2.0])], [w])
    # V1 = 0.2, V2 = 0.5·0.2 + 0.2 = 0.3; W = 1 - 0.2 - 0.3
    assert float(optimizer.velocities[0][0]) == pytest.approx(0.3)
    assert float(w[0]) == pytest.approx(0.5)


# --- Nesterov: the look-ahead form of the notes against the form Keras uses ---

def test_nag_lookahead_and_keras_forms_are_one_trajectory():
    """Φ = W - βV: Keras' variable is the look-ahead point of the notes' trajectory."""
    beta, lr, steps = 0.9, 0.02, 100
    notes = _reference("nag_lookahead", np.array([1.0, 1.0]), lambda v: A @ v, steps, lr,
                       beta=beta)
    # the notes' V is needed to form W - βV: recompute it from consecutive W (V_t = W_{t-1} - W_t)
    previous = np.vstack([[1.0, 1.0], notes[:-1]])
    velocity = previous - notes
    lookahead_points = notes - beta * velocity
    phi = keras.Variable(np.array([1.0, 1.0], "float32"))
    optimizer = opt.NAG(lr, momentum=beta)
    for t in range(steps):
        optimizer.apply([_quadratic_gradient(phi)], [phi])
        np.testing.assert_allclose(phi.numpy(), lookahead_points[t], rtol=1e-4, atol=1e-6)


def test_lookahead_training_step_matches_the_notes_formula():
    """TrainingModel with NAG(lookahead=True) takes the gradient at W - βV."""
    from nnkit.training import TrainingModel

    keras.utils.set_random_seed(0)
    inputs = keras.Input((2,))
    outputs = keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")(inputs)
    model = TrainingModel(inputs, outputs)
    model.compile(opt.NAG(0.05, momentum=0.9, lookahead=True), "mse")
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], "float32")
    y = np.array([[1.0], [-1.0], [0.5]], "float32")
    model.fit(x, y, batch_size=3, epochs=30, verbose=0, shuffle=False)

    def gradient(w):  # d/dw mean((xw - y)²)
        return 2 * x.T @ (x @ w.reshape(2, 1) - y).reshape(-1, 1) / 3

    expected = _reference("nag_lookahead", np.ones(2), lambda w: gradient(w).reshape(-1), 30,
                          0.05, beta=0.9)[-1]
    np.testing.assert_allclose(model.weights[0].numpy().reshape(-1), expected, rtol=1e-4)


# --- usable everywhere: fit with and without XLA, save/reload with state, contract ---

def _toy_problem():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]], "float32") + 0.3).astype("float32")
    return x, y


def _toy_model(optimizer, jit_compile=False):
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh"),
                              keras.layers.Dense(1)])
    model.compile(optimizer, "mse", jit_compile=jit_compile)
    return model


NAMES = OPTIMIZERS.names()


def test_every_optimizer_is_covered():
    assert set(NAMES) == {"sgd", "momentum", "nag", "adagrad", "rmsprop", "adadelta", "adam",
                          "adamw"}


@pytest.mark.parametrize("name", NAMES)
def test_contract_loss_falls_before_and_after_save_reload(name, tmp_path):
    x, y = _toy_problem()
    lr = {"adadelta": 1.0, "adagrad": 0.1}.get(name, 0.01)
    model = _toy_model(OPTIMIZERS.get(name)(learning_rate=lr))
    start = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=20, batch_size=16, verbose=0)
    middle = model.evaluate(x, y, verbose=0)
    assert middle < start
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    assert type(again.optimizer) is type(model.optimizer)
    assert int(again.optimizer.iterations) == int(model.optimizer.iterations)
    for a, b in zip(model.optimizer.variables, again.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))  # slot state restored
    again.fit(x, y, epochs=20, batch_size=16, verbose=0)
    assert again.evaluate(x, y, verbose=0) < middle


@pytest.mark.parametrize("name", ["momentum", "adam", "rmsprop"])
def test_jit_compile_gives_the_same_training(name):
    x, y = _toy_problem()
    results = []
    for jit in (False, True):
        model = _toy_model(OPTIMIZERS.get(name)(learning_rate=0.01), jit_compile=jit)
        model.fit(x, y, epochs=5, batch_size=16, verbose=0, shuffle=False)
        results.append(model.get_weights())
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_config_round_trip():
    optimizer = opt.Adam(0.003, beta_1=0.8, amsgrad=True, epsilon_mode="paper")
    clone = opt.Adam.from_config(optimizer.get_config())
    assert (clone.beta_1, clone.amsgrad, clone.epsilon_mode) == (0.8, True, "paper")
    assert float(clone.learning_rate) == pytest.approx(0.003)


def test_warmup_schedule():
    schedule = opt.WarmupSchedule(0.1, warmup_steps=10, decay="cosine", decay_steps=100)
    rates = [float(schedule(step)) for step in (0, 4, 9, 10, 60, 110, 500)]
    assert rates[0] == pytest.approx(0.01) and rates[1] == pytest.approx(0.05)
    assert rates[2] == pytest.approx(0.1) and rates[3] == pytest.approx(0.1)
    assert rates[4] == pytest.approx(0.05, rel=1e-4) and rates[5] == pytest.approx(0.0, abs=1e-7)
    exponential = opt.WarmupSchedule(1.0, decay="exponential", decay_steps=10, decay_rate=0.5)
    assert float(exponential(20)) == pytest.approx(0.25)
    # Vaswani et al. (2017): d^-0.5 · min(t^-0.5, t · T_w^-1.5) with t = step + 1, scaled to
    # peak at η₀ = T_w^-0.5 · d^-0.5 (t = T_w)
    transformer = opt.WarmupSchedule(2.0, warmup_steps=16, decay="inverse_sqrt")
    for step in (0, 7, 15, 16, 63, 1023):
        t = step + 1
        paper = min(t ** -0.5, t * 16 ** -1.5) * 16 ** 0.5
        assert float(transformer(step)) == pytest.approx(2.0 * paper, rel=1e-6)


def test_build_from_config_gives_nnkit_or_keras_twin():
    from nnkit.config import ExperimentConfig

    def build(section):
        return opt.build(ExperimentConfig.model_validate({"optimizer": section}).optimizer)

    assert type(build({"name": "nag", "momentum": 0.8})) is opt.NAG
    twin = build({"name": "keras:nag", "momentum": 0.8})
    assert type(twin) is keras.optimizers.SGD and twin.nesterov and twin.momentum == 0.8
    scheduled = build({"name": "adam", "warmup_steps": 5})
    assert isinstance(scheduled.learning_rate, tf.Variable) or callable(scheduled._learning_rate)
    assert isinstance(scheduled._learning_rate, opt.WarmupSchedule)


@pytest.mark.parametrize("factory, message", [
    (lambda: opt.SGD(learning_rate=0), r"learning_rate must be in \(0.0, inf\)"),
    (lambda: opt.Momentum(momentum=1.0), r"momentum must be in \[0.0, 1.0\)"),
    (lambda: opt.Adam(beta_2=1.2), r"beta_2 must be in \[0.0, 1.0\)"),
    (lambda: opt.Adam(epsilon=0), "epsilon must be in"),
    (lambda: opt.Adam(epsilon_mode="inside"), "epsilon_mode must be one of keras, paper, notes"),
    (lambda: opt.AdaGrad(initial_accumulator_value=-1), "initial_accumulator_value"),
    (lambda: opt.RMSProp(rho=-0.1), r"rho must be in \[0.0, 1.0\)"),
])
def test_bad_parameters(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


@pytest.mark.parametrize("name, lookahead", [("sgd", False), ("nag", True), ("adam", False)])
def test_plain_gradient_tape_loop_example_learns(name, lookahead):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "experiments" / "gradient_tape_loop.py"
    spec = importlib.util.spec_from_file_location("gradient_tape_loop", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    history = module.train(name, epochs=3, learning_rate=0.05 if name != "adam" else None,
                           lookahead=lookahead)
    assert history[-1] < 0.5 * history[0]


def test_default_names_are_made_unique_as_keras_does():
    """Two optimizers of one class get distinct names (Keras: adam, adam_1), as Keras'."""
    first, second = opt.Adam(), opt.Adam()
    assert first.name.startswith("adam") and second.name.startswith("adam")
    assert first.name != second.name
    assert opt.SGD(name="mine").name == "mine"


@pytest.mark.parametrize("name", NAMES)
def test_weight_decay_in_a_config_reaches_every_optimizer_and_its_keras_twin(name):
    from nnkit.config import ExperimentConfig

    for prefix in ("", "keras:"):
        section = {"name": prefix + name, "weight_decay": 0.01}
        built = opt.build(ExperimentConfig.model_validate({"optimizer": section}).optimizer)
        assert built.weight_decay == pytest.approx(0.01), (prefix, name)
        plain = opt.build(ExperimentConfig.model_validate(
            {"optimizer": {"name": prefix + name}}).optimizer)
        assert plain.weight_decay == (pytest.approx(0.004) if name == "adamw" else None)


def test_adamw_refuses_no_decay():
    from nnkit.config import ConfigError, as_config

    with pytest.raises(ValueError, match="weight_decay must be > 0 for AdamW"):
        opt.AdamW(weight_decay=0.0)
    with pytest.raises(ConfigError, match="optimizer.weight_decay"):
        as_config({"optimizer": {"name": "adamw", "weight_decay": 0}})


def test_coupled_l2_equals_decoupled_decay_for_sgd_and_not_for_adam():
    """SGD: W - η(∇W + 2cW) is W - ηλW - η∇W with λ = 2c, step for step. Adam divides the
    L2 term's gradient by √v̂ and the decay not, so the two part ways (Loshchilov & Hutter)."""
    from nnkit import layers

    x = tf.constant(np.random.default_rng(0).normal(size=(32, 4)), "float32")
    y = tf.constant(np.random.default_rng(1).normal(size=(32, 2)), "float32")
    c = 0.05

    def trained(optimizer, l2):
        keras.utils.set_random_seed(5)
        regularizer = keras.regularizers.L2(l2) if l2 else None
        model = keras.Sequential([keras.Input((4,)), layers.Dense(
            6, "tanh", use_bias=False, kernel_regularizer=regularizer), layers.Dense(
            2, use_bias=False, kernel_regularizer=regularizer)])
        model.compile(optimizer, "mse")
        model.fit(x, y, batch_size=32, epochs=30, verbose=0, shuffle=False)
        return model.get_weights()

    coupled = trained(opt.SGD(0.1), c)
    decoupled = trained(opt.SGD(0.1, weight_decay=2 * c), 0.0)
    for a, b in zip(coupled, decoupled, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    adam_coupled = trained(opt.Adam(0.01), c)
    adam_decoupled = trained(opt.AdamW(0.01, weight_decay=2 * c), 0.0)
    assert max(np.abs(a - b).max() for a, b in zip(adam_coupled, adam_decoupled)) > 1e-3
