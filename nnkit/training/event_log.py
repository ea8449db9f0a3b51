"""Cut a killed run's TensorBoard event files back to the checkpoint it resumes from.

A run killed after its last checkpoint has written events that the resumed run writes again;
TensorBoard would show both. Before resuming, every event past the checkpoint is dropped, so
the resumed run appends to the same logs without a duplicated step. Each event's step means
one of three things, told apart by its tag:

* ``epoch_*`` (Keras' TensorBoard) and ``gradient_flow`` (the flow image): the epoch; kept
  when the epoch is one of the ``epochs_done`` completed epochs;
* ``evaluation_*_vs_iterations`` (Keras, at each epoch's end): the step count after that
  epoch; kept up to and including ``epoch_step``, the step count after the checkpoint's last
  complete epoch (its ``step`` unless the checkpoint was written mid-epoch);
* ``custom_scalars__config__`` (the Custom Scalars layout, step 0): the run's, always kept
  (a run started over in its folder writes it only when its folder has none);
* everything else (per-step instrumentation, the final diagnosis): the 0-based step; kept
  below ``step``.

A record cut short by the kill is dropped too. Each file is rewritten to a temporary name and
renamed over the old one.
"""

from __future__ import annotations

import os
from pathlib import Path

import tensorflow as tf
from tensorboard.plugins.custom_scalar.metadata import CONFIG_SUMMARY_TAG as LAYOUT_TAG
from tensorflow.core.util import event_pb2


def _keep(event: event_pb2.Event, epochs_done: int, step: int, epoch_step: int) -> bool:
    if not event.HasField("summary") or not event.summary.value:
        return True
    tag = event.summary.value[0].tag
    if tag == LAYOUT_TAG:  # the run's Custom Scalars layout, written once: kept
        return True
    if tag.startswith("epoch_") or tag == "gradient_flow":
        return event.step < epochs_done
    if tag.startswith("evaluation_"):
        return event.step <= epoch_step
    return event.step < step


def _records(path: Path) -> tuple[list[bytes], bool]:
    """The file's complete records, and whether it ended in a damaged one."""
    records = []
    try:
        for record in tf.data.TFRecordDataset(str(path)):
            records.append(record.numpy())
    except tf.errors.DataLossError:
        return records, True
    return records, False


def truncate_events(run_dir: Path, epochs_done: int, step: int,
                    epoch_step: int | None = None) -> int:
    """Drop the events of ``run_dir`` after ``epochs_done`` epochs / ``step`` steps (of
    which ``epoch_step`` in complete epochs); return how many were dropped."""
    dropped, epoch_step = 0, step if epoch_step is None else epoch_step
    for path in sorted(Path(run_dir).rglob("events.out.tfevents.*")):
        records, damaged = _records(path)
        kept = [r for r in records if _keep(event_pb2.Event.FromString(r), epochs_done, step,
                                     epoch_step)]
        if len(kept) == len(records) and not damaged:
            continue
        dropped += len(records) - len(kept)
        temporary = path.with_name(".truncating.tmp")  # no "tfevents": TensorBoard skips it
        with tf.io.TFRecordWriter(str(temporary)) as writer:
            for record in kept:
                writer.write(record)
        os.replace(temporary, path)
    return dropped
