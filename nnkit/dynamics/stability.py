"""The sharpness an optimizer can stand: its stability threshold on a quadratic.

On L(θ) = ½ λ θ², a step of

* gradient descent, θ ← θ - ηλθ, converges iff ηλ < 2;
* heavy-ball momentum (V ← βV + η∇, θ ← θ - V) iff ηλ < 2 + 2β;
* Nesterov's momentum (the gradient at θ - βV) iff ηλ < (2 + 2β)/(1 + 2β);

so full-batch training is stable only while λ_max < limit/η (Cohen et al. 2021, "Gradient
Descent on Neural Networks Typically Occurs at the Edge of Stability"). An adaptive method
steps along D⁻¹∇ with a diagonal preconditioner D, and the threshold applies to the
preconditioned sharpness λ_max(D⁻¹H) (Cohen et al. 2022, "Adaptive Gradient Methods at the
Edge of Stability"):

* Adam and AdamW with D = (1 - β₁ᵗ)(√v̂ + ε): heavy ball with step η(1 - β₁), so
  λ_max(D⁻¹H) < (2 + 2β₁)/((1 - β₁)η) (38/η at β₁ = 0.9);
* RMSProp with D = √v + ε: (2 + 2β)/η with its momentum β (2/η without).

Other optimizers (AdaGrad, AdaDelta, Adamax, ...) have no threshold here: None.
"""

from __future__ import annotations

import numpy as np


def _inner(optimizer):
    return getattr(optimizer, "inner_optimizer", optimizer)  # a loss-scale optimizer's


def _rule(optimizer) -> tuple[float, str | None] | None:
    """(η·limit, the preconditioner's kind or None), or None where no threshold is known."""
    import keras

    from nnkit import optimizers as nn

    o = _inner(optimizer)
    if isinstance(o, nn.NAG):
        b = o.momentum
        return (2 + 2 * b) / (1 + 2 * b), None
    if isinstance(o, nn.Momentum):
        return 2 + 2 * o.momentum, None
    if isinstance(o, nn.SGD):
        return 2.0, None
    if isinstance(o, keras.optimizers.SGD):
        b = float(o.momentum)
        return ((2 + 2 * b) / (1 + 2 * b) if o.nesterov else 2 + 2 * b), None
    if isinstance(o, (nn.Adam, keras.optimizers.Adam, keras.optimizers.AdamW)) and \
            not getattr(o, "amsgrad", False):
        b = float(o.beta_1)
        return (2 + 2 * b) / (1 - b), "adam"
    if isinstance(o, (nn.RMSProp, keras.optimizers.RMSprop)) and not o.centered:
        return 2 + 2 * float(o.momentum), "rmsprop"
    return None


def learning_rate(optimizer) -> float:
    """The optimizer's current learning rate (a schedule's value at its step)."""
    return float(np.asarray(_inner(optimizer).learning_rate))


def sharpness_limit(optimizer) -> float | None:
    """The threshold λ_max (or, for Adam and RMSProp, λ_max(D⁻¹H)) must stay below for the
    optimizer at its current learning rate to be stable on a quadratic; None if unknown."""
    rule = _rule(optimizer)
    return None if rule is None else rule[0] / learning_rate(optimizer)


def is_preconditioned(optimizer) -> bool:
    rule = _rule(optimizer)
    return rule is not None and rule[1] is not None


def _second_moments(o, variables) -> list:
    if hasattr(o, "second_moments") or hasattr(o, "velocities"):  # nnkit's
        slots = o.second_moments if hasattr(o, "second_moments") else o.velocities
        return [o.slot(slots, v) for v in variables]
    return [o._velocities[o._get_variable_index(v)] for v in variables]  # Keras'


def preconditioner(optimizer, variables) -> np.ndarray | None:
    """The diagonal D [P] (flat over ``variables``) of Adam or RMSProp at its current state,
    as in the module's docstring; None for an optimizer without one, or not yet built."""
    rule = _rule(optimizer)
    if rule is None or rule[1] is None:
        return None
    o = _inner(optimizer)
    if not o.built:
        return None
    v = np.concatenate([np.asarray(s, np.float64).ravel()
                        for s in _second_moments(o, variables)])
    epsilon = float(o.epsilon)
    if rule[1] == "rmsprop":
        return np.sqrt(v) + epsilon
    t = max(int(np.asarray(o.iterations)), 1)
    b1, b2 = float(o.beta_1), float(o.beta_2)
    return (1 - b1 ** t) * (np.sqrt(v / (1 - b2 ** t)) + epsilon)
