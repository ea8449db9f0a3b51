"""Silence the notices TensorFlow's native libraries print while it is imported."""

from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def native_stderr_silenced():
    """Point fd 2 at /dev/null for the duration (Python exceptions still propagate).

    TensorFlow 2.21 prints oneDNN and CPU-feature notices through absl before any log level
    applies (TF_CPP_MIN_LOG_LEVEL does not stop them); they would bury nnkit's own messages.
    Set NNKIT_TF_LOGS=1 to see them.
    """
    if os.environ.get("NNKIT_TF_LOGS") == "1":
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
