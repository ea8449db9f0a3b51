"""Layer keys across runs: the file that lists a run's layers, and several runs' depth
orders merged into one. Light (no TensorFlow): the dashboard's server, the report and the
instrumentation all read it."""

from __future__ import annotations

LAYERS_FILE = "layers.json"  # in the run folder: the planned layers, in depth order


def merged_order(orders: list[list[str]]) -> list[str]:
    """The keys of several depth orders in one order that keeps each: a key the others
    lack goes right before the next key of its own run that is already placed (a batch
    norm after its dense layer, an extra hidden layer before the output)."""
    merged: list[str] = []
    for order in orders:
        for i, key in enumerate(order):
            if key not in merged:
                after = next((merged.index(k) for k in order[i + 1:] if k in merged),
                             len(merged))
                merged.insert(after, key)
    return merged
