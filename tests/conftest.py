"""Shared fixtures: quiet TensorFlow, a seed for every test, a tiny config on disk."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # README's command runs two test processes on two cores (pytest -n 2): one TensorFlow
    # thread each, inherited by the subprocesses tests start. TensorFlow's thread pools spin
    # while they wait; oversubscribed, they made some tests ten times slower (measured).
    for _name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(_name, "1")

import nnkit  # noqa: E402,F401  (first: TensorFlow's import notices are silenced)
import keras  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402

TINY = {
    "experiment": {"name": "tiny", "seed": 3},
    "data": {"name": "moons", "n_samples": 200},
    "model": {"architecture": "mlp", "depth": 2, "units": 8},
    "optimizer": {"name": "adam", "learning_rate": 0.01},
    "training": {"epochs": 2, "batch_size": 32},
}


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)


@pytest.fixture
def write_config(tmp_path):
    """write_config(dict_or_text, name) → path of a YAML file in a temporary folder."""

    def write(content, name="config.yaml"):
        path = tmp_path / name
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        path.write_text(text)
        return path

    return write


@pytest.fixture
def tiny_config(write_config, tmp_path):
    """A config that trains in about a second, logging under tmp_path/logs."""
    config = {**TINY, "experiment": {**TINY["experiment"], "log_dir": str(tmp_path / "logs")}}
    return write_config(config, "tiny.yaml")
