"""The diagnosis: depth trends, episodes, each finding kind on constructed rows (positive and
negative), and the cases the issue measured, end to end."""

import json
import math

import numpy as np
import pytest
import tensorflow as tf

from nnkit.config import load_config
from nnkit.instrument import statistics
from nnkit.instrument.depth_trend import depth_trend
from nnkit.instrument.detectors import Thresholds
from nnkit.instrument.diagnosis import WINDOW_ROWS, Diagnosis
from nnkit.instrument.episodes import Episodes
from nnkit.training import run

KERNELS = [f"{i:02d}_dense_{i}" for i in range(1, 9)]
PROBED = [f"{i:02d}_activation_{i}" for i in range(1, 9)]


def _diagnosis(**kwargs) -> Diagnosis:
    return Diagnosis(Thresholds(), KERNELS, PROBED, {k: 16 for k in KERNELS}, **kwargs)


def _kinds(diagnosis: Diagnosis) -> dict:
    return {f.kind: f for f in diagnosis.findings()}


# --- depth trend ---------------------------------------------------------------------------

def test_depth_trend_of_a_geometric_profile_is_its_factor():
    """log10 s_l = -1 + 0.5 l: 10^0.5 per layer, 10^(0.5·7) across 8 layers, exactly."""
    trend = depth_trend(-1 + 0.5 * np.arange(8))
    assert trend.per_layer == pytest.approx(10 ** 0.5, rel=1e-12)
    assert trend.span == pytest.approx(10 ** 3.5, rel=1e-12)
    assert trend.layers == 8


def test_depth_trend_leaves_out_non_finite_layers_and_never_overflows():
    values = -1 + 0.5 * np.arange(8)
    values[3] = np.nan
    assert depth_trend(values).layers == 7
    assert depth_trend(values).span == pytest.approx(10 ** 3.5, rel=1e-9)
    assert depth_trend(np.array([np.nan, 0.0])) is None
    assert depth_trend(np.array([0.0, 400.0])).span == math.inf


# --- episodes ------------------------------------------------------------------------------

def test_a_condition_that_flickers_is_one_episode_and_two_quiet_observations_close_it():
    episodes = Episodes(quiet=2)
    for step, firing in enumerate([True, False, True, True, False, False, True]):
        episodes.observe("k", "here", (step, step), firing, float(step))
    first, second = episodes.episodes
    assert (first.first_step, first.last_step, first.peak, first.quiet) == (0, 3, 3.0, 2)
    assert (second.first_step, episodes.is_open(second)) == (6, True)
    restored = Episodes(quiet=2)
    restored.restore(json.loads(json.dumps(episodes.state())))
    assert [e.to_dict() for e in restored.episodes] == [e.to_dict() for e in episodes.episodes]
    restored.observe("k", "here", (7, 7), True, 9.0)
    assert restored.episodes[-1].last_step == 7 and restored.episodes[-1].peak == 9.0


# --- gradients -----------------------------------------------------------------------------

def _gradient_rows(diagnosis, steps, slope, offset=-3.0):
    log_relative = np.tile(offset + slope * np.arange(len(KERNELS)), (len(steps), 1))
    diagnosis.add_gradient_rows(np.asarray(steps), log_relative, np.ones(len(steps)))


def test_vanishing_gradients_are_an_episode_with_its_steps_that_recovers():
    """‖∇W‖/‖W‖ 10^0.5 larger per layer toward the output (ratio 10^-3.5 < 1e-2) for the
    first two windows, then flat: one episode, steps 0-63, recovered."""
    diagnosis = _diagnosis()
    _gradient_rows(diagnosis, range(0, 2 * WINDOW_ROWS), 0.5)
    _gradient_rows(diagnosis, range(2 * WINDOW_ROWS, 6 * WINDOW_ROWS), 0.0)
    diagnosis.finish()
    (finding,) = diagnosis.findings()
    assert finding.kind == "vanishing_gradients"
    assert (finding.first_step, finding.last_step) == (0, 2 * WINDOW_ROWS - 1)
    assert finding.peak == pytest.approx(10 ** -3.5) and finding.recovered
    assert finding.layer == f"{KERNELS[0]}..{KERNELS[-1]}"
    assert diagnosis.coverage["gradient_windows"] == 6


