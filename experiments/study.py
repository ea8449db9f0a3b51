"""Shared machinery of the studies: run a study config's sweep, read it back, report.

A study is ``configs/studies/<name>.yaml`` (a config whose ``sweep:`` section lists the
variants) plus ``experiments/<name>.py``, which calls :func:`run_study`, measures the claim
from the run folders, and calls :func:`write_results`. Only nnkit's public API is used.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")

import nnkit  # noqa: E402,F401
from nnkit.config import load_config  # noqa: E402
from nnkit.report import read_run  # noqa: E402
from nnkit.sweeping import run_sweep  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "results"


@dataclass
class StudyRun:
    values: dict
    folder: Path
    status: str
    data: object  # nnkit.report.Run: scalars and metrics


def arguments(description: str, argv=None):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="small sizes (about 30 s)")
    parser.add_argument("--out", type=Path, help="results folder (default: experiments/results/<study>)")
    parser.add_argument("--logdir", default=os.environ.get("NNKIT_STUDY_LOGDIR", "logs"),
                        help="where the runs are logged")
    return parser.parse_args(argv)


def run_study(name: str, args, quick: list[str], extra: list[str] = ()) -> list[StudyRun]:
    """Run ``configs/studies/<name>.yaml``'s sweep (with ``quick`` overrides if asked)."""
    config_path = ROOT / "configs" / "studies" / f"{name}.yaml"
    overrides = [*(quick if args.quick else []), *extra, f"experiment.log_dir={args.logdir}"]
    config = load_config(config_path, overrides)
    result = run_sweep(config_path, overrides, config, new=True,  # a study measures afresh
                       log=lambda line: print(line, file=sys.stderr))
    runs = []
    for row in result.rows:
        folder = Path(row["folder"])
        values = {k: row[k] for k in config.sweep}
        runs.append(StudyRun(values, folder, row["status"], read_run(folder)))
    return runs


def write_results(name: str, args, claim: str, held: bool, table: list[dict],
                  figure=None, notes: str = "") -> Path:
    """results.md (claim, verdict, table) and figure.png in the study's results folder."""
    out = args.out or RESULTS / (f"{name}-quick" if args.quick else name)
    out.mkdir(parents=True, exist_ok=True)
    columns = list(table[0]) if table else []
    lines = [f"# {name.replace('_', ' ').capitalize()}", "", f"**Claim.** {claim}", "",
             f"**Result.** {'The claim held.' if held else 'The claim did NOT hold.'} "
             f"({'quick' if args.quick else 'default'} size)", ""]
    if table:
        lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        for row in table:
            cells = [f"{v:.3g}" if isinstance(v, float) else str(v) for v in row.values()]
            lines.append("| " + " | ".join(cells) + " |")
    if notes:
        lines += ["", notes]
    if figure is not None:
        figure.savefig(out / "figure.png", dpi=90, bbox_inches="tight")
        lines += ["", "![figure](figure.png)"]
    (out / "results.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{name}: claim {'held' if held else 'did not hold'}; results: {out}")
    return out


def spread(values) -> str:
    """"mean ± std" over seeds, as results.md writes it."""
    values = np.asarray(values, float)
    return f"{values.mean():.3g} ± {values.std():.2g}"


def clauses_text(clauses: dict[str, bool]) -> str:
    """The verdict's clauses, one line each, for results.md."""
    return "Clauses:\n\n" + "\n".join(f"- {'held' if ok else 'did NOT hold'}: {clause}"
                                      for clause, ok in clauses.items())


def layer_series(run, prefix: str) -> dict[str, list[float]]:
    """Values of ``<prefix>/<layer>`` tags (per-layer, depth order) from a run's train/ events."""
    return {key: list(values) for key, (_, values) in run.data.layer_series(prefix).items()}
