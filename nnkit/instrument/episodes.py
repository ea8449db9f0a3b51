"""Findings as episodes: a condition that held over a range of steps, not a last-epoch verdict.

A detector (:mod:`nnkit.instrument.detectors`) looks at one observation at a time (a
window of logged steps, one histogram step, one epoch end) and says, per condition and
place, whether it fires and how strongly. :class:`Episodes` strings those verdicts into
episodes: an episode opens at the first observation that fires and closes after
``quiet`` observations in a row that do not (so a condition that flickers around its
threshold is one episode, not ten). It keeps the first and last step that fired, the
worst value seen, and, at the end of the run, whether it had recovered: closed before the
last observation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Episode:
    """One condition (``kind``) at one place (``where``) over ``first_step..last_step``."""

    kind: str
    where: str  # a layer key, a depth range "a..b", "loss", "global"
    first_step: int
    last_step: int
    peak: float  # the worst value of the statistic while it fired
    layers: list[str] = field(default_factory=list)
    detail: dict = field(default_factory=dict)  # the detector's words about the peak
    observations: int = 1  # how many observations fired
    quiet: int = 0  # observations in a row since it last fired (closed at Episodes.quiet)

    def to_dict(self) -> dict:
        return asdict(self)


class Episodes:
    """Open and closed episodes, fed one observation at a time.

    Args:
        quiet: an episode closes after this many observations in a row that did not fire.
    """

    def __init__(self, quiet: int = 2):
        self.quiet = quiet
        self.episodes: list[Episode] = []
        self._open: dict[tuple[str, str], Episode] = {}

    def observe(self, kind: str, where: str, step_range: tuple[int, int], firing: bool,
                value: float = float("nan"), worse=max, layers: list[str] | None = None,
                detail: dict | None = None) -> Episode | None:
        """Record one observation of ``kind`` at ``where`` over the steps ``step_range``;
        ``worse(a, b)`` picks the worse of two values (max, or min for a statistic that
        is bad when small). Returns the episode it opened, if any."""
        key = (kind, where)
        episode = self._open.get(key)
        if not firing:
            if episode is not None:
                episode.quiet += 1
                if episode.quiet >= self.quiet:
                    del self._open[key]
            return None
        if episode is None:
            episode = Episode(kind, where, step_range[0], step_range[1], value,
                              list(layers or []), dict(detail or {}))
            self.episodes.append(episode)
            self._open[key] = episode
            return episode
        episode.last_step, episode.quiet = step_range[1], 0
        episode.observations += 1
        if worse(value, episode.peak) != episode.peak:
            episode.peak, episode.detail = value, dict(detail or {})
            episode.layers = list(layers or episode.layers)
        return None

    def is_open(self, episode: Episode) -> bool:
        """Firing at its latest observation."""
        return episode.quiet == 0

    # --- checkpoints ---------------------------------------------------------------------

    def state(self) -> list[dict]:
        return [e.to_dict() for e in self.episodes]

    def restore(self, state: list[dict]) -> None:
        self.episodes = [Episode(**e) for e in state]
        self._open = {(e.kind, e.where): e for e in self.episodes if e.quiet < self.quiet}
