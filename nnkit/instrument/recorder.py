"""Per-layer statistics written from inside the compiled training step.

The training step hands :class:`Recorder` the gradients it already computed (nothing is
computed twice) and the activations of the same forward pass. Every ``every_n_steps`` it
writes the scalars with ``tf.summary`` from inside the graph; every
``histogram_every_n_steps`` the histograms and activation statistics. Nothing returns to
Python per step: the only per-epoch trip is the callback reading the accumulators.
"""

from __future__ import annotations

import tensorflow as tf

from nnkit.instrument import statistics as stats
from nnkit.instrument import summaries
from nnkit.instrument.plan import LayerPlan


class Recorder:
    """Writes the statistics of :mod:`nnkit.instrument.plan` for one model."""

    def __init__(self, plans: list[LayerPlan], every_n_steps: int = 1,
                 histogram_every_n_steps: int = 100):
        self.plans = plans
        self.every = int(every_n_steps)
        self.histogram_every = int(histogram_every_n_steps)
        self.writer = None  # set by the callback before training starts
        self.with_variables = [p for p in plans if p.variables]
        self.probed = [p for p in plans if p.probed]
        self.relu_family = [p for p in self.probed if p.relu_family]
        self.with_kernel = [p for p in plans if p.kernel is not None]
        n = len(self.with_variables)
        self.flow_sum = tf.Variable(tf.zeros([n]), trainable=False, name="flow_sum")
        self.flow_count = tf.Variable(0.0, trainable=False, name="flow_count")
        self.dead = tf.Variable(tf.zeros([len(self.relu_family)]), trainable=False, name="dead")
        self.distinct = tf.Variable(tf.zeros([len(self.with_kernel)], tf.int32),
                                    trainable=False, name="distinct")
        self.first_nonfinite = tf.Variable([-1, -1], dtype=tf.int64, trainable=False,
                                           name="first_nonfinite")  # (step, layer position)

    # --- called inside the training step --------------------------------------------------

    def _due(self, step, every: int):
        return tf.logical_and(every > 0, tf.equal(step % max(every, 1), 0))

    def snapshot(self, step, variables):
        """W before the update, on logging steps only (holding it forces a copy of W)."""
        def take():
            return [tf.reshape(tf.identity(v), [-1]) for v in variables]

        def skip():
            return [tf.zeros([0], v.dtype) for v in variables]

        return tf.cond(self._due(step, self.every), take, skip)

    def record(self, step, gradients, variables, before, activations, learning_rate):
        """Write this step's statistics (a no-op on steps that are not due).

        One ``tf.cond`` per kind of statistics computes and writes them only when due. The
        writes use ``tf.summary.write`` (see :mod:`summaries`), which keeps tags verbatim
        (no name scope of the branch) and, with recording statically on, adds no condition of
        its own per tag.
        """
        with self.writer.as_default(step=step):
            tf.cond(self._due(step, self.every),
                    lambda: self._write(self._scalars(step, gradients, variables, before,
                                                      learning_rate), {}),
                    lambda: tf.constant(False))
            if self.histogram_every > 0:
                tf.cond(self._due(step, self.histogram_every),
                        lambda: self._write(self._activation_statistics(variables, activations),
                                            self._histograms(gradients, variables, activations)),
                        lambda: tf.constant(False))

    def _write(self, scalars: dict, histograms: dict):
        for tag, value in scalars.items():
            summaries.write_scalar(tag, value)
        for tag, value in histograms.items():
            summaries.write_histogram(tag, value)
        return tf.constant(True)

    @property
    def scalar_tags(self) -> list[str]:
        tags = []
        for plan in self.with_variables:
            tags += [f"grad_norm/{plan.key}/{name}" for name, _ in plan.variables]
            tags += [f"grad_norm/{plan.key}", f"weight_norm/{plan.key}",
                     f"update_ratio/{plan.key}"]
        return tags + ["grad_norm/global", "learning_rate"]

    @property
    def histogram_scalar_tags(self) -> list[str]:
        tags = []
        for plan in self.probed:
            tags += [f"activation_mean/{plan.key}", f"activation_std/{plan.key}"]
            if plan.relu_family:
                tags.append(f"dead_fraction/{plan.key}")
        return tags + [f"distinct_units/{plan.key}" for plan in self.with_kernel]

    def _scalars(self, step, gradients, variables, before, learning_rate) -> dict:
        squares = [stats.squared_norm(g) for g in gradients]
        values, layer_norms = {}, []
        for plan in self.with_variables:
            grad_sq = tf.add_n([squares[i] for _, i in plan.variables])
            weight_sq = tf.add_n([stats.squared_norm(variables[i]) for _, i in plan.variables])
            update_sq = tf.add_n([stats.squared_norm(tf.reshape(variables[i], [-1]) - before[i])
                                  for _, i in plan.variables])
            for name, i in plan.variables:
                values[f"grad_norm/{plan.key}/{name}"] = tf.sqrt(squares[i])
            layer_norm = tf.sqrt(grad_sq)
            layer_norms.append(layer_norm)
            values[f"grad_norm/{plan.key}"] = layer_norm
            values[f"weight_norm/{plan.key}"] = tf.sqrt(weight_sq)
            values[f"update_ratio/{plan.key}"] = tf.sqrt(update_sq) / (tf.sqrt(weight_sq) + 1e-12)
        norms = tf.stack(layer_norms)
        values["grad_norm/global"] = tf.sqrt(tf.add_n(squares))
        values["learning_rate"] = tf.cast(learning_rate, tf.float32)
        self.flow_sum.assign_add(norms)
        self.flow_count.assign_add(1.0)
        bad = tf.logical_not(tf.math.is_finite(norms))
        first_bad = tf.cast(tf.argmax(tf.cast(bad, tf.int32)), tf.int64)
        new = tf.logical_and(tf.reduce_any(bad), self.first_nonfinite[0] < 0)
        self.first_nonfinite.assign(tf.where(new, tf.stack([tf.cast(step, tf.int64), first_bad]),
                                             self.first_nonfinite))
        return values

    def _activation_statistics(self, variables, activations) -> dict:
        values, dead = {}, []
        for plan, output in zip(self.probed, activations):
            output = tf.cast(output, tf.float32)
            values[f"activation_mean/{plan.key}"] = tf.reduce_mean(output)
            values[f"activation_std/{plan.key}"] = tf.math.reduce_std(output)
            if plan.relu_family:
                fraction = stats.dead_fraction(output)
                values[f"dead_fraction/{plan.key}"] = fraction
                dead.append(fraction)
        if dead:
            self.dead.assign(tf.stack(dead))
        distinct = [stats.distinct_units(variables[p.kernel]) for p in self.with_kernel]
        for plan, count in zip(self.with_kernel, distinct):
            values[f"distinct_units/{plan.key}"] = tf.cast(count, tf.float32)
        if distinct:
            self.distinct.assign(tf.stack(distinct))
        return values

    @property
    def histogram_tags(self) -> list[str]:
        tags = []
        for plan in self.with_variables:
            for name, _ in plan.variables:
                tags += [f"gradients/{plan.key}/{name}", f"weights/{plan.key}/{name}"]
        return tags + [f"activations/{plan.key}" for plan in self.probed]

    def _histograms(self, gradients, variables, activations) -> dict:
        values = {}
        for plan in self.with_variables:
            for name, i in plan.variables:
                values[f"gradients/{plan.key}/{name}"] = summaries.histogram(gradients[i])
                values[f"weights/{plan.key}/{name}"] = summaries.histogram(variables[i])
        for plan, output in zip(self.probed, activations):
            values[f"activations/{plan.key}"] = summaries.histogram(output)
        return values

    # --- read from Python, once per epoch ---------------------------------------------------

    def take_epoch_flow(self):
        """Mean layer gradient norms since the last call (NumPy), then reset."""
        count = float(self.flow_count.numpy())
        means = self.flow_sum.numpy() / max(count, 1.0)
        self.flow_sum.assign(tf.zeros_like(self.flow_sum))
        self.flow_count.assign(0.0)
        return means if count else None
