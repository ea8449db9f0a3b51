"""``nnkit tune``: the space, trials with nnkit's step, resume, best.yaml, errors."""

import csv
import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest
import yaml

from nnkit.cli import main
from nnkit.config import load_config

from conftest import TINY

SEARCH = {
    "tuner": "random", "objective": {"metric": "val_loss", "direction": "min"},
    "max_trials": 3, "seed": 4,
    "space": {
        "model.activation": {"choice": ["tanh", "relu"]},
        "optimizer.name": {"choice": ["sgd", "momentum"]},
        "optimizer.learning_rate": {"float": [0.01, 0.3], "sampling": "log"},
        "optimizer.momentum": {"float": [0.5, 0.9], "when": {"optimizer.name": ["momentum"]}},
    },
}


def _config(tmp_path, **search):
    path = tmp_path / "tune.yaml"
    path.write_text(yaml.safe_dump({
        **TINY, "experiment": {"name": "t", "seed": 2, "log_dir": str(tmp_path / "logs")},
        "training": {"epochs": 2, "batch_size": 32},
        "logging": {"histogram_every_n_steps": 0},
        "search": {**SEARCH, **search}}, sort_keys=False))
    return path


def _tune(*args):
    out = io.StringIO()
    with redirect_stdout(out):
        status = main(["tune", *map(str, args), "--quiet"])
    return status, out.getvalue()


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("tune")
    config = _config(tmp_path)
    status, out = _tune(config)
    return tmp_path, config, status, out


def test_tune_writes_trials_best_config_and_last_line(searched):
    tmp_path, _, status, out = searched
    assert status == 0
    folder = tmp_path / "logs" / "t" / "tune"
    assert out.strip().splitlines()[-1] == f"tune: {folder}"
    rows = list(csv.DictReader((folder / "trials.csv").open()))
    assert len(rows) == 3 and all(r["status"] == "COMPLETED" for r in rows)
    for row in rows:
        assert row["model.activation"] in ("tanh", "relu")
        assert (row["optimizer.momentum"] != "") == (row["optimizer.name"] == "momentum")
    best = load_config(folder / "best.yaml")
    assert best.search is None and best.model.activation in ("tanh", "relu")


def test_every_trial_has_per_layer_gradient_logs(searched):
    tmp_path, *_ = searched
    trials = sorted((tmp_path / "logs" / "t" / "tune" / "trials").iterdir())
    assert len(trials) == 3
    for trial in trials:
        events = list((trial / "execution_0" / "train").glob("events.out.tfevents.*"))
        assert events and (trial / "execution_0" / "gradient_flow.png").exists()


def test_best_yaml_reruns_to_the_same_objective(searched, tmp_path):
    """Same seed, same config: the run's best val_loss equals the trial's (tolerance 1e-3,
    for float summation order between processes)."""
    root, *_ = searched
    folder = root / "logs" / "t" / "tune"
    score = min(float(r["score"]) for r in csv.DictReader((folder / "trials.csv").open()))
    assert main(["run", str(folder / "best.yaml"), "--logdir", str(tmp_path), "--quiet"]) == 0
    (run_dir,) = (tmp_path / "t").iterdir()
    history = json.loads((run_dir / "metrics.json").read_text())["history"]
    assert min(history["val_loss"]) == pytest.approx(score, rel=1e-3)


def test_running_again_continues_without_rerunning(searched):
    tmp_path, config, _, _ = searched
    folder = tmp_path / "logs" / "t" / "tune"
    before = {p.name for p in (folder / "trials").iterdir()}
    status, _ = _tune(config, "-o", "search.max_trials=4")
    assert status == 0
    after = {p.name for p in (folder / "trials").iterdir()}
    assert before < after and len(after) == 4, "only the one new trial ran"
    assert len(list(csv.DictReader((folder / "trials.csv").open()))) == 4


def test_a_changed_space_is_reported(searched, capsys):
    tmp_path, config, _, _ = searched
    changed = yaml.safe_load(config.read_text())
    changed["search"]["space"]["model.activation"] = {"choice": ["elu"]}
    edited = config.with_name("edited.yaml")
    edited.write_text(yaml.safe_dump(changed, sort_keys=False))
    assert main(["tune", str(edited)]) == 2
    assert "was started with a different space or config (changed: space)" in \
        capsys.readouterr().err


