"""Damaged checkpoints: named and skipped; all damaged is exit 2 with --restart suggested."""

import json
import os
from pathlib import Path

import pytest

from nnkit.cli import main
from nnkit.config import load_config
from nnkit.training import run
from nnkit.training.checkpoint import checkpoints
from same_run import DETERMINISTIC, assert_same_end, assert_same_events

DAMAGE = {
    "empty": lambda data: b"",
    "truncated": lambda data: data[: len(data) // 2],
    "random bytes": lambda data: os.urandom(len(data)),
    "no meta": None,  # a valid archive without the __meta__ record
}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A completed run with its last three checkpoints (epochs 3, 4, 5)."""
    folder = tmp_path_factory.mktemp("damaged")
    config = folder / "c.yaml"
    config.write_text("experiment: {name: tiny, seed: 3}\ndata: {name: moons, n_samples: 200}\n"
                      "model: {architecture: mlp, depth: 2, units: 8}\n")
    settings = [*DETERMINISTIC, "training.checkpoint.keep=3", f"experiment.log_dir={folder}"]
    return run(load_config(config, settings), verbose=0).run_dir


def _as_killed(finished: Path, folder: Path) -> Path:
    """A copy of the run as if killed after its last checkpoint."""
    import shutil

    copy = folder / "run"
    shutil.copytree(finished, copy)
    (copy / "metrics.json").unlink()
    (copy / "model.keras").unlink()
    return copy


def _damage(path: Path, how: str) -> None:
    if DAMAGE[how] is None:
        import numpy as np

        np.savez(path.with_suffix(".tmp.npz"), weights=np.zeros(3))
        path.with_suffix(".tmp.npz").replace(path)
    else:
        path.write_bytes(DAMAGE[how](path.read_bytes()))


@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_newest_checkpoint_is_named_and_the_one_before_used(finished, tmp_path, capsys,
                                                                      how):
    run_dir = _as_killed(finished, tmp_path)
    newest = checkpoints(run_dir)[-1]
    _damage(newest, how)
    assert main(["run", "--resume", str(run_dir), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert f"warning: checkpoints/{newest.name} is damaged and skipped: " in err, err
    assert "pickle" not in err, "no advice to unpickle a file of unknown origin"
    assert "Traceback" not in err
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["resumed_from_epoch"] == 4
    assert_same_end(finished, run_dir)
    assert_same_events(finished, run_dir)


def test_every_checkpoint_damaged_is_exit_2_then_restart_starts_over(finished, tmp_path, capsys):
    run_dir = _as_killed(finished, tmp_path)
    paths = checkpoints(run_dir)
    for path, how in zip(paths, ["empty", "truncated", "random bytes"], strict=True):
        _damage(path, how)
    assert main(["run", "--resume", str(run_dir), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4, "three warnings, one error line"
    assert err[-1] == (
        f"{run_dir}: checkpoints/: every checkpoint is damaged (3: "
        f"{', '.join(p.name for p in paths)}); nothing to resume from. Start the run over "
        f"in the same folder with: nnkit run --resume {run_dir} --restart")
    assert not (run_dir / "metrics.json").exists(), "nothing written"
    assert main(["run", "--resume", str(run_dir), "--restart", "--quiet"]) == 0
    assert "resumed_from_epoch" not in json.loads((run_dir / "metrics.json").read_text())
    assert_same_end(finished, run_dir)
    assert_same_events(finished, run_dir)


def test_resume_of_a_missing_folder_and_restart_without_resume(tmp_path, capsys):
    missing = tmp_path / "nope"
    assert main(["run", "--resume", str(missing)]) == 2
    assert capsys.readouterr().err.strip() == f"{missing}: no such folder"
    assert main(["run", "--restart"]) == 2
    assert "--restart goes with --resume" in capsys.readouterr().err
