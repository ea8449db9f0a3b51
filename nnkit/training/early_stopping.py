"""Keras' early stopping, with a state that checkpoints save and a resumed run restores."""

from __future__ import annotations

import keras
import numpy as np


class EarlyStopping(keras.callbacks.EarlyStopping):
    """``keras.callbacks.EarlyStopping`` whose patience counter, best value, best epoch and
    best weights survive ``nnkit run --resume`` (see :mod:`nnkit.training.checkpoint`)."""

    def checkpoint_state(self) -> tuple[dict, list[np.ndarray]]:
        best = None if self.best is None else float(self.best)
        state = {"wait": int(self.wait), "stopped_epoch": int(self.stopped_epoch),
                 "best": best, "best_epoch": int(self.best_epoch),
                 "has_best_weights": self.best_weights is not None}
        return state, list(self.best_weights or [])

    def restore_checkpoint_state(self, state: dict, arrays: list[np.ndarray]) -> None:
        self.wait, self.stopped_epoch = state["wait"], state["stopped_epoch"]
        self.best, self.best_epoch = state["best"], state["best_epoch"]
        self.best_weights = list(arrays) if state["has_best_weights"] else None
