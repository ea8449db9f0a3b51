"""Per-layer statistics written from inside the compiled training step.

The training step hands :class:`Recorder` the gradients it already computed (nothing is
computed twice) and the activations of the same forward pass. Every ``every_n_steps`` it
writes the scalars, every ``histogram_every_n_steps`` the histograms and activation
statistics, each kind as one batched summary (:mod:`summaries`). Which steps record what is
decided in Python (:meth:`Recorder.due`): the model compiles one step function per kind of
step (:meth:`~nnkit.training.TrainingModel.make_train_function`), so a step that records
nothing runs no instrumentation op at all, and no ``tf.cond`` is needed. Nothing returns to
Python per step: the only trip is the callback reading the accumulators once per epoch.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from nnkit.instrument import statistics as stats
from nnkit.instrument.plan import LayerPlan
from nnkit.instrument.summaries import HistogramWriter, ScalarRows, histogram


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
        self._layout_scalars()
        self._layout_histograms()
        n = len(self.with_variables)
        self.flow_sum = tf.Variable(tf.zeros([n]), trainable=False, name="flow_sum")
        self.flow_count = tf.Variable(0.0, trainable=False, name="flow_count")
        self.dead = tf.Variable(tf.zeros([len(self.relu_family)]), trainable=False, name="dead")
        self.distinct = tf.Variable(tf.zeros([len(self.with_kernel)], tf.int32),
                                    trainable=False, name="distinct")
        self.first_nonfinite = tf.Variable([-1, -1], dtype=tf.int64, trainable=False,
                                           name="first_nonfinite")  # (step, layer position)

    @property
    def variables(self) -> list[tf.Variable]:
        """The recorder's state, saved in checkpoints."""
        return [self.flow_sum, self.flow_count, self.dead, self.distinct, self.first_nonfinite]

    def _layout_scalars(self) -> None:
        """Fix the order of the per-step values: a pool of vectors, gathered into tag order.

        pool = [‖∇v‖ per variable (V), ‖∇‖ per layer (L), ‖W‖ per layer (L),
                ‖ΔW‖/‖W‖ per layer (L), global ‖∇‖, learning rate]
        """
        variables = [i for p in self.with_variables for _, i in p.variables]
        self.n_variables = (max(variables) + 1) if variables else 0
        n_layers = len(self.with_variables)
        self.membership = np.zeros((self.n_variables, n_layers), "float32")
        tags, index = [], []
        for layer, plan in enumerate(self.with_variables):
            for name, i in plan.variables:
                self.membership[i, layer] = 1.0
                tags.append(f"grad_norm/{plan.key}/{name}")
                index.append(i)
            for offset, prefix in enumerate(("grad_norm", "weight_norm", "update_ratio")):
                tags.append(f"{prefix}/{plan.key}")
                index.append(self.n_variables + offset * n_layers + layer)
        tags += ["grad_norm/global", "learning_rate"]
        index += [self.n_variables + 3 * n_layers, self.n_variables + 3 * n_layers + 1]
        self.scalar_tags, self._scalar_index = tags, np.array(index, "int32")
        self.scalar_rows = ScalarRows(tags)

    def _layout_histograms(self) -> None:
        tags = []
        for plan in self.with_variables:
            for name, _ in plan.variables:
                tags += [f"gradients/{plan.key}/{name}", f"weights/{plan.key}/{name}"]
        self.histogram_tags = tags + [f"activations/{plan.key}" for plan in self.probed]
        scalars = []
        for plan in self.probed:
            scalars += [f"activation_mean/{plan.key}", f"activation_std/{plan.key}"]
            if plan.relu_family:
                scalars.append(f"dead_fraction/{plan.key}")
        self.histogram_scalar_tags = scalars + [f"distinct_units/{p.key}"
                                                for p in self.with_kernel]
        self._histogram_writer = HistogramWriter(self.histogram_tags)
        self.histogram_scalar_rows = ScalarRows(self.histogram_scalar_tags)

    # --- called inside the training step --------------------------------------------------

    def due(self, step: int) -> tuple[bool, bool]:
        """(scalars, histograms): what the step numbered ``step`` records (Python ints:
        the training step picks the compiled function that records just that). A step that
        logs the scalars takes a row of :class:`ScalarRows`, written out first if full."""
        kind = (step % self.every == 0,
                self.histogram_every > 0 and step % self.histogram_every == 0)
        for due, rows in zip(kind, (self.scalar_rows, self.histogram_scalar_rows)):
            if due:
                if rows.pending >= rows.capacity:
                    self.flush()
                rows.pending += 1
        return kind

    def flush(self) -> None:
        """Write the stored scalar rows to the event file (from Python)."""
        if self.writer is not None:
            self.scalar_rows.flush(self.writer)
            self.histogram_scalar_rows.flush(self.writer)

    @staticmethod
    def snapshot(variables) -> list[tf.Tensor]:
        """W before the update, one flat copy per variable (for ‖ΔW‖; holding W forces the
        copy, so it is taken only on steps that log the scalars)."""
        return [tf.reshape(tf.identity(tf.cast(v, tf.float32)), [-1]) for v in variables]

    def record(self, step, gradients, variables, before, activations, learning_rate,
               scalars: bool = True, histograms: bool = True) -> None:
        """Compute and write this step's scalars and/or histograms (decided when traced)."""
        with self.writer.as_default(step=step):
            if scalars:
                self._scalars(step, gradients, variables, before, learning_rate)
            if histograms and self.histogram_every > 0:
                self._histograms(step, gradients, variables, activations)

    def _scalars(self, step, gradients, variables, before, learning_rate) -> None:
        values, layer_grad = self._statistics(gradients, variables, before,
                                              tf.cast(learning_rate, tf.float32))
        self.scalar_rows.append(step, values)
        self.flow_sum.assign_add(layer_grad)
        self.flow_count.assign_add(1.0)
        bad = tf.logical_not(tf.math.is_finite(layer_grad))
        first_bad = tf.argmax(tf.cast(bad, tf.int32), output_type=tf.int64)
        new = tf.logical_and(tf.reduce_any(bad), self.first_nonfinite[0] < 0)
        self.first_nonfinite.assign(tf.where(new, tf.stack([tf.cast(step, tf.int64), first_bad]),
                                             self.first_nonfinite))

    def _statistics(self, gradients, variables, before, learning_rate):
        """(the scalar values in tag order, ‖∇‖ per layer): per-variable squares summed into
        layers with one matmul by the membership matrix, ‖ΔW‖/‖W‖ per layer."""
        grad_sq = 2.0 * tf.stack([tf.nn.l2_loss(tf.cast(g, tf.float32)) for g in gradients])
        weight_sq = 2.0 * tf.stack([tf.nn.l2_loss(tf.cast(v, tf.float32)) for v in variables])
        update_sq = 2.0 * tf.stack([tf.nn.l2_loss(tf.reshape(tf.cast(v, tf.float32), [-1]) - b)
                                    for v, b in zip(variables, before)])
        squares = tf.matmul(tf.stack([grad_sq, weight_sq, update_sq]), self.membership)
        layer_grad, layer_weight, layer_update = tf.unstack(tf.sqrt(squares))
        pool = tf.concat([tf.sqrt(grad_sq), layer_grad, layer_weight,
                          layer_update / (layer_weight + 1e-12),
                          tf.stack([tf.sqrt(tf.reduce_sum(grad_sq)), learning_rate])], axis=0)
        return tf.gather(pool, self._scalar_index), layer_grad

    def _histograms(self, step, gradients, variables, activations) -> None:
        rows = []
        for plan in self.with_variables:
            for _, i in plan.variables:
                rows += [histogram(gradients[i]), histogram(variables[i])]
        rows += [histogram(output) for output in activations]
        if rows:
            self._histogram_writer.write(tf.stack(rows))
        values, dead = [], []
        for plan, output in zip(self.probed, activations):
            output = tf.cast(output, tf.float32)
            values += [tf.reduce_mean(output), tf.math.reduce_std(output)]
            if plan.relu_family:
                dead.append(stats.dead_fraction(output))
                values.append(dead[-1])
        if dead:
            self.dead.assign(tf.stack(dead))
        distinct = [stats.distinct_units(variables[p.kernel]) for p in self.with_kernel]
        if distinct:
            self.distinct.assign(tf.stack(distinct))
        values += [tf.cast(count, tf.float32) for count in distinct]
        if values:
            self.histogram_scalar_rows.append(step, tf.stack(values))

    # --- read from Python, once per epoch ---------------------------------------------------

    def take_epoch_flow(self):
        """Mean layer gradient norms since the last call (NumPy), then reset."""
        count = float(self.flow_count.numpy())
        means = self.flow_sum.numpy() / max(count, 1.0)
        self.flow_sum.assign(tf.zeros_like(self.flow_sum))
        self.flow_count.assign(0.0)
        return means if count else None
