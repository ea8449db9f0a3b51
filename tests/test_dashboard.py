"""The nnkit tab: the server's matrix against NumPy, the routes through TensorBoard's real
server over real run folders, and the frontend in a real headless Chromium."""

import copy
import json
import os
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from conftest import TINY
from event_files import summary_values
from nnkit.dashboard.series import layer_matrix, profile_at, step_bins
from nnkit.report.reader import read_run


def test_columns_are_the_steps_when_they_fit_else_bins_of_equal_width():
    steps = np.arange(0, 50, 5)
    first, last = step_bins(steps, 20)
    assert first.tolist() == last.tolist() == steps.tolist()
    first, last = step_bins(np.arange(1000), 10)
    assert first.tolist() == list(range(0, 1000, 100))
    assert last.tolist() == list(range(99, 1000, 100))


def test_a_cell_is_the_geometric_mean_of_its_steps_and_a_failing_step_is_flagged():
    rng = np.random.default_rng(0)
    steps = np.arange(100)
    a = 10.0 ** rng.normal(-3, 1, 100)
    b = np.exp(rng.normal(0, 1, 100))
    b[37] = np.nan
    b[80:90] = 0.0
    matrix = layer_matrix({"b": (steps, b), "a": (steps, a)}, ["a", "missing", "b"],
                          "grad_norm", columns=10)
    assert matrix["layers"] == ["a", "b"]
    values = np.array(matrix["values"], dtype=float)
    assert np.allclose(values[0], np.log10(a).reshape(10, 10).mean(axis=1), atol=1e-5)
    finite_b = np.where(np.isfinite(b) & (b > 0), np.log10(np.where(b > 0, b, 1)), np.nan)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the all-zero column's empty mean
        expected = np.nanmean(finite_b.reshape(10, 10), axis=1)
    assert np.allclose(values[1], expected, atol=1e-5, equal_nan=True)
    assert matrix["nonfinite"] == [[1, 3]]  # step 37: column 3, whatever else it holds
    assert matrix["zero"] == [[1, 8]]  # steps 80-89 all exactly 0
    assert profile_at(matrix, 55) == (50, [matrix["values"][0][5], matrix["values"][1][5]])


def test_fractions_are_drawn_as_they_are():
    matrix = layer_matrix({"x": (np.arange(4), np.array([0.0, 0.5, 1.0, 0.25]))}, ["x"],
                          "dead_fraction")
    assert not matrix["log"] and matrix["values"] == [[0.0, 0.5, 1.0, 0.25]]
    assert matrix["zero"] == []


# --- through TensorBoard's own server ----------------------------------------------------


