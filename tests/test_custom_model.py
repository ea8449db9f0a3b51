"""``model.architecture: custom`` (a builder or a .keras file) and the Python API."""

import json

import keras
import pytest

import nnkit
from nnkit.cli import main
from nnkit.config import ConfigError

from event_files import read_tags
from conftest import TINY


def _custom(tmp_path, **model):
    return {**TINY, "experiment": {**TINY["experiment"], "log_dir": str(tmp_path / "logs")},
            "model": {"architecture": "custom", **model}, "training": {"epochs": 1,
                                                                       "batch_size": 32}}


@pytest.mark.parametrize("builder", ["user_models:sequential", "user_models:subclassed"])
def test_a_users_model_trains_with_tags_by_its_layers(builder, tmp_path, capsys):
    result = nnkit.run(_custom(tmp_path, builder=builder, options={"width": 5}), verbose=0)
    assert result.metrics["status"] == "completed" and result.history["loss"]
    keys = [row["key"] for row in json.loads((result.run_dir / "layers.json").read_text())[
        "layers"]]
    tags = read_tags(result.run_dir / "train")
    for key in keys:
        assert f"grad_norm/{key}" in tags
    if builder.endswith("subclassed"):  # the subclass sits inside the functional wrapper
        assert keys == ["two_layer/hidden", "two_layer/out"]
        assert not (result.run_dir / "model.keras").exists()
        assert "not written" in capsys.readouterr().err
    else:
        assert (result.run_dir / "model.keras").exists()


@pytest.mark.parametrize("model, message", [
    ({"builder": "no_such_module:build"}, "model.builder: cannot import 'no_such_module'"),
    ({"builder": "user_models:missing"}, "has no function 'missing'"),
    ({"builder": "user_models:not_a_model"}, "returned Dense, not a keras.Model"),
    ({"builder": "user_models:wrong_input"}, "does not accept this dataset's samples"),
    ({"builder": "user_models:wrong_output"}, "output has 4 units, but the binary task needs 1"),
    ({"builder": "user_models"}, 'expected "package.module:function"'),
    ({"keras_file": "missing.keras"}, "model.keras_file: missing.keras: no such file"),
    ({"builder": "user_models:sequential", "keras_file": "m.keras"}, "exactly one of"),
])
def test_a_bad_custom_model_is_one_line_exit_2_and_no_run_folder(model, message, tmp_path,
                                                                  write_config, capsys):
    path = write_config(_custom(tmp_path, **model))
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "logs").exists()


def test_a_saved_keras_file_is_loaded_safely(tmp_path):
    keras.Sequential([keras.Input((2,)), keras.layers.Dense(4, activation="tanh"),
                      keras.layers.Dense(1, activation="sigmoid")]).save(tmp_path / "m.keras")
    result = nnkit.run(_custom(tmp_path, keras_file=str(tmp_path / "m.keras")), verbose=0)
    assert result.metrics["status"] == "completed"
    (tmp_path / "bad.keras").write_bytes(b"not a zip")
    with pytest.raises(nnkit.training.ExperimentError, match="cannot be loaded with safe_mode"):
        nnkit.run(_custom(tmp_path, keras_file=str(tmp_path / "bad.keras")), verbose=0)


def test_python_api_takes_a_path_a_mapping_or_a_config(tiny_config, tmp_path):
    by_path = nnkit.run(str(tiny_config), overrides=["training.epochs=1"],
                        log_dir=tmp_path / "a", verbose=0)
    assert by_path.run_dir.parent.parent == tmp_path / "a"
    assert len(by_path.history["loss"]) == 1 and isinstance(by_path.findings, list)
    by_file_name = nnkit.training.run(str(tiny_config), verbose=0)  # was: 'str' has no .training
    assert by_file_name.metrics["status"] == "completed"
    config = nnkit.config.as_config(nnkit.load_config(tiny_config), ["model.depth=3"])
    assert config.model.depth == 3
    with pytest.raises(ConfigError, match="<config>: model.depth"):
        nnkit.run({**TINY, "model": {**TINY["model"], "depth": 0}})


def test_a_sweep_over_dropout_and_batch_norm_shares_the_dense_layer_keys(write_config):
    from nnkit.instrument.plan import plan_layers
    from nnkit.sweeping import expand
    from nnkit.training import build_experiment

    sweep = {"model.dropout": [0.0, 0.3], "model.batch_norm": ["none", "before", "after"]}
    path = write_config({**TINY, "sweep": sweep})
    dense_keys = []
    for point in expand(path, [], sweep):
        network = build_experiment(point.config).network
        plans = plan_layers(network)
        dense_keys.append([p.key for p in plans if type(p.layer).__name__ == "Dense"])
        blocks = [p.key.split("_")[0] for p in plans]  # h01, h01, ..., h02, ..., output
        assert blocks == sorted(blocks)  # keys sort by block, as the layers are deep
    assert dense_keys[0] == ["h01_dense", "h02_dense", "output"]
    assert all(keys == dense_keys[0] for keys in dense_keys)
