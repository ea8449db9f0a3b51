"""Which layers of any Keras model are instrumented, and their TensorBoard tags.

A layer's key is its path in the model: the names of the layers it sits in, from the model
down, joined by ``/`` (``encoder/block_2/dense``; the model's own name is left out). It
names the layer wherever it sits in ``model.layers``, so runs that differ in the dropout,
batch norm or activation layers around it share its tags, and their charts overlay. The
models nnkit builds name their layers by hidden block (``h03_dense``, ``h03_batch_norm``,
``output``), so their keys also sort by depth, block by block. Layers are planned in
depth order: the order a depth-first walk of the model's tracked layers meets them (for a
functional or Sequential model, the order of ``model.layers``); a layer shared by several
parents appears once, where it is first met.

====================================  ==========================================
``grad_norm/<key>/<variable>``        ‖∇v‖₂ of one trainable variable (kernel, bias, gamma...)
``grad_norm/<key>``                   ‖∇‖₂ over the layer's own trainable variables
``grad_norm/global``                  ‖∇‖₂ over the whole model
``weight_norm/<key>``                 ‖W‖₂ over the layer's own trainable variables (step's start)
``update_ratio/<key>``                ‖ΔW‖₂ / ‖W‖₂ of this step's update
``learning_rate``                     the optimizer's current learning rate
``activation_mean/<key>``, ``activation_std/<key>``   of the layer's output over the batch:
                                      activation layers, and layers with a fused
                                      ``activation=`` (the activation's output)
``dead_fraction/<key>``               ReLU, step: units with no positive output on any sample of
                                      the probe set (fixed training samples, inference mode)
``negative_fraction/<key>``           leaky ReLU, PReLU, RReLU, ELU, SELU: the same count (units
                                      only in the negative regime), which for them is not death
``saturated_fraction/<key>``          sigmoid, tanh, hard_tanh: outputs whose derivative is below
                                      a tenth of its maximum (over the batch)
``distinct_units/<key>``              units with different weights (1 = constant-init symmetry)
``gradients/…``, ``weights/…``, ``activations/<key>``  histograms
``gradient_flow``                     image: mean ‖∇‖ per layer over the epoch (log scale)
====================================  ==========================================
"""

from __future__ import annotations

from dataclasses import dataclass, field

import keras

from nnkit.instrument.statistics import RELATIVE_SLOPE
from nnkit.layers import Activation, PReLU, RReLU

