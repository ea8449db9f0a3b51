"""Datasets by name: generated, bundled with scikit-learn, keras.datasets, or user files.

``load(config.data)`` returns a :class:`Dataset` split into train/validation/test and
standardised on the training split. The ``DATASETS`` registry lists every name.
"""

from __future__ import annotations

from nnkit.config.schema import DATA_KINDS
from nnkit.data import bundled, files, generated, keras_sets, sequences
from nnkit.data.errors import DataError
from nnkit.data.prepare import Dataset, infer_task, prepare
from nnkit.registry import Registry

DATASETS = Registry("dataset")
_PARAMS = {"name", "validation_split", "test_split", "standardize", "seed", "task"}


def _generated(fn, task):
    def load(cfg):
        params = {k: v for k, v in cfg.model_dump().items() if k not in _PARAMS}
        return (*fn(seed=cfg.seed, **params), task)
    return load


for _name, _loader, _description in [
    ("spirals", _generated(generated.spirals, "auto"), "interleaved spirals (generated)"),
    ("moons", _generated(generated.moons, "binary"), "two half moons (generated)"),
    ("circles", _generated(generated.circles, "binary"), "circle in a circle (generated)"),
    ("xor", _generated(generated.xor, "binary"), "XOR quadrants (generated)"),
    ("blobs", _generated(generated.blobs, "multiclass"), "Gaussian clusters (generated)"),
    ("curve", _generated(generated.curve, "regression"), "noisy 1-D regression (generated)"),
    ("adding", _generated(sequences.adding, "regression"),
     "the adding problem: sum two marked values of a sequence (generated)"),
    ("memory", _generated(sequences.memory, "multiclass"),
     "recall the first symbol after T - 1 blank steps (generated)"),
    ("copy", _generated(sequences.copy, "multiclass"),
     "the copy task: K symbols, a delay, then repeat them, a label per step (generated)"),
    ("tokens", _generated(sequences.tokens, "multiclass"),
     "token sequences to reverse or sort, one label per position (generated)"),
    ("digits_sequence", lambda c: (*sequences.digits_sequence(), "multiclass"),
     "the 8x8 digits read row by row: 8 steps of 8 pixels (scikit-learn)"),
    ("digits", lambda c: (*bundled.bundled("digits"), "multiclass"),
     "8x8 handwritten digits, 1797 images, 10 classes (scikit-learn)"),
    ("iris", lambda c: (*bundled.bundled("iris"), "multiclass"), "iris flowers (scikit-learn)"),
    ("wine", lambda c: (*bundled.bundled("wine"), "multiclass"), "wine cultivars (scikit-learn)"),
    ("breast_cancer", lambda c: (*bundled.bundled("breast_cancer"), "binary"),
     "breast cancer diagnosis (scikit-learn)"),
    ("mnist", lambda c: (*keras_sets.keras_dataset("mnist", c.limit), "multiclass"),
     "28x28 digits (keras.datasets; download or cache)"),
    ("fashion_mnist", lambda c: (*keras_sets.keras_dataset("fashion_mnist", c.limit),
                                 "multiclass"),
     "28x28 clothing (keras.datasets; download or cache)"),
    ("cifar10", lambda c: (*keras_sets.keras_dataset("cifar10", c.limit), "multiclass"),
     "32x32 colour images (keras.datasets; download or cache)"),
    ("csv", lambda c: (*files.read_csv(c.path, c.target), c.task),
     "a CSV file with a target column"),
    ("npz", lambda c: (*files.read_npz(c.path, c.x_key, c.y_key), c.task),
     "a NumPy .npz file with x and y"),
]:
    DATASETS.register(_name, _description, _loader)


def load(cfg) -> Dataset:
    """The dataset described by a validated ``data`` config section."""
    x, y, task = DATASETS.get(cfg.name)(cfg)
    dataset = prepare(cfg.name, x, y, task, cfg.validation_split, cfg.test_split,
                      cfg.standardize, cfg.seed)
    dataset.kind = DATA_KINDS.get(cfg.name, "vectors")
    if cfg.name in ("csv", "npz") and len(dataset.input_shape) == 2:
        dataset.kind = "sequences"  # [samples, time, features]
    if dataset.kind == "tokens":
        dataset.vocabulary = cfg.vocabulary
    return dataset


__all__ = ["DATASETS", "DataError", "Dataset", "infer_task", "load", "prepare"]
