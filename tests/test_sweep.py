"""``nnkit sweep``: the grid, run folders, failures, sweep.csv, the hparams dashboard."""

import csv
import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from nnkit.cli import main
from nnkit.config import ConfigError
from nnkit.sweeping import expand

from conftest import TINY


@pytest.fixture(scope="module")
def sweep_run(tmp_path_factory):
    """A 3 × 2 sweep in which one learning rate makes every run with it diverge."""
    folder = tmp_path_factory.mktemp("sweep")
    config = folder / "sweep.yaml"
    config.write_text(yaml.safe_dump({
        **TINY, "experiment": {"name": "grid", "seed": 1},
        "optimizer": {"name": "sgd"}, "logging": {"instrument": False},
        "training": {"epochs": 2, "batch_size": 32},
        "sweep": {"optimizer.learning_rate": [0.1, 1.0e+30, 0.5],
                  "model.activation": ["tanh", "relu"]},
    }, sort_keys=False))
    logs = folder / "logs"
    import io
    from contextlib import redirect_stdout

    out = io.StringIO()
    with redirect_stdout(out):
        status = main(["sweep", str(config), "--logdir", str(logs)])
    return status, out.getvalue(), logs, config


def test_sweep_runs_every_combination_into_named_folders(sweep_run):
    status, out, logs, _ = sweep_run
    assert status == 0
    last = out.strip().splitlines()[-1]
    assert last.startswith("sweep: ")
    sweep_dir = Path(last[len("sweep: "):])
    assert sweep_dir.parent == logs / "grid" and sweep_dir.name.startswith("sweep-")
    runs = sorted(p.name for p in sweep_dir.iterdir() if p.is_dir())
    assert runs == sorted(f"learning_rate={lr},activation={a}"
                          for lr in ("0.1", "1.0e+30", "0.5") for a in ("tanh", "relu"))
    for name in runs:
        saved = yaml.safe_load((sweep_dir / name / "config.yaml").read_text())
        assert saved["sweep"] is None
        assert f"activation={saved['model']['activation']}" in name
    assert "[6/6]" in out, "progress across runs"


def test_failed_runs_are_recorded_and_the_sweep_goes_on(sweep_run):
    _, out, logs, _ = sweep_run
    (sweep_dir,) = (logs / "grid").iterdir()
    rows = list(csv.DictReader((sweep_dir / "sweep.csv").open()))
    assert len(rows) == 6
    failed = [r for r in rows if r["status"] == "failed"]
    # lr = 1e30 sends gradients to NaN, or saturates/kills every unit (zero gradients):
    # which one depends on the activation, so only the failures' cause is asserted
    assert failed and {r["optimizer.learning_rate"] for r in failed} == {"1e+30"}
    assert all("NaN or infinite" in r["error"] for r in failed)
    completed = [r for r in rows if r["status"] == "completed"]
    assert len(completed) + len(failed) == 6
    assert all(float(r["validation.accuracy"]) > 0 for r in completed)


def test_summary_table_is_sorted_by_the_metric(sweep_run):
    _, out, _, _ = sweep_run
    table = out[out.index("validation.accuracy"):].splitlines()[1:]
    rows = [line.split() for line in table if len(line.split()) == 3]
    values = [float(row[1]) for row in rows if row[2] == "completed"]
    assert len(values) >= 4 and values == sorted(values, reverse=True)
    assert [row[2] for row in rows][-1] == "failed", "failed runs sort last"


def test_invalid_sweep_values_fail_before_any_run(tmp_path, write_config, capsys):
    config = write_config({**TINY, "experiment": {"name": "bad", "log_dir": str(tmp_path / "l")},
                           "sweep": {"model.depth": [2, 0], "model.activaton": ["relu"]}})
    assert main(["sweep", str(config)]) == 2
    err = capsys.readouterr().err
    assert "model.activaton: unknown key" in err and "(sweep point" in err
    assert not (tmp_path / "l").exists()


