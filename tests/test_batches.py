"""The training batches: each epoch's order depends on (seed, epoch) only."""

import numpy as np

from nnkit.data.batches import steps_per_epoch, training_batches


def _epochs(first, last, shuffle=True, seed=5, n=23, batch=5):
    x = np.arange(n, dtype="float32")[:, None]
    y = np.arange(n)
    dataset = training_batches(x, y, batch, seed=seed, shuffle=shuffle, first_epoch=first,
                               epochs=last)
    batches = [(bx.numpy()[:, 0].astype(int), by.numpy()) for bx, by in dataset]
    per_epoch = steps_per_epoch(n, batch)
    assert len(batches) == (last - first) * per_epoch
    for bx, by in batches:
        np.testing.assert_array_equal(bx, by)  # x and y stay paired
    return [np.concatenate([b[1] for b in batches[i:i + per_epoch]])
            for i in range(0, len(batches), per_epoch)], [len(b[1]) for b in batches]


def test_each_epoch_visits_every_sample_once_with_a_partial_last_batch():
    orders, sizes = _epochs(0, 3)
    for order in orders:
        assert sorted(order) == list(range(23))
    assert sizes[:5] == [5, 5, 5, 5, 3]
    assert not np.array_equal(orders[0], orders[1])  # reshuffled every epoch


def test_starting_at_a_later_epoch_gives_the_same_batches():
    from_start, _ = _epochs(0, 4)
    resumed, _ = _epochs(2, 4)
    for a, b in zip(from_start[2:], resumed):
        np.testing.assert_array_equal(a, b)


def test_the_seed_changes_the_order_and_no_shuffle_keeps_it():
    assert not np.array_equal(_epochs(0, 1, seed=5)[0][0], _epochs(0, 1, seed=6)[0][0])
    np.testing.assert_array_equal(_epochs(0, 2, shuffle=False)[0][1], np.arange(23))