@pytest.mark.parametrize("slope, kind", [(0.0, None), (0.2, None), (0.5, "vanishing_gradients"),
                                         (-0.5, "exploding_gradients")])
def test_the_depth_trend_decides_vanishing_and_exploding(slope, kind):
    """0.2 per layer over 7 intervals is 10^-1.4 = 0.04: above the 1e-2 threshold."""
    diagnosis = _diagnosis()
    _gradient_rows(diagnosis, range(WINDOW_ROWS), slope)
    diagnosis.finish()
    assert set(_kinds(diagnosis)) == ({kind} if kind else set())


def test_one_odd_layer_does_not_make_a_trend():
    """A flat profile with a 100× larger output layer (first against last: 1e-2) is not
    vanishing: the fit over depth gives 10^(-2·(7·... )) well above the threshold."""
    diagnosis = _diagnosis()
    row = np.full((WINDOW_ROWS, len(KERNELS)), -3.0)
    row[:, -1] = -1.0
    diagnosis.add_gradient_rows(np.arange(WINDOW_ROWS), row, np.ones(WINDOW_ROWS))
    diagnosis.finish()
    assert diagnosis.findings() == []


def test_windows_follow_the_step_number_not_the_flushes():
    """Rows written out in other chunks (a resumed run flushes at its checkpoint) give the
    same findings."""
    log_relative = np.stack([-3 + 0.5 * np.arange(8) * (s < 40) for s in range(100)])
    results = []
    for cuts in ([100], [17, 83], [50, 3, 47]):
        diagnosis, start = _diagnosis(), 0
        for size in cuts:
            steps = np.arange(start, start + size)
            diagnosis.add_gradient_rows(steps, log_relative[steps], np.ones(size))
            state = json.loads(json.dumps(diagnosis.state()))  # a checkpoint between chunks
            diagnosis = _diagnosis()
            diagnosis.restore(state)
            start += size
        diagnosis.finish()
        results.append([f.to_dict() for f in diagnosis.findings()])
    assert results[0] == results[1] == results[2] and results[0]


def test_a_large_global_norm_is_exploding():
    diagnosis = _diagnosis()
    flat = np.full((WINDOW_ROWS, len(KERNELS)), -3.0)
    diagnosis.add_gradient_rows(np.arange(WINDOW_ROWS), flat, np.full(WINDOW_ROWS, 5e3))
    diagnosis.finish()
    assert _kinds(diagnosis)["exploding_gradients"].layer == "global"


# --- activations ---------------------------------------------------------------------------

def _activation_row(diagnosis, step=0, **values):
    tags, row = [], []
    for prefix, per_layer in values.items():
        for key, value in per_layer.items():
            tags.append(f"{prefix}/{key}")
            row.append(value)
    diagnosis.add_activation_rows(tags, np.array([row]), np.array([step]))


@pytest.mark.parametrize("factor, kind", [(0.7, "signal_collapse"), (1.0, None), (0.9, None),
                                          (2.0, "signal_explosion")])
def test_the_signal_through_depth(factor, kind):
    """std 0.5·f^l over 30 layers spans f^29: 0.7^29 = 3e-5 (below 1e-2: collapse, the
    30-layer ReLU net with Glorot weights loses √2 per layer), 0.9^29 = 0.05 (healthy),
    2^29 (explosion)."""
    keys = [f"{i:02d}_activation_{i}" for i in range(30)]
    diagnosis = Diagnosis(Thresholds(), KERNELS, keys, {})
    _activation_row(diagnosis, activation_std={k: 0.5 * factor ** i for i, k in enumerate(keys)})
    assert set(_kinds(diagnosis)) == ({kind} if kind else set())


