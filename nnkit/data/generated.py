"""Datasets generated on the fly from a seed: no files, no network.

Each generator returns ``(x, y)`` as NumPy arrays (x float32, y int64 labels or float32
targets) and is fully determined by its arguments and ``seed``.
"""

from __future__ import annotations

import numpy as np
from sklearn import datasets as sk


def spirals(n_samples: int, n_classes: int, turns: float, noise: float, seed: int):
    """``n_classes`` interleaved Archimedean spirals in the plane.

    In polar coordinates each arm is r = t, θ = 2π·turns·t + 2πk/n_classes with t ~ U(0, 1],
    so the classes are easy to separate in (r, θ) and hard in (x, y): the notes' example of a
    representation worth learning. Gaussian noise of std ``noise`` is added to x and y.
    """
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n_samples)
    t = rng.uniform(0.05, 1.0, n_samples)
    theta = 2 * np.pi * turns * t + 2 * np.pi * y / n_classes
    x = np.stack([t * np.cos(theta), t * np.sin(theta)], axis=1)
    x += rng.normal(0.0, noise, x.shape)
    return x.astype("float32"), y.astype("int64")


def moons(n_samples: int, noise: float, seed: int):
    """Two interleaving half circles (scikit-learn's ``make_moons``)."""
    x, y = sk.make_moons(n_samples=n_samples, noise=noise, random_state=seed)
    return x.astype("float32"), y.astype("int64")


def circles(n_samples: int, noise: float, factor: float, seed: int):
    """A circle of radius ``factor`` inside the unit circle (``make_circles``)."""
    x, y = sk.make_circles(n_samples=n_samples, noise=noise, factor=factor, random_state=seed)
    return x.astype("float32"), y.astype("int64")


def xor(n_samples: int, noise: float, seed: int):
    """x ~ U[-1, 1]², label 1 where x₁·x₂ > 0 (not linearly separable), inputs jittered."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, (n_samples, 2))
    y = (x[:, 0] * x[:, 1] > 0).astype("int64")
    x += rng.normal(0.0, noise, x.shape)
    return x.astype("float32"), y


def blobs(n_samples: int, centers: int, n_features: int, cluster_std: float, seed: int):
    """Isotropic Gaussian clusters (``make_blobs``), one class per centre."""
    x, y = sk.make_blobs(n_samples=n_samples, centers=centers, n_features=n_features,
                         cluster_std=cluster_std, random_state=seed)
    return x.astype("float32"), y.astype("int64")


def curve(n_samples: int, noise: float, seed: int):
    """Regression: y = sin(2πx) + x/2 + ε, x ~ U[-1, 1], ε ~ N(0, noise²)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, (n_samples, 1))
    y = np.sin(2 * np.pi * x) + 0.5 * x + rng.normal(0.0, noise, x.shape)
    return x.astype("float32"), y.astype("float32")
