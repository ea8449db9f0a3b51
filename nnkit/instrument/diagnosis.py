"""The diagnosis over the whole run, online: episodes of every condition, with evidence.

:class:`Diagnosis` is fed what the recorder writes out (at each epoch's end, and when its
row store fills): the gradient rows are cut into windows of 32 logged steps, aligned to
the step number (so a resumed run cuts them where an uninterrupted one does); each
histogram step's activation statistics and each epoch's loss are one observation. Every
observation goes through the detectors (:mod:`.detectors`) and into episodes
(:mod:`.episodes`). :meth:`Diagnosis.findings` words them (:mod:`.findings`), and
:attr:`coverage` says what was checked, so that "no problems found" is said only of a run
whose gradients, activations and loss were all looked at.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from nnkit.instrument.detectors import (ActivationRow, EpochRow, GradientWindow, Thresholds,
                                        TimeWindow, verdicts)
from nnkit.instrument.episodes import Episode, Episodes
from nnkit.findings import CAUSES, KINDS, Finding, summary_text

WINDOW_ROWS = 32  # logged steps per gradient window


def _trend_words(d: dict, toward: str) -> str:
    """"shrinks 3.1× per layer toward the input over 11 layers"."""
    factor = d["per_layer"] if toward == "output" else 1.0 / d["per_layer"]
    change = f"shrinks {1 / factor:.2g}×" if factor < 1 else f"grows {factor:.2g}×"
    return f"{change} per layer toward the {toward} over {d['kernels']} layers"


def _message(e: Episode, t: Thresholds, probe_samples: int | None) -> tuple[str, float | None]:
    """(what the episode's peak shows, the threshold it crossed)."""
    d = e.detail
    if e.kind in ("vanishing_gradients", "exploding_gradients") and e.where != "global":
        threshold = t.vanishing if e.kind == "vanishing_gradients" else t.exploding
        return (f"‖∇W‖/‖W‖ {_trend_words(d, 'input')}; input end / output end = "
                f"{e.peak:.2e} at worst (threshold {threshold:g})",
                threshold)
    if e.kind == "exploding_gradients":
        return (f"the global gradient norm averaged {e.peak:.3g} over 32 logged steps "
                f"(threshold {t.exploding_norm:g})", t.exploding_norm)
    if e.kind in ("signal_collapse", "signal_explosion"):
        threshold = t.signal_collapse if e.kind == "signal_collapse" else t.signal_explosion
        return (f"the activations' std {_trend_words(d, 'output')}, from "
                f"{d['first']:.2g} to {d['last']:.2g}; output end / input end = {e.peak:.2e} "
                f"at worst (threshold {threshold:g})", threshold)
    if e.kind == "dying_relu":
        over = (f"any of the {probe_samples} probe samples" if probe_samples
                else "the training batch")
        return (f"{e.peak:.0%} of its units gave no positive output on {over} at worst "
                f"(threshold {t.dead:.0%})", t.dead)
    if e.kind == "saturation":
        return (f"{e.peak:.0%} of its outputs were saturated (derivative below a tenth of its "
                f"maximum) at worst (threshold {t.saturation:.0%})", t.saturation)
    if e.kind == "edge_of_stability":
        what = "preconditioned sharpness λ_max(D⁻¹H)" if d.get("preconditioned") \
            else "sharpness λ_max"
        return (f"the {what} reached {e.peak:.2f}× the optimizer's stability limit (at worst "
                f"{d['sharpness']:.4g} against {d['limit']:.4g}; fires from "
                f"{d['fraction']:g}×)", d["fraction"])
    if e.kind in ("vanishing_through_time", "exploding_through_time"):
        threshold = t.vanishing if e.kind == "vanishing_through_time" else t.exploding
        factor = d["per_step"]
        change = f"shrinks {factor:.3g}×" if factor > 1 else f"grows {1 / factor:.3g}×"
        return (f"‖∂L/∂hₜ‖ {change} per time step toward the first over {d['steps']} steps; "
                f"first / last = {e.peak:.2e} at worst (threshold {threshold:g})", threshold)
    if e.kind == "symmetric_layer":
        return f"all {d.get('units', '?')} units have identical weights", None
    if e.kind == "stalled_training":
        return (f"after {d['epoch']} epochs the training loss {d['loss']:.4g} is "
                f"{e.peak:.1%} of a constant prediction's {d['baseline']:.4g} (stalled: within "
                f"{t.stall_tolerance:.0%}, checked from epoch {t.stall_epochs})",
                t.stall_tolerance)
    if e.kind == "unstable_training":
        return (f"the epoch's training loss {d['loss']:.4g} was {e.peak:.3g}× a constant "
                f"prediction's {d['baseline']:.4g} at worst (epoch {d['epoch']}; above "
                f"1 + {t.stall_tolerance:g}, checked from epoch {t.stall_epochs})",
                t.stall_tolerance)
    return d.get("message", e.kind), None


class Diagnosis:
    """Episodes of every finding kind, updated as the recorder's rows arrive.

    Args:
        thresholds: the detectors' thresholds.
        kernel_keys: the layers with a kernel, input first (their order in the gradient
            rows).
        probed_keys: the layers with activation statistics, input first.
        widths: units per kernel layer (for the symmetry check).
        every_n_steps: the recorder's logging interval (a window is 32 logged steps).
        baseline_loss: the loss of the best constant prediction, for stalled training
            (None: the first epoch's loss stands in for it).
        probe_samples: the size of the dead-unit probe set (None: the training batch).
    """

    def __init__(self, thresholds: Thresholds, kernel_keys: list[str], probed_keys: list[str],
                 widths: dict[str, int], every_n_steps: int = 1,
                 baseline_loss: float | None = None, probe_samples: int | None = None):
        self.thresholds, self.kernel_keys, self.probed_keys = thresholds, kernel_keys, probed_keys
        self.widths, self.probe_samples = widths, probe_samples
        self.window_steps = WINDOW_ROWS * int(every_n_steps)
        self.baseline = baseline_loss
        self.episodes = Episodes()
        self.coverage = {"gradient_windows": 0, "activation_steps": 0, "epochs": 0}
        self._pending = self._no_rows()  # the rows of the window not yet complete
        self._non_finite: dict | None = None

    def _no_rows(self) -> dict:
        return {"steps": np.zeros(0, "int64"),
                "log_relative": np.zeros((0, len(self.kernel_keys))),
                "global_norm": np.zeros(0)}

    # --- observations ----------------------------------------------------------------------

    def add_gradient_rows(self, steps: np.ndarray, log_relative: np.ndarray,
                          global_norm: np.ndarray) -> None:
        """Rows of the logged steps ``steps`` [k]: log10 ‖∇W‖/‖W‖ per kernel [k, L] (NaN where
        not known) and the global norm [k]. Each complete window is observed at once; the
        last one waits for a later step or for :meth:`finish`."""
        pending = self._pending
        steps = np.concatenate([pending["steps"], np.asarray(steps, "int64")])
        log_relative = np.concatenate([pending["log_relative"],
                                       np.asarray(log_relative, "float64")])
        global_norm = np.concatenate([pending["global_norm"], np.asarray(global_norm, "float64")])
        windows = steps // self.window_steps
        for index in np.unique(windows)[:-1]:  # every window but the last is complete
            self._observe_window(*(a[windows == index] for a in (steps, log_relative,
                                                                 global_norm)))
        last = windows == windows[-1] if len(windows) else np.zeros(0, bool)
        self._pending = {"steps": steps[last], "log_relative": log_relative[last],
                         "global_norm": global_norm[last]}

    def _observe_window(self, steps, log_relative, global_norm) -> None:
        """One window: the mean log10 ‖∇W‖/‖W‖ per kernel and global norm over its finite rows."""
        with warnings.catch_warnings():  # a kernel or a norm with no finite row: NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(log_relative, axis=0)
            norm = float(np.nanmean(np.where(np.isfinite(global_norm), global_norm, np.nan)))
        self.coverage["gradient_windows"] += 1
        first, last = int(steps[0]), int(steps[-1])
        self._record(GradientWindow((first, last), self.kernel_keys, mean, norm), (first, last))

    def add_activation_rows(self, tags: list[str], rows: np.ndarray, steps: np.ndarray) -> None:
        """One observation per histogram step: ``rows`` [k, tags] of the recorder's histogram
        scalars (``activation_std/<key>``, ``dead_fraction/<key>`` ...)."""
        split = [tag.split("/", 1) for tag in tags]
        for step, row in zip(steps, rows):
            values: dict[str, dict[str, float]] = {}
            for (prefix, key), value in zip(split, row):
                values.setdefault(prefix, {})[key] = float(value)
            self.coverage["activation_steps"] += 1
            self._record(ActivationRow(int(step), values, self.probed_keys, self.widths),
                         (int(step), int(step)))

    def add_epoch(self, epoch: int, steps: tuple[int, int], loss: float | None) -> None:
        """The end of epoch ``epoch`` (1-based), which ran ``steps``, with its mean loss."""
        if loss is None:
            return
        if self.baseline is None and epoch == 1 and math.isfinite(loss):
            self.baseline = float(loss)  # no constant-prediction loss known: the first epoch's
        self.coverage["epochs"] += 1
        if epoch == self.thresholds.stall_epochs:  # a level then: held since the first step
            steps = (0, steps[1])
        self._record(EpochRow(epoch, steps, float(loss), self.baseline), steps)

    def add_non_finite(self, where: str, step: int, message: str) -> None:
        """The run failed on a NaN or infinite value (the guard says where)."""
        if self._non_finite is None:
            self._non_finite = {"where": where, "step": int(step), "message": message}

    def add_sharpness(self, step: int, sharpness: float, limit: float, fraction: float,
                      preconditioned: bool = False) -> None:
        """One measurement of the sharpness (:mod:`nnkit.dynamics.callback`) against the
        optimizer's stability ``limit``: ``edge_of_stability`` fires from ``fraction`` of it."""
        ratio = sharpness / limit
        self.coverage["sharpness_steps"] = self.coverage.get("sharpness_steps", 0) + 1
        self.episodes.observe("edge_of_stability", "global", (step, step), ratio >= fraction,
                              ratio, max, [], {"sharpness": sharpness, "limit": limit,
                                               "fraction": fraction,
                                               "preconditioned": preconditioned})

    def add_through_time(self, steps: np.ndarray, keys: list[str], norms: list) -> None:
        """Rows of ‖∂L/∂hₜ‖ per recurrent layer (``norms[l]`` [k, T], logged steps
        ``steps`` [k]): one observation per layer and window of logged steps."""
        steps = np.asarray(steps, "int64")
        windows = steps // self.window_steps
        for index in np.unique(windows):
            rows = windows == index
            first, last = int(steps[rows][0]), int(steps[rows][-1])
            self.coverage["time_windows"] = self.coverage.get("time_windows", 0) + 1
            for key, values in zip(keys, norms):
                with warnings.catch_warnings(), np.errstate(divide="ignore"):
                    warnings.simplefilter("ignore", RuntimeWarning)
                    log_norms = np.nanmean(np.log10(values[rows]), axis=0)
                log_norms[~np.isfinite(log_norms)] = np.nan
                self._record(TimeWindow((first, last), key, log_norms), (first, last))

    def _record(self, observation, steps: tuple[int, int]) -> None:
        for v in verdicts(observation, self.thresholds):
            self.episodes.observe(v.kind, v.where, steps, v.firing, v.value, v.worse, v.layers,
                                  v.detail)

    def finish(self) -> None:
        """Observe the last, partial window (at the end of training)."""
        pending, self._pending = self._pending, self._no_rows()
        if len(pending["steps"]):
            self._observe_window(pending["steps"], pending["log_relative"],
                                 pending["global_norm"])

    # --- results ---------------------------------------------------------------------------

    def open_kinds(self) -> set[str]:
        """The kinds of the episodes firing as of the latest observations."""
        kinds = {e.kind for e in self.episodes.episodes if self.episodes.is_open(e)}
        return kinds | ({"non_finite"} if self._non_finite else set())

    def findings(self) -> list[Finding]:
        """Every episode so far, worded, in the order they began (non-finite first)."""
        t, found = self.thresholds, []
        episodes = sorted(self.episodes.episodes, key=lambda e: (e.first_step, e.kind))
        if self._non_finite is not None:
            n = self._non_finite
            causes = sorted({e.kind for e in episodes if e.kind in CAUSES
                             and e.first_step <= n["step"] <= e.last_step + self.window_steps})
            found.append(Finding("non_finite", n["where"], n["step"], n["step"], math.nan, None,
                                 False, n["message"], KINDS["non_finite"].remedy, [], causes))
        for e in episodes:
            message, threshold = _message(e, t, self.probe_samples)
            overlaps = sorted({o.kind for o in episodes if o.kind != e.kind
                               and o.first_step <= e.last_step and e.first_step <= o.last_step
                               and o.kind in CAUSES})
            found.append(Finding(e.kind, e.where, e.first_step, e.last_step, e.peak, threshold,
                                 not self.episodes.is_open(e), message, KINDS[e.kind].remedy,
                                 e.layers, overlaps))
        return found

    def summary(self) -> str:
        """The findings as text: what happened during training and recovered, then what
        still held at the end; or what was checked when nothing fired."""
        return summary_text([f.to_dict() for f in self.findings()], self.coverage)

    # --- checkpoints -----------------------------------------------------------------------

    def state(self) -> dict:
        return {"episodes": self.episodes.state(), "coverage": dict(self.coverage),
                "pending": {k: v.tolist() for k, v in self._pending.items()},
                "baseline": self.baseline, "non_finite": self._non_finite}

    def restore(self, state: dict) -> None:
        self.episodes.restore(state["episodes"])
        self.coverage = dict(state["coverage"])
        self.baseline, self._non_finite = state["baseline"], state["non_finite"]
        empty = self._no_rows()
        self._pending = {k: np.asarray(state["pending"][k], empty[k].dtype).reshape(
            (-1, *empty[k].shape[1:])) for k in empty}
