"""SIGTERM and Ctrl-C stop a run cleanly: after the current step, with a checkpoint.

``timeout``, job schedulers (Slurm, Kubernetes), ``docker stop`` and preemptible machines
send SIGTERM and kill the process a few seconds later; Ctrl-C sends SIGINT. Inside
:func:`deferred_signals`, the first of either only raises a flag; the checkpointer sees it
after the step in flight (:class:`~nnkit.training.checkpoint.Checkpointer`), writes a
checkpoint of that point, mid-epoch if need be, and stops ``fit``; the run then writes
``metrics.json`` with status ``interrupted`` and raises :class:`Interrupted`, whose message
names the run folder and the ``nnkit run --resume`` command. The command line exits with
128 + the signal's number (130 for SIGINT, 143 for SIGTERM), as shells do. A second signal
while the first is being handled stops at once (``KeyboardInterrupt``).
"""

from __future__ import annotations

import contextlib
import signal
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)

_received: list[int] = []  # the signals received inside the innermost deferred_signals()
_depth = 0


from nnkit.errors import Interrupted

__all__ = ["Interrupted", "deferred_signals", "name", "requested"]


def requested() -> int | None:
    """The signal that asked to stop (its number), or None."""
    return _received[0] if _received else None


def name(signum: int) -> str:
    return signal.Signals(signum).name


def _handler(signum, frame):
    if _received:  # a second signal: stop now
        raise KeyboardInterrupt
    _received.append(signum)


@contextlib.contextmanager
def deferred_signals():
    """Within this block SIGINT and SIGTERM set :func:`requested` instead of ending the
    process (in the main thread; elsewhere signals cannot be handled and nothing changes).
    Nested blocks share the outer one's state; the outermost restores the old handlers."""
    global _depth
    if _depth or threading.current_thread() is not threading.main_thread():
        _depth += 1
        try:
            yield
        finally:
            _depth -= 1
        return
    previous = {s: signal.getsignal(s) for s in SIGNALS}
    _received.clear()
    for s in SIGNALS:
        signal.signal(s, _handler)
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        for s, handler in previous.items():
            signal.signal(s, handler)
        _received.clear()
