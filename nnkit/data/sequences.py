"""Sequence tasks generated from a seed: samples of shape (time, features).

The classic tests of memory through time, where the answer depends on inputs many steps
back, so the gradient must travel back that far:

* :func:`adding`: the adding problem (Hochreiter & Schmidhuber 1997);
* :func:`memory`: recall a symbol shown at the first step after T - 1 blank steps (the
  copy/memory task with one symbol and one answer);
* :func:`copy`: the copy task (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016): K
  symbols, a delay, then reproduce them, a label per step;
* :func:`tokens`: reverse or sort a sequence of token ids, one label per position (a
  small task for a Transformer, where every output attends to other positions);
* :func:`digits_sequence`: scikit-learn's 8 × 8 digits read row by row (8 steps of 8
  pixels), the small cousin of sequential MNIST.
"""

from __future__ import annotations

import numpy as np

from nnkit.data.bundled import bundled


def adding(n_samples: int, length: int, seed: int):
    """x [n, T, 2]: channel 0 values uᵢ ~ U[0, 1], channel 1 a marker that is 1 at two
    steps (one in each half of the sequence) and 0 elsewhere; y = the sum of the two
    marked values (regression). Always predicting E[y] = 1 has mean squared error
    Var(u₁ + u₂) = 2/12 ≈ 0.167: a model must beat that to have solved anything."""
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.0, 1.0, (n_samples, length))
    half = max(length // 2, 1)
    first = rng.integers(0, half, n_samples)
    second = rng.integers(half, length, n_samples) if length > 1 else first
    markers = np.zeros((n_samples, length))
    markers[np.arange(n_samples), first] = 1.0
    markers[np.arange(n_samples), second] = 1.0
    y = values[np.arange(n_samples), first] + values[np.arange(n_samples), second]
    return np.stack([values, markers], axis=-1).astype("float32"), y.astype("float32")


def memory(n_samples: int, length: int, n_symbols: int, seed: int):
    """x [n, T, n_symbols + 1]: a one-hot symbol at t = 1, then T - 1 steps of the blank
    (the last channel); y = the symbol (n_symbols classes). Chance accuracy 1/n_symbols:
    only a gradient that reaches t = 1 can learn it."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_symbols, n_samples)
    x = np.zeros((n_samples, length, n_symbols + 1), "float32")
    x[np.arange(n_samples), 0, y] = 1.0
    x[:, 1:, n_symbols] = 1.0
    return x, y.astype("int64")


def copy(n_samples: int, symbols: int, delay: int, n_symbols: int, seed: int):
    """x [n, 2K + T, n_symbols + 2]: K one-hot symbols, T blanks, a delimiter, then K - 1
    more blanks (channels: the symbols, the blank, the delimiter); y [n, 2K + T]: the blank
    class (n_symbols) everywhere but the last K steps, which must repeat the K symbols.
    Always predicting the blank, then a uniform guess, costs K·ln(n_symbols) / (2K + T) per
    step (Arjovsky et al. 2016's baseline)."""
    rng = np.random.default_rng(seed)
    length = 2 * symbols + delay
    shown = rng.integers(0, n_symbols, (n_samples, symbols))
    x = np.zeros((n_samples, length, n_symbols + 2), "float32")
    rows = np.arange(n_samples)[:, None]
    x[rows, np.arange(symbols)[None, :], shown] = 1.0
    x[:, symbols:, n_symbols] = 1.0  # blanks
    x[:, symbols + delay, n_symbols] = 0.0
    x[:, symbols + delay, n_symbols + 1] = 1.0  # the delimiter: "now repeat"
    y = np.full((n_samples, length), n_symbols, "int64")
    y[:, -symbols:] = shown
    return x, y


def digits_sequence():
    """The digits as sequences: 8 steps (rows) of 8 pixels, 10 classes."""
    x, y = bundled("digits")
    return x.reshape(-1, 8, 8), y


def tokens(n_samples: int, length: int, vocabulary: int, problem: str, seed: int):
    """x [n, T] token ids uniform in 0 … V - 1 (stored as floats; an Embedding reads them
    as integers); y [n, T]: x reversed (``reverse``: position t must attend to T - 1 - t)
    or sorted (``sort``: each output depends on every input). Chance accuracy 1/V."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, vocabulary, (n_samples, length))
    y = x[:, ::-1] if problem == "reverse" else np.sort(x, axis=1)
    return x.astype("float32"), np.ascontiguousarray(y).astype("int64")
