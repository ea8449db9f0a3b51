"""Run folders: ``<log dir>/<experiment name>/<run id>/``, never reused."""

from __future__ import annotations

import csv
import json
import os
import secrets
import tempfile
import time
from pathlib import Path

from nnkit import strict_json


from nnkit.errors import RunDirError


def check_writable(log_dir: str | Path) -> Path:
    """The log folder, created if needed, after checking that files can be written in it."""
    path = Path(log_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".nnkit-write-test-"):
            pass
    except OSError as error:
        raise RunDirError(f"experiment.log_dir: cannot write to '{path}': "
                          f"{error.strerror or error}") from None
    return path


def create_run_dir(log_dir: str | Path, experiment: str, prefix: str = "") -> Path:
    """A new, empty folder ``<log_dir>/<experiment>/<prefix><YYYYmmdd-HHMMSS>-<random>``.

    The random suffix and ``mkdir(exist_ok=False)`` guarantee that two runs started at the
    same moment never share a folder.
    """
    parent = check_writable(log_dir) / experiment
    parent.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for _ in range(100):
        path = parent / f"{prefix}{stamp}-{secrets.token_hex(3)}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise RunDirError(f"experiment.log_dir: could not create a new run folder in {parent}")


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` through a temporary file, so readers never
    see half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    os.replace(tmp, path)


def write_json(path: Path, data: dict) -> None:
    """Strict JSON (non-finite numbers as null, listed under ``non_finite``), atomically."""
    write_atomic(path, strict_json.dumps(data, indent=2) + "\n")


def read_metrics(run_dir: Path) -> dict:
    """A run folder's ``metrics.json``, or {} when it has none or it cannot be read."""
    try:
        return json.loads((Path(run_dir) / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def write_csv(path: Path, rows: list[dict]) -> None:
    """A table of ``rows``; the columns are every key any row has, in order of appearance."""
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)
