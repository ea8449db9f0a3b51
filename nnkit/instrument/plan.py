"""Which layers are instrumented, and their TensorBoard tags.

Tags sort by depth: a layer's key is ``<index>_<name>`` with its position in
``model.layers`` zero-padded (``03_dense_2``). The scheme, stable for dashboards and
``nnkit report``:

====================================  ==========================================
``grad_norm/<key>/<variable>``        ‖∇v‖₂ of one trainable variable (kernel, bias, gamma...)
``grad_norm/<key>``                   ‖∇‖₂ over all the layer's trainable variables
``grad_norm/global``                  ‖∇‖₂ over the whole model
``weight_norm/<key>``                 ‖W‖₂ over the layer's trainable variables (step's start)
``update_ratio/<key>``                ‖ΔW‖₂ / ‖W‖₂ of this step's update
``learning_rate``                     the optimizer's current learning rate
``activation_mean/<key>``, ``activation_std/<key>``   of the layer's output over the batch
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


@dataclass
class LayerPlan:
    """One instrumented layer: its tag key and where its variables sit in the model."""

    key: str
    name: str
    variables: list[tuple[str, int]] = field(default_factory=list)  # (short name, index)
    kernel: int | None = None  # index of the kernel among the trainable variables
    probed: bool = False  # its output is an activation worth statistics
    can_die: bool = False  # its activation is exactly 0 below 0 (CAN_DIE)
    keeps_sign: bool = False  # SIGN_KEEPING: its negative regime is measured instead
    saturates: str | None = None  # SATURATING: its activation, for the saturated fraction


def _activation_name(layer) -> str | None:
    if isinstance(layer, Activation):
        return layer.activation
    if isinstance(layer, PReLU):
        return "prelu"
    if isinstance(layer, RReLU):
        return "rrelu"
    if isinstance(layer, keras.layers.Activation):
        return getattr(layer.activation, "__name__", "activation")
    if isinstance(layer, keras.layers.ReLU):  # negative_slope > 0 makes it a leaky ReLU
        return "leaky_relu" if float(getattr(layer, "negative_slope", 0) or 0) else "relu"
    return None


def plan_layers(model: keras.Model) -> list[LayerPlan]:
    """The instrumented layers of ``model`` in depth order."""
    positions = {v.path: i for i, v in enumerate(model.trainable_variables)}
    width = max(2, len(str(len(model.layers))))
    plans = []
    for index, layer in enumerate(model.layers):
        activation = _activation_name(layer)
        variables = [(v.path.split("/")[-1], positions[v.path]) for v in layer.trainable_weights
                     if v.path in positions]
        if not variables and activation is None:
            continue
        kernel = next((i for name, i in variables if name == "kernel"), None)
        plans.append(LayerPlan(f"{index:0{width}d}_{layer.name}", layer.name, variables, kernel,
                               probed=activation is not None,
                               can_die=activation in CAN_DIE,
                               keeps_sign=activation in SIGN_KEEPING,
                               saturates=activation if activation in SATURATING else None))
    return plans
