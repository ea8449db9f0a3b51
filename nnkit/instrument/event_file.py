"""A TensorBoard event file of pre-encoded summaries, written from Python.

TensorFlow's summary writer parses each serialized ``Summary`` it is handed and serializes it
again inside an ``Event`` (about 75 µs for a row of 130 scalars): more than a small model's
logged step costs in the step itself. The per-step scalars, already encoded
(:class:`~nnkit.instrument.summaries.ScalarWriter`), go instead to a file of their own in the
same folder, written record by record with ``tf.io.TFRecordWriter`` (TensorBoard's framing:
length, CRC, data, CRC; about 3 µs a row) around ``Event`` bytes put together here:

    Event { wall_time = 1: double, step = 2: int64, file_version = 3, summary = 5 }

TensorBoard reads every ``*tfevents*`` file of a run folder, as it already does for Keras'
own file beside nnkit's; the first event names the format version, as TensorFlow's do.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import tensorflow as tf

from nnkit.instrument.wire import double_field, field, varint_field


class EventFile:
    """``events.out.tfevents.<time>.<host>.<pid>.<name>.v2`` in ``folder``, opened now."""

    def __init__(self, folder: str | Path, name: str = "nnkit"):
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / (f"events.out.tfevents.{time.time():.0f}.{socket.gethostname()}"
                              f".{os.getpid()}.{name}.v2")
        self._records = tf.io.TFRecordWriter(str(self.path))
        self._records.write(double_field(1, time.time()) + field(3, b"brain.Event:2"))

    def write(self, summary: bytes, step: int) -> None:
        """Append one serialized ``Summary`` at ``step``."""
        self._records.write(double_field(1, time.time()) + varint_field(2, int(step))
                            + field(5, summary))

    def flush(self) -> None:
        self._records.flush()

    def close(self) -> None:
        self._records.close()
