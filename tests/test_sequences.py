"""The generated sequence tasks: each sample's label is what the task says, from its inputs."""

import numpy as np
import pytest

from nnkit.data import sequences


def test_adding_sums_the_two_marked_values_one_in_each_half():
    x, y = sequences.adding(200, 12, seed=0)
    assert x.shape == (200, 12, 2) and y.shape == (200,)
    markers = x[..., 1]
    assert np.all(markers.sum(axis=1) == 2)
    assert np.all(markers[:, :6].sum(axis=1) == 1) and np.all(markers[:, 6:].sum(axis=1) == 1)
    np.testing.assert_allclose(y, (x[..., 0] * markers).sum(axis=1), rtol=1e-6)
    assert np.var(y) == pytest.approx(2 / 12, rel=0.25)  # Var(u₁ + u₂): the baseline MSE


def test_memory_labels_the_first_step_and_blanks_the_rest():
    x, y = sequences.memory(100, 7, 5, seed=1)
    assert x.shape == (100, 7, 6)
    np.testing.assert_array_equal(x[:, 0, :5].argmax(axis=1), y)
    assert np.all(x[:, 1:, 5] == 1) and np.all(x[:, 1:, :5] == 0)


def test_copy_repeats_the_shown_symbols_after_the_delimiter():
    x, y = sequences.copy(50, symbols=3, delay=4, n_symbols=6, seed=2)
    assert x.shape == (50, 10, 8) and y.shape == (50, 10)
    np.testing.assert_array_equal(x.sum(axis=2), 1)  # one channel on at every step
    shown = x[:, :3, :6].argmax(axis=2)
    np.testing.assert_array_equal(y[:, -3:], shown)
    assert np.all(y[:, :-3] == 6)  # the blank class before
    assert np.all(x[:, 7, 7] == 1)  # the delimiter at 2K + T - K = 7


@pytest.mark.parametrize("problem", ["reverse", "sort"])
def test_tokens_are_reversed_or_sorted(problem):
    x, y = sequences.tokens(40, 6, 9, problem, seed=3)
    expected = x[:, ::-1] if problem == "reverse" else np.sort(x, axis=1)
    np.testing.assert_array_equal(y, expected.astype("int64"))
    assert x.min() >= 0 and x.max() < 9