def test_sweep_section_is_validated(write_config, capsys):
    config = write_config({"sweep": {"model.depth": []}})
    assert main(["validate", str(config)]) == 2
    assert "sweep.model.depth: expected a non-empty list" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="has no sweep section"):
        from nnkit.cli import command_sweep, _parser
        command_sweep(_parser().parse_args(["sweep", str(write_config({}, "plain.yaml"))]))


def test_expand_orders_the_grid_and_validates_each_point(write_config):
    config = write_config(TINY)
    points = expand(config, [], {"model.depth": [1, 2], "optimizer.name": ["sgd", "adam"]})
    assert [p.name for p in points] == ["depth=1,name=sgd", "depth=1,name=adam",
                                        "depth=2,name=sgd", "depth=2,name=adam"]
    assert points[3].config.optimizer.name == "adam" and points[3].config.model.depth == 2


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_tensorboard_hparams_api_lists_every_run_and_its_values(sweep_run):
    _, _, logs, _ = sweep_run
    (sweep_dir,) = (logs / "grid").iterdir()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tensorboard = Path(sys.executable).with_name("tensorboard")
    command = [str(tensorboard)] if tensorboard.exists() else [sys.executable, "-m",
                                                               "tensorboard.main"]
    process = subprocess.Popen([*command, "--logdir", str(sweep_dir), "--host", "127.0.0.1",
                                "--port", str(port), "--load_fast", "false"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/data/plugin/hparams"
    request = {"experimentName": "", "startIndex": 0, "sliceSize": 100,
               "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE",
                                   "STATUS_RUNNING"],
               "colParams": [{"hparam": "optimizer.learning_rate"},
                             {"hparam": "model.activation"}]}
    try:
        deadline, groups = time.monotonic() + 90, []
        while len(groups) < 6:
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail(f"tensorboard listed {len(groups)} of 6 runs within 90 s")
            time.sleep(1)
            try:
                groups = _post(f"{base}/session_groups", request).get("sessionGroups", [])
            except OSError:
                continue
        experiment = _post(f"{base}/experiment", {"experimentName": ""})
    finally:
        process.terminate()
        process.wait(timeout=15)
    names = {info["name"] for info in experiment["hparamInfos"]}
    assert names == {"optimizer.learning_rate", "model.activation"}
    seen = {(g["hparams"]["optimizer.learning_rate"], g["hparams"]["model.activation"])
            for g in groups}
    assert seen == {(lr, a) for lr in (0.1, 1e30, 0.5) for a in ("tanh", "relu")}


def test_mapping_values_are_labelled_like_calls(write_config):
    points = expand(write_config(TINY), [], {"model.kernel_initializer": [
        "he_normal", {"name": "random_normal", "stddev": 0.01}]})
    assert [p.name for p in points] == ["kernel_initializer=he_normal",
                                        "kernel_initializer=random_normal(stddev=0.01)"]


def test_report_reads_every_run_of_a_sweep(sweep_run, tmp_path):
    _, out, _, _ = sweep_run
    sweep_dir = Path(out.strip().splitlines()[-1][len("sweep: "):])
    page = tmp_path / "r.html"
    assert main(["report", str(sweep_dir), "--out", str(page)]) == 0
    text = page.read_text()
    assert "<p>6 run(s)</p>" in text
    for lr in ("0.1", "1.0e+30", "0.5"):
        assert f"learning_rate={lr},activation=relu" in text
    statuses = [json.loads((run / "metrics.json").read_text())["status"]
                for run in sweep_dir.iterdir() if run.is_dir()]
    for status in set(statuses):  # the diverged runs' status is in the table as well
        assert text.count(f"<td>{status}</td>") == statuses.count(status)
    assert "no problems found" not in text, "logging.instrument is off: nothing was checked"
    assert text.count("not diagnosed") == 6
