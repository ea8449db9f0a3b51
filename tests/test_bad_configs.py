"""Every bad config in tests/data/bad_configs/ fails cleanly.

Each file starts with ``# expect: <text>``: the error must contain it, name the file, exit
with status 2, print no traceback, and leave no run folder behind. Files marked
``# stage: run`` validate but fail when ``nnkit run`` builds the data or model.
"""

import re
from pathlib import Path

import pytest

from nnkit.cli import main

ROOT = Path(__file__).resolve().parents[1]
BAD = sorted((ROOT / "tests" / "data" / "bad_configs").glob("*.yaml"))


def _header(path: Path, key: str) -> str | None:
    match = re.search(rf"^# {key}: (.*)$", path.read_text(), re.MULTILINE)
    return match.group(1) if match else None


def test_corpus_is_large():
    assert len(BAD) >= 50


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_config_fails_with_a_located_one_line_error(path, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    expected = _header(path, "expect")
    assert expected, f"{path.name} has no '# expect:' header"
    logdir = tmp_path / "logs"
    command = "run" if _header(path, "stage") == "run" else "validate"
    if command == "validate":
        assert main(["run", str(path), "--logdir", str(logdir), "--quiet"]) == 2
        capsys.readouterr()
    status = main([command, str(path), "--logdir", str(logdir)] +
                  (["--quiet"] if command == "run" else []))
    err = capsys.readouterr().err
    assert status == 2
    assert expected in err, err
    assert "Traceback" not in err
    for line in err.strip().splitlines():
        assert line.startswith(str(path)), f"every error line names the file: {line}"
    if command == "validate" and "extends" not in expected:
        assert re.match(rf"{re.escape(str(path))}:\d+", err), "config errors carry a line number"
    assert not any(logdir.rglob("*")) if logdir.exists() else True, "no run folder is created"
