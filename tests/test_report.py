"""``nnkit report``: an HTML page or a PNG from run folders."""

import base64
import io
import re

import pytest

from nnkit.cli import main
from nnkit.config import load_config
from nnkit.training import run


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    import yaml

    folder = tmp_path_factory.mktemp("report")
    config = folder / "c.yaml"
    config.write_text(yaml.safe_dump({
        "experiment": {"name": "pair", "seed": 1, "log_dir": str(folder / "logs")},
        "data": {"name": "moons", "n_samples": 160},
        "model": {"depth": 4, "units": 8}, "training": {"epochs": 2}}))
    for activation in ("sigmoid", "relu"):
        run(load_config(config, [f"model.activation={activation}"]), verbose=0)
    return folder / "logs"


def test_html_report_has_figures_and_diagnosis(two_runs, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["report", str(two_runs), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"report: {out}"
    page = out.read_text()
    images = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)
    assert len(images) == 4  # norms over time, heatmaps, final flow, loss
    assert all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in images)
    assert page.count("<tr>") >= 3, "a header and a row per run at least"
    assert "pair/" in page
    assert page.count("activation=sigmoid") >= 1 and page.count("activation=relu") >= 1


def test_runs_are_labelled_by_what_differs_in_their_configs():
    from nnkit.report.labels import difference_labels

    a = {"model.activation": "relu", "model.depth": 2, "optimizer.name": "adam",
         "experiment.log_dir": "x", "data.seed": 1, "model.seed": 1}
    b = {**a, "model.activation": "sigmoid", "model.depth": 10, "experiment.log_dir": "y",
         "data.seed": 2, "model.seed": 3}
    assert difference_labels([a, b, None], ["r1", "r2", "watched"]) == [
        "activation=relu, depth=2, data.seed=1, model.seed=1",
        "activation=sigmoid, depth=10, data.seed=2, model.seed=3", "watched"]
    assert difference_labels([a], ["only"]) == ["only"]


def test_report_figures_use_fonts_of_10_pt_and_keep_legends_off_the_data(two_runs):
    import matplotlib.pyplot as plt

    from nnkit.report import figures
    from nnkit.report.reader import find_runs, label_runs, read_run

    runs = label_runs([read_run(p) for p in find_runs([two_runs])])
    for draw in (figures.norms_over_time, figures.heatmaps, figures.final_flow,
                 figures.loss_curves):
        figure = draw(runs)
        figure.canvas.draw()
        sizes = [t.get_fontsize() for t in figure.findobj(plt.Text) if t.get_text()]
        assert min(sizes) >= 10, draw.__name__
        for ax in figure.axes:
            legend = ax.get_legend()
            if legend is not None:  # outside the plotting area, on the right
                assert legend.get_window_extent().x0 >= ax.get_window_extent().x1
        plt.close(figure)
    assert len(set(map(tuple, figures.run_colours(24)))) == 24


