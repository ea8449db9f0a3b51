"""The "nnkit" tab of TensorBoard: a dynamic plugin (TensorBoard's ``tensorboard_plugins``
entry point, declared in ``pyproject.toml``), so ``tensorboard --logdir logs`` shows it
once nnkit is installed.

The backend serves JSON read through TensorBoard's own data provider (which loads and
reloads the event files, live runs included) and the frontend, plain ES modules in
``static/`` that TensorBoard loads into the tab's frame (no build step).

Routes, under ``/data/plugin/nnkit/``:

* ``runs``: the runs with per-layer gradient norms: name, status, layers, findings count.
* ``matrix?run=R&quantity=Q&columns=N``: the depth × step matrix of
  :func:`~nnkit.dashboard.series.layer_matrix` (log10 for norms), with the findings.
* ``profile?run=R&run=S&quantity=Q&step=K``: each run's values across depth at the column
  holding step ``K``, aligned by layer key (:func:`~nnkit.layer_keys.merged_order`).
* ``dynamics?run=R&columns=N``: the run's ``logging.dynamics`` series, one chart each
  (:data:`~nnkit.dashboard.series.DYNAMICS`: the sharpness beside its stability limit,
  B_simple, the Hessian trace, the effective rank), as matrices of one row per tag.
* ``through_time?run=R&columns=N``: for each recurrent layer, the time × step matrix of
  ‖∂L/∂hₜ‖ (``through_time/<layer>``; row t = 1 at the top, log10), with the layer's
  through-time findings.
* ``static/<file>``: the frontend (``static/index.js`` is the entry).
"""

from __future__ import annotations

import mimetypes
from collections import OrderedDict
from pathlib import Path

import numpy as np
from werkzeug import wrappers

from tensorboard import context as request_context, errors, plugin_util
from tensorboard.backend import http_util
from tensorboard.data import provider
from tensorboard.plugins import base_plugin

from nnkit.dashboard import runs as run_files
from nnkit.dashboard.series import (DEFAULT_COLUMNS, DYNAMICS, QUANTITIES, THROUGH_TIME,
                                   layer_matrix, profile_at, time_matrix)
from nnkit.layer_keys import merged_order

PLUGIN_NAME = "nnkit"
STATIC = Path(__file__).with_name("static")
MAX_COLUMNS = 2000
_SCALARS = "scalars"  # TensorBoard's scalar plugin, whose summaries nnkit writes
_HISTOGRAMS = "histograms"  # ... and its histogram plugin (through_time/ series too)
_CACHED = 64  # matrices kept
_READ_ALL = 1_000_000  # "downsample" to more than TensorBoard keeps: every point it holds


