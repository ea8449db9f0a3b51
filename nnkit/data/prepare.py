"""From raw arrays to a ready :class:`Dataset`: task, split, standardisation.

Standardisation x' = (x - μ) / σ uses μ and σ of the *training split only*: fitting them on
all data would leak information about the validation and test sets into training, and make
their scores optimistic (the notes' reason). Features with σ = 0 are only centred.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nnkit.data.errors import DataError


@dataclass
class Dataset:
    """Train/validation/test arrays and what the model needs to know about them."""

    name: str
    task: str  # binary | multiclass | regression
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int = 0
    kind: str = "vectors"  # vectors | sequences [time, features] | tokens (integer ids)
    vocabulary: int = 0  # tokens: the number of distinct ids
    mean: np.ndarray | None = field(default=None, repr=False)
    std: np.ndarray | None = field(default=None, repr=False)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def output_size(self) -> int:
        if self.task == "multiclass":
            return self.n_classes
        return 1 if self.y_train.ndim == 1 else int(self.y_train.shape[1])

    def splits(self):
        """(name, x, y) for each non-empty split."""
        for name in ("train", "val", "test"):
            x, y = getattr(self, f"x_{name}"), getattr(self, f"y_{name}")
            if len(x):
                yield name, x, y


def infer_task(y: np.ndarray) -> str:
    """binary for two integer classes, multiclass for more, regression for real targets."""
    values = np.unique(y)
    integral = np.issubdtype(y.dtype, np.integer) or np.all(np.mod(values, 1) == 0)
    if y.ndim > 1 and y.shape[1] > 1:
        return "regression"
    if integral and len(values) <= max(2, min(100, len(y) // 5)):
        return "binary" if len(values) <= 2 else "multiclass"
    return "regression"


def _encode_labels(y: np.ndarray, task: str) -> tuple[np.ndarray, int]:
    if task == "regression":
        return y.astype("float32"), 0
    classes, encoded = np.unique(y.reshape(-1), return_inverse=True)
    if task == "binary" and len(classes) > 2:
        raise DataError(f"data.task: 'binary' but the labels have {len(classes)} classes")
    return encoded.reshape(y.shape).astype("int64"), len(classes)


def split_indices(n: int, validation: float, test: float, seed: int):
    """Shuffled (train, validation, test) index arrays; each held-out part gets ≥ 1 sample."""
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(round(n * test)) if test > 0 else 0
    n_val = int(round(n * validation)) if validation > 0 else 0
    n_test, n_val = max(n_test, 1 if test > 0 else 0), max(n_val, 1 if validation > 0 else 0)
    if n - n_test - n_val < 1:
        raise DataError(f"data: {n} samples are too few for these validation/test fractions")
    return order[n_test + n_val:], order[n_test:n_test + n_val], order[:n_test]


def prepare(name: str, x: np.ndarray, y: np.ndarray, task: str, validation: float,
            test: float, standardize: bool, seed: int) -> Dataset:
    """Split (seeded), standardise on the training split, and encode labels."""
    x = np.asarray(x, dtype="float32")
    y = np.asarray(y)
    if len(x) != len(y):
        raise DataError(f"data: x has {len(x)} samples but y has {len(y)}")
    if not np.all(np.isfinite(x)):
        raise DataError("data: the features contain NaN or infinite values")
    task = infer_task(y) if task == "auto" else task
    y, n_classes = _encode_labels(y, task)
    train, val, test_idx = split_indices(len(x), validation, test, seed)
    data = Dataset(name, task, x[train], y[train], x[val], y[val], x[test_idx], y[test_idx],
                   n_classes)
    if standardize:
        data.mean = data.x_train.mean(axis=0)
        std = data.x_train.std(axis=0)
        data.std = np.where(std > 0, std, 1.0).astype("float32")
        for part in ("train", "val", "test"):
            values = getattr(data, f"x_{part}")
            setattr(data, f"x_{part}", ((values - data.mean) / data.std).astype("float32"))
    return data
