"""Datasets: shapes, dtypes, tasks, seeded splits, standardisation on the training split."""

import numpy as np
import pytest

from nnkit import data
from nnkit.config import ExperimentConfig
from nnkit.data import DataError, infer_task, prepare

OFFLINE = {
    # name: (feature shape, task, classes)
    "spirals": ((2,), "binary", 2),
    "moons": ((2,), "binary", 2),
    "circles": ((2,), "binary", 2),
    "xor": ((2,), "binary", 2),
    "blobs": ((2,), "multiclass", 3),
    "curve": ((1,), "regression", 0),
    "digits": ((8, 8, 1), "multiclass", 10),
    "iris": ((4,), "multiclass", 3),
    "wine": ((13,), "multiclass", 3),
    "breast_cancer": ((30,), "binary", 2),
}


def _section(**data_section):
    return ExperimentConfig.model_validate({"data": data_section}).data


@pytest.mark.parametrize("name", OFFLINE)
def test_offline_dataset_shapes_dtypes_splits_and_standardisation(name):
    shape, task, classes = OFFLINE[name]
    ds = data.load(_section(name=name))
    assert ds.task == task and ds.n_classes == classes
    assert ds.input_shape == shape
    n = len(ds.x_train) + len(ds.x_val) + len(ds.x_test)
    assert abs(len(ds.x_val) - 0.15 * n) <= 1 and abs(len(ds.x_test) - 0.15 * n) <= 1
    for x, y in ((ds.x_train, ds.y_train), (ds.x_val, ds.y_val), (ds.x_test, ds.y_test)):
        assert x.dtype == np.float32 and len(x) == len(y)
        assert y.dtype == (np.float32 if task == "regression" else np.int64)
    if task != "regression":
        assert set(np.unique(ds.y_train)) <= set(range(classes))
    flat = ds.x_train.reshape(len(ds.x_train), -1)
    np.testing.assert_allclose(flat.mean(axis=0), 0.0, atol=1e-5)
    std = flat.std(axis=0)
    varying = ds.std.reshape(-1) != 1.0
    np.testing.assert_allclose(std[varying], 1.0, rtol=1e-4)


def test_standardisation_uses_training_statistics_only():
    x = np.arange(100, dtype="float32").reshape(-1, 1)
    y = (x[:, 0] > 50).astype("int64")
    ds = prepare("ramp", x, y, "auto", 0.2, 0.2, True, seed=0)
    train_raw = ds.x_train * ds.std + ds.mean
    assert np.isclose(ds.mean[0], train_raw.mean(), atol=1e-4)
    assert abs(ds.mean[0] - x.mean()) > 1e-3, "the mean over all data would leak val/test"
    # validation data are transformed with the training μ, σ, so their mean is not exactly 0
    val_raw = ds.x_val * ds.std + ds.mean
    np.testing.assert_allclose(ds.x_val, (val_raw - ds.mean) / ds.std, rtol=1e-5)


def test_splits_are_seeded_disjoint_and_cover_the_data():
    x = np.arange(200, dtype="float32").reshape(-1, 1)
    y = np.zeros(200, dtype="int64")
    y[::2] = 1
    a = prepare("ids", x, y, "auto", 0.1, 0.2, False, seed=5)
    b = prepare("ids", x, y, "auto", 0.1, 0.2, False, seed=5)
    c = prepare("ids", x, y, "auto", 0.1, 0.2, False, seed=6)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert not np.array_equal(a.x_test, c.x_test)
    ids = np.concatenate([a.x_train, a.x_val, a.x_test]).reshape(-1)
    assert sorted(ids) == list(range(200))
    assert (len(a.x_val), len(a.x_test)) == (20, 40)


def test_generated_data_follow_the_seed():
    first = data.load(_section(name="spirals", seed=1))
    again = data.load(_section(name="spirals", seed=1))
    other = data.load(_section(name="spirals", seed=2))
    np.testing.assert_array_equal(first.x_train, again.x_train)
    assert not np.array_equal(first.x_train, other.x_train)


def test_spirals_is_separable_in_polar_coordinates():
    ds = data.load(_section(name="spirals", noise=0.0, standardize=False, n_samples=400))
    r = np.hypot(ds.x_train[:, 0], ds.x_train[:, 1])
    theta = np.arctan2(ds.x_train[:, 1], ds.x_train[:, 0])
    # on arm k, θ - 2π·turns·r ≡ πk (mod 2π) when there are two arms
    phase = np.mod(theta - 2 * np.pi * 1.5 * r, 2 * np.pi)
    predicted = (np.abs(phase - np.pi) < np.pi / 2).astype(int)
    assert (predicted == ds.y_train).mean() > 0.99


@pytest.mark.parametrize("y, task", [
    (np.array([0, 1, 1, 0] * 10), "binary"),
    (np.array([0, 1, 2, 3] * 10), "multiclass"),
    (np.linspace(0, 1, 40).astype("float32"), "regression"),
])
def test_task_inference(y, task):
    assert infer_task(y) == task


def test_csv_with_text_labels(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("f1,f2,kind\n" + "".join(f"{i},{i * 2},{'cat' if i % 2 else 'dog'}\n"
                                             for i in range(20)))
    ds = data.load(_section(name="csv", path=str(path), target="kind", standardize=False,
                            validation_split=0.0, test_split=0.0))
    assert ds.task == "binary" and ds.input_shape == (2,)
    row = list(ds.x_train[:, 0]).index(3.0)
    assert ds.y_train[row] == 0, "classes are sorted names: cat=0, dog=1"


def test_csv_errors_name_the_key(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b\n1,x\n")
    with pytest.raises(DataError, match="data.target: column 'y' is not in"):
        data.load(_section(name="csv", path=str(path), target="y"))
    with pytest.raises(DataError, match="data.path: .*feature columns must be numeric"):
        data.load(_section(name="csv", path=str(path), target="a"))


def test_npz_regression_file(tmp_path):
    path = tmp_path / "d.npz"
    x = np.random.default_rng(0).normal(size=(50, 3))
    np.savez(path, x=x, y=x.sum(axis=1))
    ds = data.load(_section(name="npz", path=str(path)))
    assert ds.task == "regression" and ds.input_shape == (3,)
    with pytest.raises(DataError, match="data.y_key: array 'target' is not in"):
        data.load(_section(name="npz", path=str(path), y_key="target"))


def test_keras_dataset_without_cache_or_network_gives_a_clear_error(monkeypatch):
    import keras

    def offline():
        raise OSError("network is unreachable")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(DataError, match=r"cannot load keras.datasets.mnist: it is not cached"):
        data.load(_section(name="mnist"))


def test_keras_dataset_is_joined_scaled_and_limited(monkeypatch):
    import keras

    def fake():
        rng = np.random.default_rng(0)
        return ((rng.integers(0, 256, (30, 28, 28)), rng.integers(0, 10, 30)),
                (rng.integers(0, 256, (10, 28, 28)), rng.integers(0, 10, 10)))

    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", fake)
    ds = data.load(_section(name="fashion_mnist", limit=25, standardize=False))
    assert ds.input_shape == (28, 28, 1)
    assert len(ds.x_train) + len(ds.x_val) + len(ds.x_test) == 25
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0
