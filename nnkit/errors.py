"""The errors a user can meet, each with its exit status on the command line.

They live here, apart from the code that raises them, so that the command line can tell them
apart without importing TensorFlow (``nnkit validate`` and ``nnkit --help`` never do).

=====================  ======  ===================================================
error                  exit    raised when
=====================  ======  ===================================================
ConfigError            2       a config file or ``-o`` is invalid (nnkit.config)
DataError              2       the data named by the config cannot be loaded
ExperimentError        2       a config validates but cannot run
RunDirError            2       a log or run folder cannot be used
CheckpointError        2       no usable checkpoint (damaged, or not the run's)
NonFiniteError         3       the loss, a gradient or a weight became NaN or infinite
Interrupted            128+N   SIGINT (130) or SIGTERM (143) stopped training cleanly
=====================  ======  ===================================================
"""

from __future__ import annotations


class DataError(Exception):
    """A problem with the data named by the config; the message names the key."""


class ExperimentError(Exception):
    """A config that validates but cannot run (a loss that does not fit the task, ...)."""


class RunDirError(Exception):
    """The log folder cannot be created or written, or a folder is not a run folder."""


class CheckpointError(Exception):
    """A checkpoint that cannot be used: damaged, or not fitting the run's model."""


class NonFiniteError(Exception):
    """Training stopped because the loss or a gradient became NaN or infinite."""


class Interrupted(Exception):
    """A run stopped by SIGINT/SIGTERM after writing its checkpoint and metrics.json."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        return 128 + self.signum
