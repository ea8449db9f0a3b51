"""Datasets that ship inside scikit-learn: read from the installed package, never downloaded."""

from __future__ import annotations

from sklearn import datasets as sk

_LOADERS = {
    "digits": sk.load_digits,  # 1797 8×8 grey images, 10 classes
    "iris": sk.load_iris,  # 150 samples, 4 features, 3 classes
    "wine": sk.load_wine,  # 178 samples, 13 features, 3 classes
    "breast_cancer": sk.load_breast_cancer,  # 569 samples, 30 features, 2 classes
}


def bundled(name: str):
    """(x, y) of a bundled set; digits keeps its image shape (n, 8, 8, 1) for conv nets."""
    bunch = _LOADERS[name]()
    x, y = bunch.data.astype("float32"), bunch.target.astype("int64")
    if name == "digits":
        x = x.reshape(-1, 8, 8, 1)
    return x, y