@pytest.mark.parametrize("prefix, value, kind", [
    ("dead_fraction", 0.8, "dying_relu"), ("dead_fraction", 0.3, None),
    ("saturated_fraction", 0.9, "saturation"), ("saturated_fraction", 0.1, None),
    ("negative_fraction", 1.0, None)])  # leaky ReLU & co.: never called dead
def test_per_layer_fractions(prefix, value, kind):
    diagnosis = _diagnosis()
    _activation_row(diagnosis, **{prefix: {PROBED[2]: value}})
    found = _kinds(diagnosis)
    assert set(found) == ({kind} if kind else set())
    if kind:
        assert found[kind].layer == PROBED[2]


def test_symmetry_needs_several_identical_units():
    diagnosis = Diagnosis(Thresholds(), KERNELS, PROBED, {KERNELS[0]: 16, KERNELS[1]: 1})
    _activation_row(diagnosis, distinct_units={KERNELS[0]: 1, KERNELS[1]: 1, KERNELS[2]: 16})
    assert [f.layer for f in diagnosis.findings()] == [KERNELS[0]]


# --- the loss ------------------------------------------------------------------------------

@pytest.mark.parametrize("losses, kind", [
    ([2.31, 2.30, 2.29, 2.30], "stalled_training"),
    ([2.31, 2.30, 2.29], "stalled_training"),
    ([2.31, 2.30], None),  # checked from epoch 3
    ([2.0, 1.0, 0.5, 0.3], None),
    ([9.0, 30.0, 36.0], "unstable_training")])
def test_the_loss_against_a_constant_prediction(losses, kind):
    diagnosis = _diagnosis(baseline_loss=math.log(10))
    for epoch, loss in enumerate(losses, start=1):
        diagnosis.add_epoch(epoch, (10 * (epoch - 1), 10 * epoch - 1), loss)
    found = _kinds(diagnosis)
    assert set(found) == ({kind} if kind else set())
    if kind:
        assert found[kind].first_step == 0, "a level held since the start"


def test_no_problems_found_is_said_only_of_what_was_checked():
    diagnosis = _diagnosis(baseline_loss=1.0)
    _gradient_rows(diagnosis, range(WINDOW_ROWS), 0.0)
    diagnosis.finish()
    assert "not checked: activations, the loss" in diagnosis.summary()
    diagnosis.add_epoch(1, (0, 31), 0.5)
    _activation_row(diagnosis, activation_std={PROBED[0]: 1.0, PROBED[1]: 1.0})
    assert diagnosis.summary().startswith("no problems found (1 gradient windows, 1 activation")


# --- statistics ----------------------------------------------------------------------------

def test_saturated_fraction_against_numpy():
    x = np.random.default_rng(0).normal(scale=4.0, size=(64, 32)).astype("float32")
    for name, f, slope in [("sigmoid", lambda v: 1 / (1 + np.exp(-v)), lambda y: 4 * y * (1 - y)),
                           ("tanh", np.tanh, lambda y: 1 - y ** 2)]:
        y = f(x)
        expected = np.mean(slope(y) < 0.1)
        assert float(statistics.saturated_fraction(tf.constant(y), name)) == pytest.approx(
            expected, abs=1 / y.size)
        assert 0.2 < expected < 0.9, "the case is neither all nor nothing"


def test_the_constant_prediction_loss_is_the_entropy_of_the_class_frequencies(tiny_config):
    from nnkit.training.build import build_experiment

    experiment = build_experiment(load_config(tiny_config, ["data={name: digits}"]))
    prior = np.bincount(experiment.dataset.y_train) / len(experiment.dataset.y_train)
    entropy = -np.sum(prior * np.log(prior))
    assert experiment.constant_prediction_loss() == pytest.approx(entropy, rel=1e-5)
    assert entropy == pytest.approx(math.log(10), rel=0.01)
    probe = experiment.probe_inputs(50)
    assert probe.shape[0] == 50 and np.array_equal(probe, experiment.probe_inputs(50))
    assert experiment.probe_inputs(0) is None


