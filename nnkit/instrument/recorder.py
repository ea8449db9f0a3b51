"""Per-layer statistics written from inside the compiled training step.

The training step hands :class:`Recorder` the gradients it already computed (nothing is
computed twice) and the activations of the same forward pass. Every ``every_n_steps`` it
writes the scalars, every ``histogram_every_n_steps`` the histograms and activation
statistics, each kind as one batched summary (:mod:`summaries`). Which steps record what is
decided in Python (:meth:`Recorder.due`): the model compiles one step function per kind of
step (:meth:`~nnkit.training.TrainingModel.make_train_function`), so a step that records
nothing runs no instrumentation op at all, and no ``tf.cond`` is needed.

A step that logs the scalars does as little as it can: one reduction per tensor
(½‖∇v‖², ½‖v‖², ½‖Δv‖² per variable, the last two without a copy of the weights:
:mod:`updates`), stored as one row of a variable. Everything derived (layer sums, square
roots, ratios, the mean flow per epoch, the first non-finite gradient) is computed from the
stored rows in NumPy when they are written out (:meth:`Recorder.flush`, once per epoch or
256 logged steps). Nothing returns to Python per step.
"""

from __future__ import annotations

import re

import numpy as np
import tensorflow as tf

from nnkit.instrument import statistics as stats
from nnkit.instrument.attention import AttentionTaps
from nnkit.instrument.capture import ActivationCapture
from nnkit.instrument.event_file import EventFile
from nnkit.instrument.plan import LayerPlan
from nnkit.instrument.summaries import HistogramWriter, ScalarRows, ScalarWriter, histogram
from nnkit.instrument.through_time import TimeRecorder


_NAN = float("nan")
_BLOCK = re.compile(r"^(h\d+)_")  # nnkit's models name layers by block: h03_conv1, h03_norm2


def block_members(plans: list[LayerPlan]) -> dict[str, list[LayerPlan]]:
    """Blocks of several layers with variables, by the ``hNN_`` prefix of their keys (a
    residual or Transformer block's convolutions, norms, attention and MLP), in order."""
    blocks: dict[str, list[LayerPlan]] = {}
    for plan in plans:
        match = _BLOCK.match(plan.key)
        if match:
            blocks.setdefault(match.group(1), []).append(plan)
    return {block: members for block, members in blocks.items() if len(members) > 1}


