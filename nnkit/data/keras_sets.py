"""Optional ``keras.datasets`` sets: used when cached in ~/.keras/datasets or online."""

from __future__ import annotations

import numpy as np

from nnkit.data.errors import DataError

_FILES = {"mnist": "mnist.npz", "fashion_mnist": "fashion-mnist", "cifar10": "cifar-10-batches-py"}


def keras_dataset(name: str, limit: int | None):
    """Train and test parts joined (nnkit re-splits with the config's fractions)."""
    import keras

    loader = getattr(keras.datasets, name)
    try:
        (x_train, y_train), (x_test, y_test) = loader.load_data()
    except Exception as error:  # download failures come as many exception types
        raise DataError(
            f"data.name: cannot load keras.datasets.{name}: it is not cached in "
            f"~/.keras/datasets ({_FILES[name]}) and could not be downloaded ({error}). "
            "Run once with network access, or use a bundled dataset such as digits"
        ) from None
    x = np.concatenate([x_train, x_test]).astype("float32") / 255.0
    y = np.concatenate([y_train, y_test]).reshape(-1).astype("int64")
    if x.ndim == 3:
        x = x[..., None]
    if limit is not None:
        x, y = x[:limit], y[:limit]
    return x, y