# --- end to end: the measured cases --------------------------------------------------------

def _run(tiny_config, overrides):
    return run(load_config(tiny_config, overrides), verbose=0)


def test_deep_sigmoid_net_reports_a_vanishing_episode_with_its_steps(tiny_config):
    result = _run(tiny_config, ["model.depth=10", "model.activation=sigmoid",
                                "model.kernel_initializer=glorot_uniform", "training.epochs=3"])
    (vanishing, *_) = [f for f in result.metrics["diagnosis"]
                       if f["kind"] == "vanishing_gradients"]
    assert vanishing["first_step"] == 0 and vanishing["last_step"] >= 0
    assert vanishing["layer"].startswith("h01_dense..") and vanishing["peak"] < 1e-2
    assert "ReLU" in vanishing["remedy"]
    assert result.metrics["diagnosis_checked"]["gradient_windows"] >= 1


def test_leaky_relu_at_a_high_learning_rate_is_never_called_dying(tiny_config):
    from event_files import read_tags

    result = _run(tiny_config, ["model.activation=leaky_relu", "optimizer.learning_rate=0.5",
                                "model.bias_initializer={name: constant, value: -5.0}",
                                "logging.histogram_every_n_steps=2", "training.epochs=3"])
    kinds = {f["kind"] for f in result.metrics["diagnosis"]}
    assert "dying_relu" not in kinds
    tags = read_tags(result.run_dir / "train")
    negative = [t for t in tags if t.startswith("negative_fraction/")]
    assert negative and max(float(v) for t in negative for v in tags[t].values()) > 0.5
    assert not any(t.startswith("dead_fraction/") for t in tags)


def test_n01_relu_net_fails_and_names_the_exploding_signal(tiny_config):
    from event_files import read_tags

    from nnkit.training import NonFiniteError

    config = load_config(tiny_config, ["model.depth=24", "model.units=128",
                                       "data={name: digits}", "training.epochs=1",
                                       "model.kernel_initializer={name: random_normal, "
                                       "stddev: 1.0}", "logging.histogram_every_n_steps=1"])
    with pytest.raises(NonFiniteError):
        run(config, verbose=0)
    (run_dir,) = (tiny_config.parent / "logs" / "tiny").iterdir()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "failed"
    found = {f["kind"]: f for f in metrics["diagnosis"]}
    assert "signal_explosion" in found and found["signal_explosion"]["peak"] > 1e2
    stds = [float(v) for t, s in read_tags(run_dir / "train").items()
            if t.startswith("activation_std/") for v in s.values()]
    assert stds and all(math.isfinite(v) for v in stds), "finite, never inf as a value"


STALLING = ["model.kernel_initializer=zeros", "optimizer={name: sgd, learning_rate: 1.0e-7}",
            "data={name: digits}", "logging.stall_epochs=2", "training.epochs=6"]


def test_stop_on_a_stalled_run_stops_it_with_the_finding(tiny_config, capsys):
    from nnkit.cli import main

    status = main(["run", str(tiny_config), "--quiet", *sum(
        (["-o", o] for o in STALLING + ["training.stop_on=[non_finite, stalled_training]"]), [])])
    out = capsys.readouterr().out
    assert status == 0
    assert "stopped early at epoch 2 (training.stop_on): stalled_training" in out
    (run_dir,) = (tiny_config.parent / "logs" / "tiny").iterdir()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "stopped" and metrics["epochs_run"] == 2
    assert metrics["stopped_by"]["kind"] == "stalled_training"
    assert (run_dir / "model.keras").exists()


