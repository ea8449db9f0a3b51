"""The command line: exit codes and what each command prints."""

import json

import pytest

from nnkit import activations, data, initializers, optimizers
from nnkit.cli import COMMANDS, main


def test_validate_ok_and_bad(tiny_config, write_config, capsys):
    assert main(["validate", str(tiny_config)]) == 0
    assert "valid" in capsys.readouterr().out
    bad = write_config("model:\n  depth: 0\n", "bad.yaml")
    assert main(["validate", str(bad)]) == 2
    assert "bad.yaml:2: model.depth:" in capsys.readouterr().err


def test_validate_applies_overrides(tiny_config, capsys):
    assert main(["validate", str(tiny_config), "-o", "model.depth=0"]) == 2
    assert "(-o model.depth=0): model.depth" in capsys.readouterr().err


def test_missing_file(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml: file not found" in capsys.readouterr().err


def test_list_shows_every_registered_name(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for registry in (activations.ACTIVATIONS, initializers.INITIALIZERS,
                     optimizers.OPTIMIZERS, data.DATASETS):
        for name in registry.names():
            assert f"  {name} " in out
    assert "keras:<name>" in out


def test_list_one_kind(capsys):
    assert main(["list", "optimizers"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("optimizers:") and "datasets:" not in out


def test_list_unknown_kind_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["list", "optimisers"])
    assert exit_info.value.code == 2


def test_schema_is_json(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "nnkit experiment config"


def test_no_command_is_a_usage_error():
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2


def test_help_and_list_are_plain_text(capsys):
    """No reStructuredText markup (roles, double backticks) reaches the terminal."""
    import re

    texts = []
    for argv in [["--help"], *[[c, "--help"] for c in COMMANDS]]:
        with pytest.raises(SystemExit):
            main(argv)
        texts.append(capsys.readouterr().out)
    assert main(["list"]) == 0
    texts.append(capsys.readouterr().out)
    for text in texts:
        assert not re.search(r"``|:[a-z]+:`|`[^`\n]+`", text), text
    assert "nnkit.activations" in texts[-1], "a role's target stays"
