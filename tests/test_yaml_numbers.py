"""Numbers as users write them (YAML 1.2 core schema) in files, overrides, sweeps, searches."""

import json
import math

import pytest

from nnkit.config import ConfigError, load_config, yaml12
from nnkit.sweeping import expand
from nnkit.tuning.space import validate as validate_space

SPELLINGS = {"3e-4": 3e-4, "3E-4": 3e-4, "1e6": 1e6, "+1e3": 1e3, ".5": 0.5, "5.": 5.0,
             "1.5e+2": 150.0, "2.5E-3": 2.5e-3, "0.001": 1e-3}


@pytest.mark.parametrize("text", SPELLINGS)
def test_a_learning_rate_in_a_file_reads_as_the_number(write_config, text):
    path = write_config(f"optimizer:\n  name: sgd\n  learning_rate: {text}\n")
    value = load_config(path).optimizer.learning_rate
    assert isinstance(value, float) and math.isclose(value, SPELLINGS[text], rel_tol=1e-15)


@pytest.mark.parametrize("text", SPELLINGS)
def test_a_learning_rate_in_an_override_reads_as_the_number(write_config, text):
    path = write_config({"optimizer": {"name": "sgd"}})
    value = load_config(path, [f"optimizer.learning_rate={text}"]).optimizer.learning_rate
    assert math.isclose(value, SPELLINGS[text], rel_tol=1e-15)


def test_sweep_lists_read_exponents_as_numbers(write_config):
    path = write_config("optimizer: {name: sgd}\n"
                        "sweep:\n  optimizer.learning_rate: [1e-3, 3E-4, .5]\n")
    config = load_config(path)
    assert config.sweep["optimizer.learning_rate"] == [1e-3, 3e-4, 0.5]
    points = expand(path, [], config.sweep)
    assert [p.config.optimizer.learning_rate for p in points] == [1e-3, 3e-4, 0.5]


def test_search_space_bounds_read_exponents_as_numbers(write_config):
    path = write_config("optimizer: {name: momentum}\nsearch:\n  max_trials: 2\n  space:\n"
                        "    optimizer.learning_rate: {float: [1e-4, 1E-1], sampling: log}\n"
                        "    optimizer.momentum: {choice: [.9, 9.9e-1]}\n")
    config = load_config(path)
    assert config.search.space["optimizer.learning_rate"].float == [1e-4, 1e-1]
    assert config.search.space["optimizer.momentum"].choice == [0.9, 0.99]
    validate_space(path, [], config.search.space)  # the values it would try are valid


def test_integers_and_strings_keep_their_type():
    data = yaml12.load("a: 010\nb: 0x1F\nc: 0o17\nd: -3\ne: 1_000\nf: 2026-01-01\n"
                       "g: e5\nh: '3e-4'\ni: .inf\nj: -.Inf\nk: .nan\nl: 1:30\n")
    assert (data["a"], data["b"], data["c"], data["d"]) == (10, 31, 15, -3)
    assert all(type(data[k]) is int for k in "abcd")
    assert (data["e"], data["f"], data["g"], data["h"], data["l"]) == (
        "1_000", "2026-01-01", "e5", "3e-4", "1:30"), "YAML 1.1's other numbers are strings"
    assert data["i"] == math.inf and data["j"] == -math.inf and math.isnan(data["k"])


def test_only_true_and_false_are_booleans():
    data = yaml12.load("a: true\nb: False\nc: TRUE\nd: yes\ne: no\nf: on\ng: off\nh: y\n"
                       "i: ~\nj: null\nk:\n")
    assert (data["a"], data["b"], data["c"]) == (True, False, True)
    assert [data[k] for k in "defgh"] == ["yes", "no", "on", "off", "y"]
    assert data["i"] is data["j"] is data["k"] is None


def test_yes_for_a_boolean_key_says_to_write_true_or_false(write_config):
    path = write_config("training:\n  shuffle: yes\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert f"{path}:2: training.shuffle: expected true or false, got the string 'yes'" in str(
        error.value)


def test_unsafe_tags_are_still_rejected(write_config):
    path = write_config("experiment:\n  name: !!python/object/apply:os.system [echo hi]\n")
    with pytest.raises(ConfigError, match=rf"{path}:2: invalid YAML"):
        load_config(path)
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write_config({}), ["experiment.name=!!python/name:os.system"])


def test_the_resolved_dump_reads_back_the_same(write_config):
    from nnkit.config import dump

    config = load_config(write_config("optimizer: {name: sgd, learning_rate: 3e-4}\n"
                                      "experiment: {description: 'yes'}\n"))
    again = load_config(write_config(dump(config), "resolved.yaml"))
    assert again == config and again.experiment.description == "yes"
    json.dumps(again.model_dump(mode="json"))
