"""Config loading: defaults, extends, overrides, the resolved dump, the JSON Schema."""

import json

import pytest
import yaml

from nnkit.config import ConfigError, ExperimentConfig, dump, json_schema, load_config


def test_defaults_fill_every_section(write_config):
    config = load_config(write_config({"data": {"name": "iris"}}))
    assert config.experiment.seed == 42
    assert config.model.architecture == "mlp" and config.model.depth == 2
    assert config.optimizer.name == "adam" and config.optimizer.learning_rate == 0.001
    assert config.training.mode == "minibatch" and config.training.epochs == 10
    assert config.data.seed == 42, "the data seed defaults to experiment.seed"


def test_empty_file_is_all_defaults(write_config):
    config = load_config(write_config(""))
    assert config.data.name == "digits"


def test_extends_merges_sections_and_child_wins(write_config):
    write_config({"experiment": {"name": "base", "seed": 7},
                  "model": {"architecture": "mlp", "depth": 5, "units": 32}}, "base.yaml")
    child = write_config("extends: base.yaml\nmodel:\n  depth: 3\n", "child.yaml")
    config = load_config(child)
    assert config.model.depth == 3, "the child overrides"
    assert config.model.units == 32, "the base's other keys stay"
    assert config.experiment.seed == 7


def test_extends_chain_and_cycle(write_config):
    write_config("extends: b.yaml\nexperiment: {name: a}\n", "a.yaml")
    write_config("extends: a.yaml\n", "b.yaml")
    with pytest.raises(ConfigError, match="extends itself"):
        load_config(write_config("extends: a.yaml\n", "c.yaml").parent / "a.yaml")


def test_error_in_base_file_names_the_base_file_and_line(write_config):
    write_config("model:\n  architecture: mlp\n  depth: zero\n", "base.yaml")
    child = write_config("extends: base.yaml\n", "child.yaml")
    with pytest.raises(ConfigError) as error:
        load_config(child)
    assert "base.yaml:3: model.depth:" in str(error.value)


def test_overrides_are_parsed_as_yaml_and_validated(write_config):
    path = write_config({"data": {"name": "iris"}})
    config = load_config(path, ["model.depth=8", "optimizer.name=momentum",
                                "model.units=[4, 5, 6, 7, 8, 9, 10, 11]",
                                "training.early_stopping={patience: 2}"])
    assert config.model.depth == 8 and config.model.widths()[-1] == 11
    assert config.optimizer.name == "momentum" and config.optimizer.momentum == 0.9
    assert config.training.early_stopping.patience == 2
    with pytest.raises(ConfigError, match=r"\(-o model.depth=deep\): model.depth"):
        load_config(path, ["model.depth=deep"])
    with pytest.raises(ConfigError, match="expected PATH=VALUE"):
        load_config(path, ["model.depth"])


def test_override_replaces_a_value_from_the_file(write_config):
    path = write_config({"model": {"architecture": "mlp", "depth": 0}})
    assert load_config(path, ["model.depth=3"]).model.depth == 3


def test_dump_is_complete_and_reloads_to_the_same_config(write_config):
    config = load_config(write_config({"data": {"name": "spirals", "noise": 0.2},
                                       "model": {"architecture": "mlp",
                                                 "activation": {"name": "leaky_relu",
                                                                "alpha": 0.3}}}))
    text = dump(config)
    data = yaml.safe_load(text)
    assert list(data["data"])[0] == "name", "the variant key comes first"
    assert data["optimizer"]["beta_2"] == 0.999, "defaults are written out"
    again = load_config(write_config(text, "resolved.yaml"))
    assert again == config


def test_units_list_must_match_depth(write_config):
    with pytest.raises(ConfigError, match=r"model.units: has 2 entries but depth is 3"):
        load_config(write_config({"model": {"architecture": "mlp", "depth": 3,
                                            "units": [4, 4]}}))


def test_json_schema_describes_sections_and_variants():
    schema = json_schema()
    assert set(schema["properties"]) == set(ExperimentConfig.model_fields)
    text = json.dumps(schema)
    for name in ("spirals", "digits", "csv", "cnn", "nag", "adam"):
        assert f'"{name}"' in text
    assert schema["$defs"]["Training"]["additionalProperties"] is False


def test_readme_config_reference_is_the_schema_s_defaults():
    """README's block is generated from the schema; regenerate it with
    ``python -m nnkit.config.reference`` when a key or default changes."""
    from pathlib import Path

    from nnkit.config.reference import reference_yaml

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme[readme.index("## Config reference"):]
    block = section[section.index("```yaml\n") + 8:section.index("```\n", 10)]
    assert block == reference_yaml()
    assert yaml.safe_load(block) is not None
    defaults = ExperimentConfig()
    loaded = load_config_text(block)
    assert loaded == defaults, "the block, read back, is the default config"


def load_config_text(text: str):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "reference.yaml"
        path.write_text(text)
        return load_config(path)