# Activations whose whole negative side is exactly 0, value and gradient: a unit whose
# pre-activation stays negative passes no gradient and can die (the notes' dying ReLU).
# Leaky ReLU, PReLU, RReLU, ELU and SELU keep a gradient there: their units never die.
CAN_DIE = {"relu", "step"}
# Activations with sign(f(x)) = sign(x): a unit with no positive output saw only negative
# pre-activations, yet still passes gradient. Logged as negative_fraction, never "dead".
SIGN_KEEPING = {"leaky_relu", "elu", "selu", "prelu", "rrelu"}
# Activations that saturate: their derivative, read from the output, goes to 0 at both ends.
SATURATING = set(RELATIVE_SLOPE)
# Not statistics of a hidden signal: a probability (softmax) or the identity.
NOT_PROBED = {"linear", "softmax", "log_softmax"}
# Layers whose output is not their activation of one pre-activation (an LSTM's is
# o ⊙ tanh(c)): their output's mean and std are logged, no dead or saturated count.
# Modules whose layers with an `activation` attribute return that activation's output.
_FUSED_FROM = ("keras.", "nnkit.")
GATED = ("LSTM", "GRU", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")


@dataclass
class LayerPlan:
    """One instrumented layer: its tag key and where its variables sit in the model."""

    key: str
    variables: list[tuple[str, int]] = field(default_factory=list)  # (short name, index)
    kernel: int | None = None  # index of the kernel among the trainable variables
    probed: bool = False  # its output is an activation worth statistics
    can_die: bool = False  # its activation is exactly 0 below 0 (CAN_DIE)
    keeps_sign: bool = False  # SIGN_KEEPING: its negative regime is measured instead
    saturates: str | None = None  # SATURATING: its activation, for the saturated fraction
    layer: object = field(default=None, repr=False, compare=False)  # the Keras layer


def _function_name(function) -> str | None:
    """``relu`` for keras.activations.relu, an nnkit name or ``keras:relu`` string, ..."""
    if function is None:
        return None
    if isinstance(function, str):
        return function.split(":", 1)[-1]
    return getattr(function, "__name__", None) or type(function).__name__.lower()


def activation_name(layer) -> str | None:
    """The activation whose output ``layer`` returns (None: it has none worth statistics)."""
    if isinstance(layer, Activation):  # relu with negative_slope > 0 is a leaky ReLU
        name = layer.activation
        if name == "relu" and float(layer.params.get("negative_slope") or 0):
            name = "leaky_relu"
    elif isinstance(layer, PReLU):
        name = "prelu"
    elif isinstance(layer, RReLU):
        name = "rrelu"
    elif isinstance(layer, keras.layers.Activation):
        name = _function_name(layer.activation)
    elif isinstance(layer, keras.layers.ReLU):  # negative_slope > 0 makes it a leaky ReLU
        name = "leaky_relu" if float(getattr(layer, "negative_slope", 0) or 0) else "relu"
    elif isinstance(layer, keras.layers.LeakyReLU):
        name = "leaky_relu"
    elif isinstance(layer, keras.layers.ELU):
        name = "elu"
    elif type(layer).__name__ in GATED:
        name = "gated"
    elif type(layer).__module__.startswith(_FUSED_FROM):
        # a fused activation= argument: Dense, EinsumDense, Conv, SimpleRNN, nnkit's Dense
        # (a user's layer may keep an `activation` attribute and return something else)
        name = _function_name(getattr(layer, "activation", None))
    else:
        name = None
    return None if name in NOT_PROBED else name


def _sublayers(layer) -> list:
    """The layers ``layer`` tracks directly, in the order it tracks them."""
    if isinstance(layer, keras.Model) and hasattr(layer, "_operations"):  # functional
        return list(layer.layers)
    return list(layer._flatten_layers(include_self=False, recursive=False))


def _cell(layer):
    """The cell of a recurrent layer (an LSTM's LSTMCell), planned as part of the layer."""
    cell = getattr(layer, "cell", None)
    return cell if isinstance(cell, keras.layers.Layer) else None


def walk(model) -> list[tuple[str, object]]:
    """(key, layer) for ``model`` (key "") and every layer inside it, depth first, each once;
    a recurrent layer's cell is not visited (its variables are the layer's)."""
    seen, out = set(), []

    def visit(layer, key):
        if id(layer) in seen:
            return
        seen.add(id(layer))
        out.append((key, layer))
        cell = _cell(layer)
        if cell is not None:
            seen.add(id(cell))
        for sub in _sublayers(layer):
            visit(sub, f"{key}/{sub.name}" if key else sub.name)

    visit(model, "")
    return out


def _output_layers(model, walked: list | None = None) -> set[int]:
    """ids of the layers producing the model's outputs (predictions, not hidden signals):
    a functional model's output layers, and inside an output layer that is itself a model,
    its own; a subclassed model has no graph to read, so its last layer with weights (in
    tracked order, where Keras code defines the head) stands for its output. ``walked``:
    :func:`walk` of the model, when the caller has it."""
    found = set()
    if not hasattr(model, "_operations"):  # subclassed
        owners = [layer for _, layer in (walked or walk(model))[1:]
                  if layer._trainable_variables]
        return {id(owners[-1])} if owners else set()
    for tensor in getattr(model, "outputs", None) or []:
        history = getattr(tensor, "_keras_history", None)
        if history is not None:
            found.add(id(history[0]))
            if isinstance(history[0], keras.Model):
                found |= _output_layers(history[0])
    return found


def _short_name(variable, key: str, root: str) -> str:
    path = variable.path
    if root and path.startswith(root + "/"):
        path = path[len(root) + 1:]
    if key and path.startswith(key + "/"):
        return path[len(key) + 1:]
    return variable.name


def plan_layers(model: keras.Model) -> list[LayerPlan]:
    """The instrumented layers of ``model`` (built) in depth order, with unique keys."""
    positions = {id(v): i for i, v in enumerate(model.trainable_variables)}
    walked = walk(model)
    outputs = _output_layers(model, walked)
    plans, keys = [], set()
    for key, layer in walked:
        cell = _cell(layer)
        variables = [(_short_name(v, key, model.name), positions.pop(id(v)))
                     for v in layer._trainable_variables if id(v) in positions]
        if cell is not None:  # kernel, recurrent_kernel, bias under the layer's own key
            variables += [(_short_name(v, f"{key}/{cell.name}", model.name),
                           positions.pop(id(v)))
                          for v in cell.trainable_variables if id(v) in positions]
        activation = None if id(layer) in outputs or layer is model else activation_name(layer)
        if not variables and activation is None:
            continue
        key = _unique(key or model.name, keys)
        kernel = next((i for name, i in variables if name == "kernel"), None)
        plans.append(LayerPlan(key, variables, kernel,
                               probed=activation is not None,
                               can_die=activation in CAN_DIE,
                               keeps_sign=activation in SIGN_KEEPING,
                               saturates=activation if activation in SATURATING else None,
                               layer=layer))
    if positions:  # variables no tracked layer owns (a raw tf.Variable attribute)
        plans.append(LayerPlan(_unique("other", keys),
                               [(v.name, i) for v in model.trainable_variables
                                if (i := positions.get(id(v))) is not None]))
    return plans




def kernel_plans(model: keras.Model) -> list[LayerPlan]:
    """The planned layers that have a kernel (Dense, conv, recurrent ...), input first."""
    return [p for p in plan_layers(model) if p.kernel is not None]


def layer_table(plans: list[LayerPlan]) -> list[dict]:
    """The plan as JSON rows, in depth order: what ``layers.json`` holds."""
    return [{"key": p.key, "class": type(p.layer).__name__ if p.layer is not None else None,
             "variables": [name for name, _ in p.variables], "probed": p.probed,
             "can_die": p.can_die, "keeps_sign": p.keeps_sign, "saturates": p.saturates}
            for p in plans]


def _unique(key: str, taken: set[str]) -> str:
    candidate, n = key, 1
    while candidate in taken:
        n += 1
        candidate = f"{key}_{n}"
    taken.add(candidate)
    return candidate
