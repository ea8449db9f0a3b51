"""Import TensorFlow without the notices its native libraries print on load."""

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
    if os.environ.get("NNKIT_TF_LOGS") == "1" or "tensorflow" in sys.modules:
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


def import_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with native_stderr_silenced():
        import tensorflow  # noqa: F401