def test_png_report_is_the_whole_page_in_one_image(two_runs, tmp_path):
    import matplotlib.pyplot as plt
    import numpy as np

    html, png = tmp_path / "r.html", tmp_path / "r.png"
    assert main(["report", str(two_runs), "--out", str(png)]) == 0
    assert main(["report", str(two_runs), "--out", str(html)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    figures = [plt.imread(io.BytesIO(base64.b64decode(i)))[..., :3]
               for i in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html.read_text())]
    page = plt.imread(png)[..., :3]
    assert page.shape[0] > sum(f.shape[0] for f in figures), "the 4 figures and the diagnosis"
    assert page.shape[1] >= max(f.shape[1] for f in figures)
    top = 0
    for figure in figures:  # each figure, as the HTML page shows it, in order, left-aligned
        height, width, _ = figure.shape
        np.testing.assert_allclose(page[top:top + height, :width], figure, atol=1 / 255)
        top += height
    assert page[top:].min() < 0.5, "the diagnosis text below the figures"


def test_report_without_runs_is_an_error(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "no run folders" in capsys.readouterr().err


@pytest.mark.parametrize("name, message", [
    ("r.pdf", "a report is written as .html, .htm, .png"),
    ("missing/r.png", "no folder"),
])
def test_a_bad_out_path_is_an_error_before_any_work(two_runs, tmp_path, capsys, name, message):
    out = tmp_path / name
    assert main(["report", str(two_runs), "--out", str(out)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"report: --out {out}: ") and message in error
    assert len(error.splitlines()) == 1 and not out.exists()
    assert list(tmp_path.iterdir()) == [], "nothing written"


def test_runs_with_different_layers_line_up_by_key():
    from nnkit.layer_keys import merged_order

    with_bn = ["h01_dense", "h01_batch_norm", "h02_dense", "h02_batch_norm", "output"]
    plain = ["h01_dense", "h02_dense", "output"]
    deeper = ["h01_dense", "h02_dense", "h03_dense", "output"]
    assert merged_order([plain, with_bn, deeper]) == [
        "h01_dense", "h01_batch_norm", "h02_dense", "h02_batch_norm", "h03_dense", "output"]


def test_the_dynamics_figure_draws_the_sharpness_beside_its_limit(tmp_path):
    """A run with logging.dynamics gets a fifth figure: the sharpness and its limit on one
    axis (from the run's own tags), then B_simple, the trace and the effective rank."""
    import matplotlib.pyplot as plt
    import numpy as np
    import yaml

    from nnkit.report import figures, write_report
    from nnkit.report.reader import find_runs, label_runs, read_run

    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({
        "experiment": {"name": "dyn", "seed": 1, "log_dir": str(tmp_path / "logs")},
        "data": {"name": "moons", "n_samples": 160}, "model": {"depth": 2, "units": 8},
        "optimizer": {"name": "sgd", "learning_rate": 0.1}, "training": {"epochs": 2},
        "logging": {"dynamics": {"tier": "full", "sharpness_every_n_steps": 2,
                                 "hessian_trace_every_n_steps": 2,
                                 "effective_rank_every_n_steps": 2}}}))
    run(load_config(config), verbose=0)
    runs = label_runs([read_run(p) for p in find_runs([tmp_path / "logs"])])
    assert figures.has_dynamics(runs)
    figure = figures.dynamics(runs)
    sharpness_axis = figure.axes[0]
    lines = sharpness_axis.get_lines()
    steps, values = runs[0].series("train", "sharpness")
    assert np.allclose(lines[0].get_ydata(), values)  # the run's own values
    assert np.allclose(lines[1].get_ydata(), 2 / 0.1) and lines[1].get_linestyle() == "--"
    assert "stability limit" in sharpness_axis.get_title()
    plt.close(figure)
    out = write_report([tmp_path / "logs"], tmp_path / "r.html")
    page = out.read_text()
    assert "Dynamics: curvature" in page
    assert len(re.findall(r"data:image/png;base64,", page)) == 5


def test_the_through_time_figure_draws_each_recurrent_layers_norms_against_t(tmp_path):
    """A run with recurrent layers gets a figure of ‖∂L/∂hₜ‖ against t, a panel per layer,
    its curves the logged values of the first and last steps among them."""
    import matplotlib.pyplot as plt
    import numpy as np
    import yaml

    from nnkit.report import figures, write_report
    from nnkit.report.reader import find_runs, label_runs, read_run

    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({
        "experiment": {"name": "bptt", "seed": 1, "log_dir": str(tmp_path / "logs")},
        "data": {"name": "adding", "n_samples": 120, "length": 7},
        "model": {"architecture": "rnn", "cell": "gru", "units": 4, "layers": 2},
        "training": {"epochs": 1, "batch_size": 16}, "logging": {"preflight": False}}))
    run(load_config(config), verbose=0)
    runs = label_runs([read_run(p) for p in find_runs([tmp_path / "logs"])])
    assert list(runs[0].through_time) == ["h01_gru", "h02_gru"]
    assert figures.has_through_time(runs)
    figure = figures.through_time(runs)
    assert len(figure.axes) == 2
    steps, norms = runs[0].through_time["h02_gru"]
    assert norms.shape == (len(steps), 7)
    lines = figure.axes[1].get_lines()
    assert np.allclose(lines[0].get_xdata(), np.arange(1, 8))
    assert np.allclose(lines[0].get_ydata(), norms[0]) and np.allclose(lines[-1].get_ydata(),
                                                                       norms[-1])
    assert figure.axes[1].get_yscale() == "log"
    plt.close(figure)
    page = write_report([tmp_path / "logs"], tmp_path / "r.html").read_text()
    assert "Through time" in page