class Recorder:
    """Writes the statistics of :mod:`nnkit.instrument.plan` for one model."""

    def __init__(self, plans: list[LayerPlan], every_n_steps: int = 1,
                 histogram_every_n_steps: int = 100, probe_inputs=None,
                 per_variable: bool = False, weights_every_n_logged: int = 10):
        self.plans = plans
        self.every = int(every_n_steps)
        self.histogram_every = int(histogram_every_n_steps)
        self.per_variable = bool(per_variable)
        # weight_norm and update_ratio (slow-moving) on steps that are multiples of this
        self.weights_every = self.every * int(weights_every_n_logged)
        self.writer = self.scalar_file = None  # opened by open() before training starts
        self.with_variables = [p for p in plans if p.variables]
        self.probed = [p for p in plans if p.probed]
        self.with_kernel = [p for p in plans if p.kernel is not None]
        self._layout_scalars()
        self._layout_histograms()
        # ‖∂L/∂hₜ‖ of nnkit's recurrent layers, on the scalar steps (None: no such layer)
        self.through_time = TimeRecorder.for_plans(plans)
        self._flow_sum, self._flow_count = np.zeros(len(self.with_variables)), 0
        self.first_nonfinite = (-1, -1)  # (step, layer position), as of the last flush
        self.diagnosis = None  # a Diagnosis fed the rows at every flush, if set
        # under a loss-scale optimizer, a step whose scaled gradients overflowed is skipped
        # by the optimizer (and the scale halved): not a failure, and its row is dropped
        self.skips_overflow = False
        # the probe set dead units are counted over: fixed samples, read at histogram steps
        self.probe_inputs = None
        if probe_inputs is not None and self.histogram_every and any(
                p.can_die or p.keeps_sign for p in self.probed):
            samples = np.asarray(probe_inputs)
            if samples.dtype.kind == "f":
                samples = samples.astype("float32")
            self.probe_inputs = tf.Variable(samples, trainable=False, name="probe_inputs")
        self.probe_samples = None if self.probe_inputs is None else len(probe_inputs)

    def _layout_scalars(self) -> None:
        """Fix the stored row and the order of the logged values.

        row (stored by the step) = [½‖∇v‖² (V), ½‖v‖² (V), ½‖Δv‖² (V), learning rate],
                                   v before the update;
        pool (derived at flush) = [‖∇v‖ (V), ‖∇‖ per layer (L), ‖W‖ per layer (L),
                                   ‖ΔW‖/‖W‖ per layer (L), global ‖∇‖, learning rate,
                                   ‖∇‖ per block (B)],
        gathered into the order of two groups of tags: the gradients' (every logged step:
        per layer, per variable when ``per_variable``, global, learning rate) and the
        weights' (``weight_norm``, ``update_ratio``: on steps that are multiples of
        ``weights_every``).
        """
        variables = [i for p in self.with_variables for _, i in p.variables]
        self.n_variables = (max(variables) + 1) if variables else 0
        n_layers = len(self.with_variables)
        self.membership = np.zeros((self.n_variables, n_layers), "float32")
        tags, index, weight_tags, weight_index = [], [], [], []
        for layer, plan in enumerate(self.with_variables):
            for name, i in plan.variables:
                self.membership[i, layer] = 1.0
                if self.per_variable:
                    tags.append(f"grad_norm/{plan.key}/{name}")
                    index.append(i)
            tags.append(f"grad_norm/{plan.key}")
            index.append(self.n_variables + layer)
            for offset, prefix in enumerate(("weight_norm", "update_ratio"), start=1):
                weight_tags.append(f"{prefix}/{plan.key}")
                weight_index.append(self.n_variables + offset * n_layers + layer)
        tags += ["grad_norm/global", "learning_rate"]
        index += [self.n_variables + 3 * n_layers, self.n_variables + 3 * n_layers + 1]
        # blocks: layers named hNN_... (nnkit's models) with several layers holding variables
        blocks = block_members(self.with_variables)
        self.block_membership = np.zeros((self.n_variables, len(blocks)), "float32")
        for column, (block, members) in enumerate(blocks.items()):
            for plan in members:
                for _, i in plan.variables:
                    self.block_membership[i, column] = 1.0
            tags.append(f"block_grad_norm/{block}")
            index.append(self.n_variables + 3 * n_layers + 2 + column)
        self.scalar_tags = tags + weight_tags
        self._scalar_index = np.array(index, "int32")
        self._weight_index = np.array(weight_index, "int32")
        self.scalar_rows = ScalarRows(3 * self.n_variables + 1)
        self._scalar_writer = ScalarWriter(tags)
        self._weight_writer = ScalarWriter(weight_tags)

    def _layout_histograms(self) -> None:
        tags = []
        for plan in self.with_variables:
            for name, _ in plan.variables:
                tags += [f"gradients/{plan.key}/{name}", f"weights/{plan.key}/{name}"]
        self.histogram_tags = tags + [f"activations/{plan.key}" for plan in self.probed]
        scalars = []
        for plan in self.probed:
            scalars += [f"activation_mean/{plan.key}", f"activation_std/{plan.key}"]
            if plan.can_die:
                scalars.append(f"dead_fraction/{plan.key}")
            elif plan.keeps_sign:
                scalars.append(f"negative_fraction/{plan.key}")
            if plan.saturates:
                scalars.append(f"saturated_fraction/{plan.key}")
        # per-head attention entropy of nnkit's attention layers (None: there are none)
        self.attention = AttentionTaps.for_plans(self.plans)
        self.histogram_scalar_tags = scalars + [f"distinct_units/{p.key}"
                                                for p in self.with_kernel]
        if self.attention is not None:
            self.histogram_scalar_tags += self.attention.tags
        self._histogram_writer = HistogramWriter(self.histogram_tags)
        self.histogram_scalar_rows = ScalarRows(len(self.histogram_scalar_tags))
        self._histogram_scalar_writer = ScalarWriter(self.histogram_scalar_tags)

    def activation_capture(self) -> ActivationCapture | None:
        """The capture of the probed layers' outputs, installed on them; None when no step
        logs activations."""
        if not (self.histogram_every and self.probed):
            return None
        capture = ActivationCapture([p.layer for p in self.probed])
        capture.install()
        return capture

    def open(self, folder) -> None:
        """Open the outputs in ``folder`` (once): TensorFlow's summary writer, which the step
        writes histograms with, and the event file the scalar rows are appended to."""
        if self.writer is None:
            self.writer = tf.summary.create_file_writer(str(folder), max_queue=10_000,
                                                        flush_millis=30_000)
            self.scalar_file = EventFile(folder)

    # --- called inside the training step --------------------------------------------------

    def due(self, step: int) -> tuple[bool, bool]:
        """(scalars, histograms): what the step numbered ``step`` records (Python ints:
        the training step picks the compiled function that records just that). A step that
        logs the scalars takes a row of :class:`ScalarRows`, written out first if full."""
        kind = (step % self.every == 0,
                self.histogram_every > 0 and step % self.histogram_every == 0)
        stores = [(kind[0], self.scalar_rows), (kind[1], self.histogram_scalar_rows)]
        if self.through_time is not None:
            stores.append((kind[0], self.through_time.rows))
        for due, rows in stores:
            if due:
                if rows.pending >= rows.capacity:
                    self.flush()
                rows.pending += 1
        return kind

    def flush(self) -> None:
        """Write the stored scalar rows to the event file, add them to the epoch's flow and
        look in them for the first non-finite gradient."""
        rows, steps = self.scalar_rows.take()
        histogram_rows = self.histogram_scalar_rows.take()
        time_norms, time_steps = (self.through_time.take() if self.through_time is not None
                                  else ([], np.zeros(0)))
        if self.scalar_file is None or not (len(rows) or len(histogram_rows[0])
                                            or len(time_steps)):
            return
        if len(time_steps):
            self.through_time.write(self.scalar_file, time_norms, time_steps)
            if self.diagnosis is not None:
                self.diagnosis.add_through_time(time_steps, [p.key for p in
                                                             self.through_time.plans],
                                                time_norms)
        if len(rows) and self.skips_overflow:
            applied = np.isfinite(rows[:, :self.n_variables]).all(axis=1)
            rows, steps = rows[applied], steps[applied]
        if len(rows):
            pool, layer_grad, squares = self._scalar_values(rows)
            self._flow_sum += layer_grad.sum(axis=0)
            self._flow_count += len(rows)
            self._find_nonfinite(layer_grad, steps)
            self._scalar_writer.write(self.scalar_file, pool[:, self._scalar_index], steps)
            due = steps % self.weights_every == 0
            self._weight_writer.write(self.scalar_file, pool[due][:, self._weight_index],
                                      steps[due])
            if self.diagnosis is not None:
                self.diagnosis.add_gradient_rows(steps, *self._kernel_gradients(squares))
        self._histogram_scalar_writer.write(self.scalar_file, *histogram_rows)
        if self.diagnosis is not None and len(histogram_rows[0]):
            self.diagnosis.add_activation_rows(self.histogram_scalar_tags, *histogram_rows)
        self.scalar_file.flush()

    def _scalar_values(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(the values of every tag [k, pool], ‖∇‖ per layer [k, L], the squares [k, 3, V])
        from stored rows [k, 3V+1]: per-variable squares summed into layers by the
        membership matrix."""
        squares = 2.0 * rows[:, :-1].astype("float64").reshape(len(rows), 3, self.n_variables)
        with np.errstate(invalid="ignore", over="ignore"):  # a failing run's NaN/Inf stay
            layer_grad, layer_weight, layer_update = np.moveaxis(
                np.sqrt(squares @ self.membership), 1, 0)
            pool = np.concatenate([np.sqrt(squares[:, 0]), layer_grad, layer_weight,
                                   layer_update / (layer_weight + 1e-12),
                                   np.sqrt(squares[:, 0].sum(axis=1))[:, None],
                                   rows[:, -1:], np.sqrt(squares[:, 0] @ self.block_membership)],
                                  axis=1)
        return pool, layer_grad, squares

    def _kernel_gradients(self, squares: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(log10 ‖∇W‖/‖W‖ per kernel [k, kernels], global ‖∇‖ [k]) from the squares
        [k, 3, V]: the kernel alone (a bias' gradient, large at the top of a net whose
        signal has collapsed, would otherwise mask the kernels'); NaN where W = 0 or a
        value is not finite."""
        kernels = [p.kernel for p in self.with_kernel]
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            relative = np.log10(np.sqrt(squares[:, 0, kernels] / squares[:, 1, kernels]))
            relative[~np.isfinite(relative)] = np.nan
            return relative, np.sqrt(squares[:, 0].sum(axis=1))

    def _find_nonfinite(self, layer_grad: np.ndarray, steps: np.ndarray) -> None:
        """Keep (step, layer) of the first gradient found NaN or infinite: the first layer,
        from the input, whose gradient norm is not finite."""
        bad = ~np.isfinite(layer_grad)
        if self.first_nonfinite[0] < 0 and bad.any():
            row = int(np.argmax(bad.any(axis=1)))
            self.first_nonfinite = (int(steps[row]), int(np.argmax(bad[row])))

    def weight_statistics(self, variables) -> dict:
        """What histogram steps log of the weights, read at the step's start (call before
        ``optimizer.apply``; the step's control dependencies keep these reads before its
        writes), like ‖W‖: the weights the gradient was taken at, so step 0 shows the
        initialisation."""
        return {"histograms": {i: histogram(variables[i]) for plan in self.with_variables
                               for _, i in plan.variables},
                "distinct": [stats.distinct_units(variables[p.kernel]) for p in self.with_kernel]}

    def record(self, step, gradients, weights, updates, activations, learning_rate,
               scalars: bool = True, histograms: bool = True, probe_activations=None,
               time_squares=None) -> None:
        """Store this step's scalars and/or write its histograms (decided when traced);
        ``updates`` measured W and ΔW around ``apply``
        (:func:`~nnkit.instrument.updates.update_meter`; scalar steps only), ``weights`` is
        :meth:`weight_statistics` (histogram steps only), ``probe_activations`` the probed
        layers' outputs on the probe set (:attr:`probe_inputs`), which dead units are
        counted over (without it: over the batch). ``time_squares``: the row of
        :meth:`TimeRecorder.squares` (scalar steps; :attr:`through_time`)."""
        gradients = [stats.dense_values(g) for g in gradients]  # a sparse one once, for both
        if scalars:
            squares = [stats.half_squared_norm(g) for g in gradients]
            squares += updates.weight_squares() + updates.update_squares()
            self.scalar_rows.append(step, tf.stack(
                squares + [tf.cast(learning_rate, tf.float32)]))
            if time_squares is not None:
                self.through_time.rows.append(step, time_squares)
        if histograms:
            # only histograms are written from the step: the writer context (whose exit
            # flushes the event file, an op in the step) is entered for them alone
            with self.writer.as_default(step=step):
                self._histograms(step, gradients, weights, activations, probe_activations)

    def _histograms(self, step, gradients, weights, activations, probe_activations) -> None:
        rows = []
        for plan in self.with_variables:
            for _, i in plan.variables:
                rows += [histogram(gradients[i]), weights["histograms"][i]]
        # a probed layer this pass did not call: an empty histogram and NaN statistics
        # (made here: an op at import would start TensorFlow before a strategy exists)
        activations = [tf.fill([1, 1], _NAN) if output is None else tf.cast(output, tf.float32)
                       for output in activations]
        rows += [histogram(output) for output in activations]
        if rows:
            self._histogram_writer.write(tf.stack(rows))
        values = []
        for index, (plan, output) in enumerate(zip(self.probed, activations)):
            values += list(stats.mean_and_std(output))
            if plan.can_die or plan.keeps_sign:  # for keeps_sign the count is not death
                over = output if probe_activations is None else probe_activations[index]
                values.append(_NAN if over is None else stats.dead_fraction(over))
            if plan.saturates:
                values.append(stats.saturated_fraction(output, plan.saturates))
        values += [tf.cast(count, tf.float32) for count in weights["distinct"]]
        if self.attention is not None:
            values += self.attention.entropies()
        if values:
            self.histogram_scalar_rows.append(step, tf.stack(values))

    # --- read from Python, once per epoch ---------------------------------------------------

    @property
    def epoch_flow_so_far(self) -> tuple[np.ndarray, int]:
        """(sum of the layer gradient norms, rows) flushed in this epoch so far."""
        return self._flow_sum.copy(), self._flow_count

    @epoch_flow_so_far.setter
    def epoch_flow_so_far(self, value: tuple[np.ndarray, int]) -> None:
        self._flow_sum, self._flow_count = np.asarray(value[0], "float64").copy(), int(value[1])

    def take_epoch_flow(self):
        """Mean layer gradient norms over the rows flushed since the last call, then reset
        (call after :meth:`flush`)."""
        count, means = self._flow_count, self._flow_sum / max(self._flow_count, 1)
        self._flow_sum, self._flow_count = np.zeros_like(self._flow_sum), 0
        return means if count else None