class NnkitPlugin(base_plugin.TBPlugin):
    plugin_name = PLUGIN_NAME

    def __init__(self, context: base_plugin.TBContext):
        self._data = context.data_provider
        self._logdir = context.logdir or ""
        self._cache: OrderedDict = OrderedDict()  # (experiment, run, quantity, columns) →
        # (the series' lengths and last times, the matrix)

    def frontend_metadata(self):
        return base_plugin.FrontendMetadata(es_module_path="/static/index.js", tab_name="nnkit")

    def data_plugin_names(self):
        return ()  # active when some run has nnkit's tags (is_active), not by summary plugin

    def is_active(self) -> bool:
        return bool(self._data is not None and self._nnkit_runs(_context(None), ""))

    def get_plugin_apps(self):
        return {"/runs": self._runs_route, "/matrix": self._matrix_route,
                "/profile": self._profile_route, "/dynamics": self._dynamics_route,
                "/through_time": self._through_time_route, "/static/*": self._static_route}

    # --- data --------------------------------------------------------------------------

    def _nnkit_runs(self, ctx, experiment: str) -> dict[str, dict]:
        """TensorBoard run → {its scalar tag: TensorBoard's ScalarTimeSeries}, for the runs
        with per-layer gradient norms."""
        listing = self._data.list_scalars(ctx, experiment_id=experiment, plugin_name=_SCALARS)
        return {run: tags for run, tags in listing.items()
                if any(t.startswith("grad_norm/") and t != "grad_norm/global" for t in tags)}

    def _matrix(self, ctx, experiment: str, run: str, quantity: str, columns: int) -> dict:
        """The matrix, from the cache while the run's series have not grown (TensorBoard
        turns each point it reads into an array: the read, not the binning, is the cost)."""
        tags = self._nnkit_runs(ctx, experiment).get(run)
        if tags is None:
            raise errors.NotFoundError(f"no run {run!r} with nnkit's per-layer tags")
        folder = run_files.run_folder(self._logdir, run)
        layers = run_files.layer_keys(folder, tags)
        wanted = [f"{quantity}/{key}" for key in layers if f"{quantity}/{key}" in tags]
        version = tuple((t, tags[t].max_step, tags[t].max_wall_time) for t in wanted)
        key = (experiment, run, quantity, columns)
        cached = self._cache.get(key)
        if cached is None or cached[0] != version:
            cached = (version, layer_matrix(self._read(ctx, experiment, run, wanted), layers,
                                            quantity, columns))
            self._cache[key] = cached
            while len(self._cache) > _CACHED:
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        status, findings = run_files.findings(folder)
        return {**cached[1], "run": run, "name": run_files.display_name(run), "status": status,
                "all_layers": layers, "findings": findings,
                "title": QUANTITIES[quantity].title}

    def _read(self, ctx, experiment: str, run: str, wanted: list[str]) -> dict:
        """{layer key: (steps, values)} of the tags ``wanted`` (``<quantity>/<key>``)."""
        read = self._data.read_scalars(
            ctx, experiment_id=experiment, plugin_name=_SCALARS, downsample=_READ_ALL,
            run_tag_filter=provider.RunTagFilter(runs=[run], tags=wanted)).get(run, {})
        return {tag.split("/", 1)[1]: (np.array([d.step for d in data]),
                                       np.array([d.value for d in data]))
                for tag, data in read.items()}

    # --- routes ------------------------------------------------------------------------

    @wrappers.Request.application
    def _runs_route(self, request):
        ctx, experiment = _context(request), plugin_util.experiment_id(request.environ)
        out = []
        for run, tags in sorted(self._nnkit_runs(ctx, experiment).items()):
            folder = run_files.run_folder(self._logdir, run)
            status, findings = run_files.findings(folder)
            quantities = [q for q in QUANTITIES if any(t.startswith(q + "/") for t in tags)]
            with_gradients = [k for k in run_files.layer_keys(folder, tags)
                              if f"grad_norm/{k}" in tags]
            out.append({"run": run, "name": run_files.display_name(run), "status": status,
                        "layers": len(with_gradients),
                        "findings": len(findings), "quantities": quantities})
        return http_util.Respond(request, {"runs": out}, "application/json")

    @wrappers.Request.application
    def _matrix_route(self, request):
        quantity = _quantity(request)
        columns = _int_arg(request, "columns", DEFAULT_COLUMNS, 1, MAX_COLUMNS)
        body = self._matrix(_context(request), plugin_util.experiment_id(request.environ),
                            _arg(request, "run"), quantity, columns)
        return http_util.Respond(request, body, "application/json")

    @wrappers.Request.application
    def _profile_route(self, request):
        ctx, experiment = _context(request), plugin_util.experiment_id(request.environ)
        quantity, step = _quantity(request), _int_arg(request, "step", 0, 0, 2**62)
        wanted = request.args.getlist("run")
        if not wanted:
            raise errors.InvalidArgumentError("give at least one run=")
        matrices = [self._matrix(ctx, experiment, run, quantity, DEFAULT_COLUMNS)
                    for run in wanted]
        keys = merged_order([m["layers"] for m in matrices])
        profiles = []
        for matrix in matrices:
            at, values = profile_at(matrix, step)
            by_key = dict(zip(matrix["layers"], values))
            profiles.append({"run": matrix["run"], "name": matrix["name"], "step": at,
                             "values": [by_key.get(key) for key in keys]})
        return http_util.Respond(request, {"quantity": quantity, "log": QUANTITIES[quantity].log,
                                           "layers": keys, "runs": profiles},
                                 "application/json")

    @wrappers.Request.application
    def _dynamics_route(self, request):
        ctx, experiment = _context(request), plugin_util.experiment_id(request.environ)
        run = _arg(request, "run")
        columns = _int_arg(request, "columns", DEFAULT_COLUMNS, 1, MAX_COLUMNS)
        tags = self._nnkit_runs(ctx, experiment).get(run)
        if tags is None:
            raise errors.NotFoundError(f"no run {run!r} with nnkit's per-layer tags")
        wanted = [t for _, chart in DYNAMICS.values() for t in chart if t in tags]
        read = self._data.read_scalars(
            ctx, experiment_id=experiment, plugin_name=_SCALARS, downsample=_READ_ALL,
            run_tag_filter=provider.RunTagFilter(runs=[run], tags=wanted)).get(run, {}) \
            if wanted else {}
        series = {tag: (np.array([d.step for d in data]), np.array([d.value for d in data]))
                  for tag, data in read.items()}
        charts = []
        for name, (quantity, chart) in DYNAMICS.items():
            rows = [t for t in chart if t in series]
            if rows:
                matrix = layer_matrix(series, rows, "grad_norm", columns, quantity.log)
                charts.append({**matrix, "quantity": name, "title": quantity.title})
        return http_util.Respond(request, {"run": run, "charts": charts}, "application/json")

    @wrappers.Request.application
    def _through_time_route(self, request):
        ctx, experiment = _context(request), plugin_util.experiment_id(request.environ)
        run = _arg(request, "run")
        columns = _int_arg(request, "columns", DEFAULT_COLUMNS, 1, MAX_COLUMNS)
        listing = self._data.list_tensors(ctx, experiment_id=experiment,
                                          plugin_name=_HISTOGRAMS).get(run, {})
        wanted = sorted(t for t in listing if t.startswith(THROUGH_TIME + "/"))
        read = self._data.read_tensors(
            ctx, experiment_id=experiment, plugin_name=_HISTOGRAMS, downsample=_READ_ALL,
            run_tag_filter=provider.RunTagFilter(runs=[run], tags=wanted)).get(run, {}) \
            if wanted else {}
        folder = run_files.run_folder(self._logdir, run)
        order = run_files.layer_keys(folder, [f"grad_norm/{t.split('/', 1)[1]}" for t in read])
        _, findings = run_files.findings(folder)
        charts = []
        for key in order:
            data = read.get(f"{THROUGH_TIME}/{key}")
            if data:
                matrix = time_matrix([d.step for d in data], [d.numpy for d in data], columns)
                charts.append({**matrix, "layer": key,
                               "title": f"‖∂L/∂hₜ‖ through time: {key}",
                               "findings": [f for f in findings if f.get("layer") == key]})
        return http_util.Respond(request, {"run": run, "charts": charts}, "application/json")

    @wrappers.Request.application
    def _static_route(self, request):
        """A file of ``static/`` by its bare name (no folders: nothing else can be reached)."""
        name = request.path.rsplit("/static/", 1)[-1]
        path = STATIC / name
        if "/" in name or "\\" in name or name.startswith(".") or not path.is_file():
            return http_util.Respond(request, "Not found", "text/plain", code=404)
        kind = "text/javascript" if name.endswith(".js") else mimetypes.guess_type(name)[0]
        return http_util.Respond(request, path.read_bytes(), kind or "text/plain")


def _context(request):
    if request is None:  # is_active, called outside a request
        return request_context.RequestContext()
    return plugin_util.context(request.environ)


def _arg(request, name: str) -> str:
    value = request.args.get(name)
    if not value:
        raise errors.InvalidArgumentError(f"missing {name}=")
    return value


def _quantity(request) -> str:
    quantity = request.args.get("quantity", "grad_norm")
    if quantity not in QUANTITIES:
        raise errors.InvalidArgumentError(
            f"quantity={quantity!r}: expected one of {', '.join(QUANTITIES)}")
    return quantity


def _int_arg(request, name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    try:
        value = default if raw is None else int(raw)
    except ValueError:
        raise errors.InvalidArgumentError(f"{name}={raw!r}: expected an integer") from None
    if not low <= value <= high:
        raise errors.InvalidArgumentError(f"{name}={value}: expected {low} to {high}")
    return value
