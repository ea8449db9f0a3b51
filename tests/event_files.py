"""Reading a run's TensorBoard event files record by record (the tests' independent reader:
every value, duplicates included, so a test can see a step written twice)."""

from collections.abc import Iterator
from pathlib import Path

import tensorflow as tf
from tensorflow.core.util import event_pb2


def summary_values(folder: Path, pattern: str = "**/events.out.tfevents.*") -> Iterator[tuple]:
    """(event folder name, tag, step, Summary.Value) for every value in ``folder``'s files."""
    for path in sorted(Path(folder).glob(pattern)):
        for record in tf.data.TFRecordDataset(str(path)):
            event = event_pb2.Event.FromString(record.numpy())
            for value in event.summary.value:
                yield path.parent.name, value.tag, event.step, value