@pytest.mark.parametrize("space, message", [
    ({"model.activation": {"choice": []}}, "the list of choices is empty"),
    ({"model.depth": {"int": [5, 2]}}, "min 5 is greater than max 2"),
    ({"optimizer.learning_rate": {"float": [0.0, 0.1], "sampling": "log"}},
     "a log range needs positive bounds"),
    ({"optimizer.momentum": {"float": [0.1, 0.9], "when": {"optimizer.name": ["nag"]}}},
     "which is not in the space"),
    ({"model.depth": {"int": [1, 3], "choice": [1]}}, "give exactly one of"),
])
def test_invalid_spaces_fail_before_any_trial(tmp_path, capsys, space, message):
    config = _config(tmp_path, space=space)
    assert main(["tune", str(config)]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "logs").exists()


def test_unknown_path_in_the_space_fails_before_any_trial(tmp_path, capsys):
    config = _config(tmp_path, space={"model.activaton": {"choice": ["relu"]}})
    assert main(["tune", str(config)]) == 2
    assert "model.activaton: unknown key" in capsys.readouterr().err


@pytest.mark.slow  # three processes: a chief and two workers
def test_distributed_search_shares_trials_between_workers(tmp_path):
    """One chief and two workers on 127.0.0.1 (Keras Tuner's gRPC oracle), bounded in time."""
    import os
    import socket
    import subprocess
    import sys

    config = _config(tmp_path, max_trials=4)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = Path(sys.executable).with_name("nnkit")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "nnkit.cli"]
    base = [*command, "tune", str(config), "--quiet", "--oracle", f"127.0.0.1:{port}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERASTUNER_")}
    chief = subprocess.Popen([*base, "--role", "chief"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    workers = [subprocess.Popen([*base, "--role", "worker"],
                                env={**env, "KERASTUNER_TUNER_ID": f"tuner{i}"},
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
               for i in range(2)]
    try:
        for worker in workers:
            assert worker.wait(timeout=300) == 0, worker.stderr.read()[-2000:]
        out, err = chief.communicate(timeout=120)
        assert chief.returncode == 0, err[-2000:]
    finally:
        for process in (chief, *workers):
            if process.poll() is None:
                process.kill()
    folder = tmp_path / "logs" / "t" / "tune"
    rows = list(csv.DictReader((folder / "trials.csv").open()))
    assert len(rows) == 4 and all(r["status"] == "COMPLETED" for r in rows)
    ran_by = {p.read_text() for p in (folder / "trials").glob("trial_*/tuner_id.txt")}
    assert ran_by == {"tuner0", "tuner1"}, "both workers ran trials"
    assert out.strip().splitlines()[-1] == f"tune: {folder}"
    assert (folder / "best.yaml").exists()


def test_report_reads_every_trial_of_a_search(searched, tmp_path):
    folder = searched[0] / "logs" / "t" / "tune"
    page = tmp_path / "r.html"
    assert main(["report", str(folder), "--out", str(page)]) == 0
    text = page.read_text()
    rows = list(csv.DictReader((folder / "trials.csv").open()))
    assert len(rows) >= 3 and f"<p>{len(rows)} run(s)</p>" in text
    completed = sum(row["status"] == "COMPLETED" for row in rows)
    assert text.count("<td>completed</td>") == completed


@pytest.mark.slow  # stop_on in one run is tested in test_diagnosis
def test_trials_stopped_by_a_finding_are_pruned(tmp_path):
    """Zero kernels never learn (the loss settles at a constant prediction's): with
    ``training.stop_on: [stalled_training]`` those trials stop at epoch 2 and trials.csv
    says PRUNED; He's kernels complete."""
    import csv

    path = tmp_path / "tune.yaml"
    path.write_text(yaml.safe_dump({
        **TINY, "experiment": {"name": "p", "seed": 2, "log_dir": str(tmp_path / "logs")},
        "data": {"name": "digits"},
        "training": {"epochs": 4, "batch_size": 32, "stop_on": ["stalled_training"]},
        "logging": {"stall_epochs": 2},
        "search": {"tuner": "grid", "objective": {"metric": "val_loss", "direction": "min"},
                   "max_trials": 2,
                   "space": {"model.kernel_initializer": {"choice": ["zeros", "he_normal"]}}}},
        sort_keys=False))
    status, _ = _tune(path)
    assert status == 0
    rows = {r["model.kernel_initializer"]: r for r in csv.DictReader(
        (tmp_path / "logs" / "p" / "tune" / "trials.csv").open())}
    assert rows["zeros"]["status"] == "PRUNED"
    assert rows["zeros"]["pruned_by"].startswith("stopped at epoch 2 by stalled_training")
    assert rows["he_normal"]["status"] != "PRUNED" and rows["he_normal"]["pruned_by"] == ""
