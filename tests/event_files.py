"""Reading a run's TensorBoard event files in tests: record by record (every value,
duplicates included, so a test can see a step written twice), or as TensorBoard shows them."""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.util import tensor_util
from tensorflow.core.util import event_pb2


def summary_values(folder: Path, pattern: str = "**/events.out.tfevents.*") -> Iterator[tuple]:
    """(event folder name, tag, step, Summary.Value) for every value in ``folder``'s files."""
    for path in sorted(Path(folder).glob(pattern)):
        for record in tf.data.TFRecordDataset(str(path)):
            event = event_pb2.Event.FromString(record.numpy())
            for value in event.summary.value:
                yield path.parent.name, value.tag, event.step, value


def read_tags(folder) -> dict[str, dict[int, np.ndarray]]:
    """{tag: {step: value}} of an event folder, read with TensorBoard's own reader."""
    events = EventAccumulator(str(folder), size_guidance={"tensors": 0})
    events.Reload()
    return {tag: {e.step: tensor_util.make_ndarray(e.tensor_proto) for e in events.Tensors(tag)}
            for tag in events.Tags()["tensors"]}
