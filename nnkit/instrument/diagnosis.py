"""End-of-run diagnosis: vanishing or exploding gradients, dying ReLUs, symmetry, NaN.

Each finding names the layer and the step, and suggests the remedies the notes give.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

REMEDIES = {
    "vanishing_gradients": "use a ReLU-family activation instead of sigmoid/tanh; He or LeCun "
                           "initialisation; batch normalisation; residual connections; fewer "
                           "layers",
    "exploding_gradients": "lower the learning rate; Glorot/He initialisation instead of large "
                           "random weights; batch normalisation; gradient clipping (clipnorm)",
    "dying_relu": "lower the learning rate; leaky ReLU, PReLU or ELU; He initialisation; "
                  "batch normalisation",
    "symmetric_layer": "initialise kernels randomly (glorot_uniform, he_normal): units that "
                       "start equal get equal gradients and stay equal",
    "non_finite": "lower the learning rate; clip gradients (clipnorm); standardise the inputs",
}


@dataclass
class Finding:
    kind: str
    layer: str
    step: int
    message: str
    remedy: str

    def __str__(self) -> str:
        return f"{self.kind} at {self.layer} (step {self.step}): {self.message}. Try: {self.remedy}"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Thresholds:
    vanishing: float = 1e-2  # ‖∇ first layer‖ / ‖∇ last layer‖ below this
    exploding: float = 1e2  # ... above this, or the global norm above exploding_norm
    exploding_norm: float = 1e3
    dead: float = 0.5  # fraction of dead units in a ReLU-family layer


def diagnose(keys: list[str], flow: np.ndarray | None, step: int, dead_keys: list[str],
             dead: np.ndarray, kernel_keys: list[str], distinct: np.ndarray, units: list[int],
             nonfinite: tuple[int, int], thresholds: Thresholds) -> list[Finding]:
    """Findings from the last epoch's mean layer gradient norms and the latest statistics.

    ``keys`` and ``flow`` are the layers with variables, input first; the ratio compares the
    first and the last layer that has a kernel.
    """
    findings = []
    if nonfinite[0] >= 0:
        findings.append(Finding("non_finite", keys[nonfinite[1]], int(nonfinite[0]),
                                "the gradient became NaN or infinite", REMEDIES["non_finite"]))
    if flow is not None and kernel_keys:
        norms = dict(zip(keys, flow))
        first, last = norms[kernel_keys[0]], norms[kernel_keys[-1]]
        if np.isfinite(first) and np.isfinite(last) and last > 0:
            ratio = first / last
            if ratio < thresholds.vanishing:
                findings.append(Finding(
                    "vanishing_gradients", kernel_keys[0], step,
                    f"its gradient norm is {ratio:.2e} times the last layer's "
                    f"(threshold {thresholds.vanishing:g})", REMEDIES["vanishing_gradients"]))
            elif ratio > thresholds.exploding:
                findings.append(Finding(
                    "exploding_gradients", kernel_keys[0], step,
                    f"its gradient norm is {ratio:.2e} times the last layer's "
                    f"(threshold {thresholds.exploding:g})", REMEDIES["exploding_gradients"]))
        total = float(np.sqrt(np.nansum(np.square(flow))))
        if total > thresholds.exploding_norm:
            findings.append(Finding(
                "exploding_gradients", "global", step,
                f"the gradient norm averages {total:.2e} (threshold {thresholds.exploding_norm:g})",
                REMEDIES["exploding_gradients"]))
    for key, fraction in zip(dead_keys, dead):
        if fraction > thresholds.dead:
            findings.append(Finding("dying_relu", key, step,
                                    f"{fraction:.0%} of its units gave no positive output in "
                                    f"the last measured batch (threshold {thresholds.dead:.0%})",
                                    REMEDIES["dying_relu"]))
    for key, count, width in zip(kernel_keys, distinct, units):
        if width > 1 and count == 1:
            findings.append(Finding("symmetric_layer", key, step,
                                    f"all {width} units have identical weights",
                                    REMEDIES["symmetric_layer"]))
    return findings