def _train(log_dir: Path, name: str, depth: int) -> Path:
    from nnkit.api import run
    config = copy.deepcopy(TINY)
    config["experiment"]["name"] = name
    config["model"]["depth"] = depth
    config["training"]["epochs"] = 1
    config["logging"] = {"histogram_every_n_steps": 2}
    if depth == 3:  # one run with the dynamics instruments, every 2 steps
        config["logging"]["dynamics"] = {
            "tier": "full", "sharpness_every_n_steps": 2, "hessian_trace_every_n_steps": 2,
            "gradient_noise_every_n_steps": 2, "effective_rank_every_n_steps": 2,
            "probe_samples": 64}
    if name == "recurrent":  # a stacked simple RNN on the adding problem: through time
        config["data"] = {"name": "adding", "n_samples": 120, "length": 6}
        config["model"] = {"architecture": "rnn", "cell": "simple", "units": 4, "layers": 2}
        config["logging"]["preflight"] = False
    return Path(run(config, log_dir=log_dir, verbose=0).run_dir)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Two real runs (2 and 3 hidden layers) under one log folder, served by TensorBoard
    with the plugins it finds itself (nnkit's through its entry point); stopped after."""
    from tensorboard import program
    logdir = tmp_path_factory.mktemp("tb")
    runs = {"shallow": _train(logdir, "shallow", 2), "deep": _train(logdir, "deep", 3),
            "recurrent": _train(logdir, "recurrent", 2)}
    board = program.TensorBoard()
    board.configure(argv=[None, "--logdir", str(logdir), "--port", "0", "--host", "127.0.0.1",
                          "--load_fast", "false", "--reload_interval", "1"])
    server = board._make_server()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = server.get_url().rstrip("/")
    try:
        start = time.monotonic()
        while time.monotonic() - start < 60:  # the multiplexer loads in the background
            if len(_get(url, "runs")["runs"]) == len(runs):
                break
            time.sleep(0.25)
        yield url, runs
    finally:
        server.shutdown()
        thread.join(timeout=10)


def _get(url: str, route: str, **params):
    query = urllib.parse.urlencode(params, doseq=True)
    with urllib.request.urlopen(f"{url}/data/plugin/nnkit/{route}?{query}", timeout=20) as r:
        return json.loads(r.read())


def _gradient_layers(folder: Path) -> list[str]:
    rows = json.loads((folder / "layers.json").read_text())["layers"]
    return [row["key"] for row in rows if row["variables"]]


def test_tensorboard_lists_the_nnkit_tab_as_an_es_module_plugin(served):
    url, _ = served
    with urllib.request.urlopen(f"{url}/data/plugins_listing", timeout=20) as response:
        listing = json.loads(response.read())
    assert listing["nnkit"]["enabled"] is True
    assert listing["nnkit"]["loading_mechanism"] == {
        "type": "IFRAME", "module_path": "/data/plugin/nnkit/static/index.js"}
    with urllib.request.urlopen(f"{url}/data/plugin/nnkit/static/index.js", timeout=20) as r:
        assert "export async function render" in r.read().decode()


def test_the_matrix_holds_the_event_files_values_in_depth_order(served):
    url, runs = served
    listing = {r["name"].split("/")[0]: r for r in _get(url, "runs")["runs"]}
    for name, folder in runs.items():
        entry = listing[name]
        assert entry["status"] == "completed"
        assert entry["layers"] == len(_gradient_layers(folder))
        matrix = _get(url, "matrix", run=entry["run"], quantity="grad_norm")
        assert matrix["layers"] == _gradient_layers(folder)
        reference = read_run(folder)  # an independent reader of the same event files
        for key, row in zip(matrix["layers"], matrix["values"]):
            steps, values = reference.series("train", f"grad_norm/{key}")
            assert matrix["first_steps"] == steps.tolist()
            assert np.allclose(row, np.log10(values), atol=1e-5)


def test_the_dynamics_charts_hold_the_event_files_values(served):
    url, runs = served
    listing = {r["name"].split("/")[0]: r for r in _get(url, "runs")["runs"]}
    assert "gsnr" in listing["deep"]["quantities"]  # a depth × step heatmap of GSNR
    charts = {c["quantity"]: c for c in _get(url, "dynamics", run=listing["deep"]["run"])["charts"]}
    assert set(charts) == {"sharpness", "hessian_trace", "effective_rank"} | (
        {"gradient_noise_scale"} & set(charts))  # B_simple: only where |G|² > 0
    assert charts["sharpness"]["layers"] == ["sharpness", "preconditioned_sharpness",
                                             "sharpness_limit"]  # TINY trains with Adam
    reference = read_run(runs["deep"])
    for name, chart in charts.items():
        for tag, row in zip(chart["layers"], chart["values"]):
            steps, values = reference.series("train", tag)
            by_step = dict(zip(chart["first_steps"], row))  # a chart's columns: its tags' steps
            assert {s for s, v in by_step.items() if v is not None} == set(steps.tolist())
            shown = np.log10(values) if chart["log"] else values
            assert np.allclose([by_step[s] for s in steps.tolist()], shown, rtol=1e-5,
                               atol=1e-5), (name, tag)
    empty = _get(url, "dynamics", run=listing["shallow"]["run"])
    assert empty["charts"] == []


def test_the_through_time_heatmaps_hold_the_event_files_values(served):
    """One time × step chart per recurrent layer, row t from 1, log10 ‖∂L/∂hₜ‖ as written."""
    url, runs = served
    listing = {r["name"].split("/")[0]: r for r in _get(url, "runs")["runs"]}
    charts = _get(url, "through_time", run=listing["recurrent"]["run"])["charts"]
    assert [c["layer"] for c in charts] == ["h01_simple", "h02_simple"]
    written = {}
    for _, tag, step, value in summary_values(runs["recurrent"] / "train"):
        if tag.startswith("through_time/"):
            written.setdefault(tag.split("/", 1)[1], {})[step] = tf.make_ndarray(value.tensor)
    for chart in charts:
        series = written[chart["layer"]]
        assert chart["layers"] == [f"t={t}" for t in range(1, 7)]
        assert chart["first_steps"] == sorted(series)
        expected = np.log10(np.array([series[s][:, 2] for s in sorted(series)])).T
        np.testing.assert_allclose(np.array(chart["values"], float), expected, atol=1e-5)
    assert _get(url, "through_time", run=listing["deep"]["run"])["charts"] == []


def test_the_profile_aligns_runs_of_different_depth_by_layer_key(served):
    url, _ = served
    names = {r["name"].split("/")[0]: r["run"] for r in _get(url, "runs")["runs"]}
    profile = _get(url, "profile", run=[names["deep"], names["shallow"]], step=3)
    assert profile["layers"] == ["h01_dense", "h02_dense", "h03_dense", "output"]
    deep, shallow = profile["runs"]
    assert shallow["values"][2] is None and None not in deep["values"]
    matrix = _get(url, "matrix", run=names["shallow"])
    column = matrix["first_steps"].index(shallow["step"])
    by_key = dict(zip(matrix["layers"], (row[column] for row in matrix["values"])))
    assert shallow["values"][3] == by_key["output"] and shallow["values"][0] == by_key["h01_dense"]


@pytest.mark.parametrize("route, params, status", [
    ("matrix", {"run": "nope/train"}, 404),
    ("matrix", {"run": "x", "quantity": "loss"}, 400),
    ("matrix", {"run": "x", "columns": "many"}, 400),
    ("profile", {}, 400),
    ("static/..%2f..%2fplugin.py", {}, 404),
    ("static/plugin.py", {}, 404),
])
def test_bad_requests_get_an_error_not_a_traceback(served, route, params, status):
    url, _ = served
    with pytest.raises(urllib.error.HTTPError) as error:
        _get(url, route, **params)
    assert error.value.code == status


def test_each_run_folder_has_a_custom_scalars_layout_with_every_layer(served):
    """The layout parses as TensorBoard's proto; each chart's regex matches every layer's
    tag of its quantity and nothing else; TensorBoard's Custom Scalars tab serves it."""
    import re

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.custom_scalar import layout_pb2, metadata
    from tensorboard.util import tensor_util

    url, runs = served
    titles = set()
    for folder in runs.values():
        events = EventAccumulator(str(folder / "train"), size_guidance={"tensors": 0})
        events.Reload()
        (event,) = events.Tensors(metadata.CONFIG_SUMMARY_TAG)
        layout = layout_pb2.Layout.FromString(tensor_util.make_ndarray(event.tensor_proto).item())
        charts = {chart.title.split(" ")[0]: chart.multiline.tag[0]
                  for chart in layout.category[0].chart}
        titles |= {chart.title for chart in layout.category[0].chart}
        tags = set(read_run(folder).scalars["train"])
        layers = _gradient_layers(folder)
        for quantity, prefix in (("gradient", "grad_norm"), ("weight", "weight_norm"),
                                 ("update", "update_ratio")):
            matched = {t for t in tags if re.search(charts[quantity], t)}
            assert matched == {f"{prefix}/{key}" for key in layers}, quantity
    with urllib.request.urlopen(f"{url}/data/plugin/custom_scalars/layout", timeout=20) as r:
        served_layout = json.loads(r.read())
    assert served_layout["category"][0]["title"] == "nnkit: every layer"
    assert len(served_layout["category"][0]["chart"]) == len(titles)  # runs' charts merged


def test_the_layout_leaves_out_per_variable_tags_when_they_are_logged():
    import re

    from nnkit.instrument.layout import layer_regex
    pattern = layer_regex("grad_norm", ["kernel", "bias", "recurrent_kernel"])
    for tag, expected in (("grad_norm/encoder/dense", True), ("grad_norm/lstm", True),
                          ("grad_norm/encoder/dense/kernel", False),
                          ("grad_norm/lstm/recurrent_kernel", False),
                          ("grad_norm/global", False), ("grad_norm/globalish", True)):
        assert bool(re.search(pattern, tag)) is expected, tag


# --- the frontend in a real browser --------------------------------------------------------


def _browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def _chromium(url: str, *extra: str, user_dir: Path) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={user_dir}", "--virtual-time-budget=30000"]
    return subprocess.run([_browser(), *flags, *extra, url], capture_output=True, timeout=120,
                          text=True)


def test_the_tab_draws_one_heatmap_row_per_layer_in_a_real_browser(served, tmp_path):
    if _browser() is None:
        if os.environ.get("NNKIT_REQUIRE_BROWSER"):
            pytest.fail("NNKIT_REQUIRE_BROWSER is set but no chromium was found")
        pytest.skip("no chromium/chrome on PATH (.ci/run installs Debian's chromium)")
    url, runs = served
    # the frame TensorBoard puts the tab in: its own entry page, which imports index.js
    page = _chromium(f"{url}/data/plugin_entry.html?name=nnkit", "--dump-dom",
                     user_dir=tmp_path / "dom")
    dom = page.stdout
    assert 'data-ready="true"' in dom, dom[-2000:]
    shown = sorted(_get(url, "runs")["runs"], key=lambda r: r["run"])[0]["run"]
    folder = next(f for n, f in runs.items() if shown.startswith(n + "/"))
    assert dom.count('class="heatmap-row"') == len(_gradient_layers(folder))
    assert dom.count('class="series"') >= len(_gradient_layers(folder))  # lines and profile
    assert 'id="through-time"' in dom
    if shown.startswith("deep/"):  # the run with logging.dynamics
        assert 'data-chart="sharpness"' in dom and 'data-chart="hessian_trace"' in dom
    # the whole TensorBoard page with the tab open, kept as an artifact
    artifacts = Path(os.environ.get("NNKIT_TEST_ARTIFACTS", "logs/test-artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    shot = artifacts / "dashboard.png"
    _chromium(f"{url}/#nnkit", f"--screenshot={shot.resolve()}", "--window-size=1400,1600",
              user_dir=tmp_path / "shot")
    import matplotlib.pyplot as plt
    image = plt.imread(shot)[..., :3]
    coloured = (image.max(axis=2) - image.min(axis=2)) > 0.2  # not white, grey or black
    assert coloured[100:].mean() > 0.01, "the tab looks blank"  # below TensorBoard's bar