@pytest.mark.slow  # stop_on in one run is tested above
def test_a_sweep_records_runs_stopped_by_a_finding_as_pruned(tiny_config, capsys):
    import csv

    from nnkit.cli import main

    """Zero kernels: the hidden units output 0, only the output bias learns, and the loss
    settles at the constant prediction's; He's kernels learn."""
    overrides = ["data={name: digits}", "logging.stall_epochs=2", "training.epochs=4",
                 "training.stop_on=[stalled_training]",
                 "sweep={model.kernel_initializer: [zeros, he_normal]}"]
    assert main(["sweep", str(tiny_config), *sum((["-o", o] for o in overrides), [])]) == 0
    assert "1 completed, 1 pruned, 0 failed" in capsys.readouterr().out
    (sweep_dir,) = (tiny_config.parent / "logs" / "tiny").iterdir()
    rows = {r["run"]: r for r in csv.DictReader((sweep_dir / "sweep.csv").open())}
    assert rows["kernel_initializer=zeros"]["status"] == "pruned"
    assert "stalled_training" in rows["kernel_initializer=zeros"]["error"]
    assert int(rows["kernel_initializer=zeros"]["epochs_run"]) == 2
    assert rows["kernel_initializer=he_normal"]["status"] == "completed"


def test_findings_are_logged_as_they_occur(tiny_config, monkeypatch):
    """The diagnosis text is written at the epoch ends where the findings changed, and
    metrics.json says so while the run is running (its final one replaces it)."""
    import importlib

    from event_files import read_tags

    run_module = importlib.import_module("nnkit.training.run")
    written = []
    original = run_module._write_running

    def spy(run_dir, findings):
        original(run_dir, findings)
        written.append(json.loads((run_dir / "metrics.json").read_text()))

    monkeypatch.setattr(run_module, "_write_running", spy)
    result = _run(tiny_config, STALLING)
    assert written and all(m["status"] == "running" for m in written)
    assert any(f["kind"] == "stalled_training" for m in written for f in m["diagnosis"])
    assert result.metrics["status"] == "completed"
    texts = read_tags(result.run_dir / "train")["diagnosis"]
    assert len(texts) >= 2, "when the findings changed, and at the end"
    stall = min(step for step, text in texts.items() if b"stalled_training" in text.item())
    assert stall < max(texts), "logged at the epoch it began, before the end"


def test_the_healthy_quickstart_has_no_finding(tmp_path):
    from pathlib import Path

    quickstart = Path(__file__).parent.parent / "configs" / "quickstart.yaml"
    result = run(load_config(quickstart, [f"experiment.log_dir={tmp_path}"]), verbose=0)
    assert result.metrics["diagnosis"] == [], result.metrics["diagnosis"]
    checked = result.metrics["diagnosis_checked"]
    assert checked["gradient_windows"] and checked["activation_steps"] and checked["epochs"]


def test_readme_documents_every_finding_kind_and_its_threshold():
    from pathlib import Path

    from nnkit.config.schema import Logging
    from nnkit.findings import KINDS

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme[readme.index("### The diagnosis"):readme.index("**Stopping hopeless")]
    for kind, meaning in KINDS.items():
        assert f"| `{kind}` |" in section, kind
        if meaning.threshold:
            assert meaning.threshold in section and meaning.threshold in Logging.model_fields


def test_the_sigmoid_runs_of_the_activation_sweep_are_flagged(tmp_path, capsys):
    """configs/sweep_activation_init.yaml's three sigmoid runs (6 layers, 5 epochs) ended at
    0.15 validation accuracy with "no problems found"."""
    import csv
    from pathlib import Path

    from nnkit.cli import main

    config = Path(__file__).parent.parent / "configs" / "sweep_activation_init.yaml"
    grid = "sweep={model.activation: [sigmoid], model.kernel_initializer: [glorot_uniform, " \
           "he_normal, lecun_normal]}"
    assert main(["sweep", str(config), "--logdir", str(tmp_path), "-o", grid]) == 0
    capsys.readouterr()
    (sweep_dir,) = (tmp_path / "activation-init").iterdir()
    rows = list(csv.DictReader((sweep_dir / "sweep.csv").open()))
    assert len(rows) == 3
    for row in rows:
        metrics = json.loads((Path(row["folder"]) / "metrics.json").read_text())
        kinds = {f["kind"] for f in metrics["diagnosis"]}
        assert "vanishing_gradients" in kinds, (row["run"], kinds)
