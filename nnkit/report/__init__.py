"""``nnkit report``: plots and the diagnosis table for one or many runs.

Works on folders of ``nnkit run``, ``sweep`` and ``tune``: every folder at or below the given
paths that holds ``train/`` event files is a run.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from nnkit.findings import steps_text, summary_text
from nnkit.instrument.flow_plot import to_png as _png
from nnkit.report import figures
from nnkit.report.reader import Run, find_runs, label_runs, read_run
from nnkit.training.run_dir import write_atomic


def _diagnosis_rows(runs: list[Run]) -> list[tuple[str, str, str, str, str]]:
    """(run, status, finding, where, details) per finding, or one row saying why none."""
    rows = []
    for run in runs:
        metrics = run.metrics
        findings, status = metrics.get("diagnosis"), metrics.get("status", "unknown")
        for f in findings or []:
            state = "recovered" if f.get("recovered") else "at the end"
            rows.append((run.label, status, f["kind"], f"{f['layer']} @ {steps_text(f)} ({state})",
                         f"{f['message']}. Try: {f['remedy']}"))
        if not findings:
            rows.append((run.label, status, "-", "-", _why_no_findings(metrics)))
    return rows


def _why_no_findings(metrics: dict) -> str:
    if metrics.get("diagnosis") == []:
        return summary_text([], metrics.get("diagnosis_checked") or {
            "gradient_windows": 1, "activation_steps": 1, "epochs": 1})
    if not metrics:
        return "not diagnosed: no metrics.json"
    if "error" in metrics:
        return f"not diagnosed, the run stopped: {metrics['error']}"
    return "not diagnosed (logging.instrument: false)"


def _html(runs: list[Run], images: dict[str, bytes]) -> str:
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>nnkit report</title>",
             "<meta name='viewport' content='width=device-width'>",
             "<style>body{font-family:sans-serif;margin:1.5em;font-size:15px}td,th{border:1px "
             "solid #ccc;padding:4px 8px;font-size:14px;text-align:left;vertical-align:top}"
             "table{border-collapse:collapse}img{max-width:100%;height:auto}</style></head>",
             f"<body><h1>nnkit report</h1><p>{len(runs)} run(s)</p>",
             "<table><tr><th>run</th><th>differs by</th><th>status</th></tr>"]
    for run in runs:
        parts.append(f"<tr><td>{html.escape(run.name)}</td><td>{html.escape(run.label)}</td>"
                     f"<td>{html.escape(str(run.metrics.get('status', 'unknown')))}</td></tr>")
    parts.append("</table>")
    for title, png in images.items():
        data = base64.b64encode(png).decode()
        parts.append(f"<h2>{html.escape(title)}</h2><img src='data:image/png;base64,{data}'>")
    parts.append("<h2>Diagnosis</h2><table><tr><th>run</th><th>finding</th>"
                 "<th>where</th><th>details</th></tr>")
    for label, _status, *rest in _diagnosis_rows(runs):  # the status is in the runs table
        parts.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in (label, *rest))
                     + "</tr>")
    parts.append("</table></body></html>")
    return "\n".join(parts)


FORMATS = (".html", ".htm", ".png")


def write_report(paths: list[str | Path], out: str | Path) -> Path:
    """Write an HTML page (or, for a ``.png`` name, the same page as one image) about the
    runs under ``paths``; ``out`` appears whole or not at all."""
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise ValueError(f"--out {out}: a report is written as {', '.join(FORMATS)}")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"--out {out}: no folder {out.parent}")
    found = find_runs(paths)
    if not found:
        raise FileNotFoundError(f"no run folders (with train/ event files) under "
                                f"{', '.join(map(str, paths))}")
    root = Path(paths[0]) if len(paths) == 1 else None
    runs = label_runs([read_run(path, root) for path in found])
    images = {"Gradient norm per layer over time": _png(figures.norms_over_time(runs)),
              "Depth × step: log10 gradient norm": _png(figures.heatmaps(runs)),
              "Final gradient flow": _png(figures.final_flow(runs)),
              "Loss": _png(figures.loss_curves(runs))}
    if figures.has_dynamics(runs):
        images["Dynamics: curvature, gradient noise, effective rank"] = _png(
            figures.dynamics(runs))
    if figures.has_through_time(runs):
        images["Through time: ‖∂L/∂hₜ‖ against t, recurrent layers"] = _png(
            figures.through_time(runs))
    if out.suffix.lower() == ".png":  # the same page as one image, the table as text
        table = _png(figures.diagnosis_text(_diagnosis_rows(runs)))
        write_atomic(out, figures.stacked([*images.values(), table]))
    else:
        write_atomic(out, _html(runs, images))
    return out


__all__ = ["Run", "find_runs", "label_runs", "read_run", "write_report"]
