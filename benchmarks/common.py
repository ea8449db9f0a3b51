"""Timing helpers for benchmarks: alternate candidate and baseline, report median ratios.

These machines are noisy (±30% run to run), so a benchmark never compares numbers taken at
different times: it alternates the two programs in one process and reports the median of
the paired ratios.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable


def paired_ratio(candidate: Callable[[], float | None], baseline: Callable[[], float | None],
                 repeats: int = 5) -> dict:
    """Median of candidate/baseline time ratios over ``repeats`` alternated pairs.

    Both callables are run once first (compilation, caches). The order within a pair
    alternates so that neither side always runs second. A callable may return the seconds
    it wants counted (e.g. only the training steps); otherwise its wall time counts.
    """
    candidate()
    baseline()
    ratios, candidate_times, baseline_times = [], [], []
    for i in range(repeats):
        order = [(candidate, candidate_times), (baseline, baseline_times)]
        for fn, times in (order if i % 2 == 0 else order[::-1]):
            start = time.perf_counter()
            measured = fn()
            elapsed = time.perf_counter() - start
            times.append(measured if isinstance(measured, float) else elapsed)
        ratios.append(candidate_times[-1] / baseline_times[-1])
    return {"ratio": statistics.median(ratios),
            "candidate_s": statistics.median(candidate_times),
            "baseline_s": statistics.median(baseline_times)}


class StepTimer:
    """A Keras callback timing from the first batch's start to the epoch's end.

    Per-run work (compilation, a callback's start and end) is left out, so two ``fit`` calls
    compare by their training steps; work callbacks defer to the epoch's end (writing the
    statistics the steps stored) counts. Place it last.
    """

    def __new__(cls):
        import keras

        class _Timer(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                if batch == 0:
                    self.start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.end = time.perf_counter()

            @property
            def seconds(self) -> float:
                return self.end - self.start

        return _Timer()


def benchmark_parser(doc: str, models: dict, repeats: int):
    """The arguments every model benchmark takes: ``--repeats``, ``--quick``, ``--models``
    (a comma-separated subset of ``models``' names); add your own, then parse."""
    import argparse

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=repeats, help="alternated pairs")
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--models", default=",".join(models),
                        help="comma-separated subset of: " + ", ".join(models))
    return parser
