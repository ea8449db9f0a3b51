"""User files: CSV with a named target column, NPZ with ``x`` and ``y`` arrays."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from nnkit.data.errors import DataError


def _open(path: str) -> Path:
    file = Path(path).expanduser()
    if not file.is_file():
        raise DataError(f"data.path: file not found: {file}")
    return file


def _labels(column: list[str]) -> np.ndarray:
    """Numeric targets stay numbers; text labels become class indices (sorted names)."""
    try:
        return np.asarray([float(v) for v in column], dtype="float64")
    except ValueError:
        classes = sorted(set(column))
        index = {name: i for i, name in enumerate(classes)}
        return np.asarray([index[v] for v in column], dtype="int64")


def read_csv(path: str, target: str):
    """Features are every column but ``target``; all of them must be numeric."""
    file = _open(path)
    with file.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise DataError(f"data.path: {file} has no data rows")
    columns = list(rows[0])
    if target not in columns:
        raise DataError(f"data.target: column '{target}' is not in {file}; columns: "
                        f"{', '.join(columns)}")
    features = [c for c in columns if c != target]
    try:
        x = np.asarray([[float(row[c]) for c in features] for row in rows], dtype="float32")
    except (TypeError, ValueError) as error:
        raise DataError(f"data.path: {file}: feature columns must be numeric ({error})") from None
    return x, _labels([row[target] for row in rows])


def read_npz(path: str, x_key: str, y_key: str):
    file = _open(path)
    with np.load(file, allow_pickle=False) as arrays:
        for key, name in ((x_key, "x_key"), (y_key, "y_key")):
            if key not in arrays:
                raise DataError(f"data.{name}: array '{key}' is not in {file}; arrays: "
                                f"{', '.join(arrays.files)}")
        x, y = arrays[x_key].astype("float32"), arrays[y_key]
    if len(x) != len(y):
        raise DataError(f"data.path: {file}: x has {len(x)} samples but y has {len(y)}")
    return x, y
