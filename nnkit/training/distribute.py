"""``training.distribute``: one device, ``MirroredStrategy`` or ``MultiWorkerMirroredStrategy``.

Data parallelism: every replica holds a copy of the weights and takes 1/R of the global batch
(R replicas in sync). Keras' losses scale each replica's loss by 1/R, so the sum of the R
replica gradients is the gradient of the mean loss over the global batch, the same gradient one
device computes on the whole batch:

    g = Σ_r ∇(L_r / R) = ∇ (1/R) Σ_r L_r

The training step sums the replica gradients itself (one all-reduce), so that the
instrumentation logs the norms of g rather than of one replica's share, and hands g to the
optimizer with Keras' own all-reduce switched off (:func:`reduce_in_the_step`): the
gradients cross the devices once, as in Keras' own step.

The first replica on each worker records the statistics; the other replicas of that worker
only train. A strategy must exist before any TensorFlow op runs, so the strategy is created
first of all, when the experiment is built; a process has at most one.
"""

from __future__ import annotations

import contextlib
import json
import os

import tensorflow as tf

from nnkit.training import multi_worker_fix


class DistributeError(Exception):
    """A distribution setting this process cannot honour."""


_created: dict[tuple, tf.distribute.Strategy] = {}


def _split_cpu(count: int) -> None:
    """Present the CPU as ``count`` logical devices (to try ``mirrored`` without GPUs)."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    wanted = [tf.config.LogicalDeviceConfiguration()] * count
    current = tf.config.get_logical_device_configuration(cpu)
    if current is not None and len(current) == count:
        return
    try:
        tf.config.set_logical_device_configuration(cpu, wanted)
    except RuntimeError:
        raise DistributeError(
            f"training.logical_cpus: TensorFlow has already started in this process, so the "
            f"CPU can no longer be split into {count} devices; run it in a new process "
            "(nnkit run does)") from None


def strategy_for(training) -> tf.distribute.Strategy | None:
    """The strategy of the ``training`` config section (None for ``distribute: none``)."""
    if training.logical_cpus:
        _split_cpu(training.logical_cpus)
    if training.distribute == "none":
        return None
    key = (training.distribute, tuple(training.devices or ()))
    if key in _created:
        return _created[key]
    if _created:
        raise DistributeError(
            f"training.distribute: this process already uses a {next(iter(_created))[0]} "
            "strategy; TensorFlow allows one per process")
    if training.distribute == "mirrored":
        devices = training.devices or _default_devices()
        strategy = tf.distribute.MirroredStrategy(devices)
    else:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        multi_worker_fix.install(strategy)
    _created[key] = strategy
    return strategy


def _default_devices() -> list[str]:
    """Every GPU, or else every (logical) CPU."""
    gpus = tf.config.list_logical_devices("GPU")
    return [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]


def scope(strategy: tf.distribute.Strategy | None):
    """``strategy.scope()``, or nothing for a single device."""
    return strategy.scope() if strategy is not None else contextlib.nullcontext()


def _tf_config() -> dict:
    return json.loads(os.environ.get("TF_CONFIG") or "{}")


def task() -> tuple[str, int]:
    """This process's (task type, index) from ``TF_CONFIG``; ("chief", 0) without it."""
    found = _tf_config().get("task") or {}
    return found.get("type", "chief"), int(found.get("index", 0))


def is_chief() -> bool:
    """The process that keeps the logs: the chief, or worker 0 when there is no chief."""
    kind, index = task()
    has_chief = "chief" in (_tf_config().get("cluster") or {})
    return kind == "chief" or (kind == "worker" and index == 0 and not has_chief)


# --- inside the training step ------------------------------------------------------------

def replicas_in_sync() -> int:
    return tf.distribute.get_strategy().num_replicas_in_sync


def records_here() -> bool:
    """True in the first replica of each worker (decided while tracing, per replica)."""
    context = tf.distribute.get_replica_context()
    if context is None or not tf.distribute.has_strategy():
        return True
    replica = tf.get_static_value(context.replica_id_in_sync_group)
    local = len(tf.distribute.get_strategy().extended.worker_devices)
    return replica is None or int(replica) % max(local, 1) == 0


def all_reduce_sum(gradients: list[tf.Tensor]) -> list[tf.Tensor]:
    """Σ over replicas (the gradient of the global batch); unchanged on one replica."""
    context = tf.distribute.get_replica_context()
    if context is None or replicas_in_sync() == 1:
        return gradients
    return context.all_reduce(tf.distribute.ReduceOp.SUM, gradients)


def reduce_in_the_step(optimizer) -> None:
    """Switch off the optimizer's own all-reduce: Keras' TensorFlow optimizers sum the
    gradients over replicas in ``apply`` (``_all_reduce_sum_gradients``), which
    :class:`~nnkit.training.TrainingModel`'s step has already done. Call once, when the model
    is compiled under a strategy (replicas trace the step concurrently: no patching there)."""
    optimizer._all_reduce_sum_gradients = lambda grads_and_vars: list(grads_and_vars)


def unscaled(loss: tf.Tensor) -> tf.Tensor:
    """The replica's loss without Keras' 1/R scaling (for the loss metric)."""
    count = replicas_in_sync()
    return loss * tf.cast(count, loss.dtype) if count > 1 else loss
