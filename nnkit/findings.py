"""What each kind of finding means: its statistic, threshold, remedy and source.

:data:`KINDS` is the registry the diagnosis (:mod:`nnkit.instrument.diagnosis`), the
``training.stop_on`` check and README's table of findings read. A :class:`Finding` is an
episode (:mod:`nnkit.instrument.episodes`) in words. Light: the config imports it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Kind:
    statistic: str  # what is measured
    threshold: str  # the logging key of its threshold ("" when fixed)
    remedy: str
    source: str  # paper or note


KINDS = {
    "vanishing_gradients": Kind(
        "depth trend of ‖∇W‖/‖W‖ over the kernels (least squares on log10), as the fitted "
        "ratio of the input end to the output end, per window of 32 logged steps",
        "vanishing_threshold",
        "a non-saturating activation (ReLU family) instead of sigmoid/tanh; He or LeCun "
        "initialisation; batch normalisation; residual connections; fewer layers",
        "Hochreiter 1991; Bengio et al. 1994; Glorot & Bengio 2010; the notes 003, 004"),
    "exploding_gradients": Kind(
        "the same ratio above its threshold, or the global ‖∇‖ (window mean) above "
        "exploding_norm",
        "exploding_threshold",
        "a lower learning rate; Glorot/He initialisation instead of large random weights; "
        "batch normalisation; gradient clipping (optimizer.clipnorm)",
        "Bengio et al. 1994; Pascanu et al. 2013; the notes 003, 004"),
    "vanishing_through_time": Kind(
        "trend of ‖∂L/∂hₜ‖ over the time steps t of a recurrent layer (the gradient reaching "
        "each hidden state, through every later step), as the fitted ratio of the first step "
        "to the last, per window of 32 logged steps",
        "vanishing_threshold",
        "for a simple RNN, a gated cell (LSTM, GRU); for an LSTM, whose gradient through the "
        "cell state shrinks by its forget gate f per step until training opens the gates, a "
        "larger forget-gate bias (model.forget_bias 1 to 3) or more steps; an orthogonal "
        "recurrent kernel; shorter sequences",
        "Bengio et al. 1994; Hochreiter & Schmidhuber 1997; Pascanu et al. 2013"),
    "exploding_through_time": Kind(
        "the same ratio above its threshold",
        "exploding_threshold",
        "gradient clipping (optimizer.clipnorm or clipvalue); a lower learning rate; an "
        "orthogonal recurrent kernel; a gated cell",
        "Bengio et al. 1994; Pascanu et al. 2013"),
    "signal_collapse": Kind(
        "depth trend of the activations' std (histogram steps), as the fitted ratio of the "
        "output end to the input end",
        "signal_collapse_threshold",
        "an initialisation matched to the activation (He for ReLU: Var w = 2/fan_in; "
        "LeCun for SELU); batch normalisation; fewer layers",
        "Glorot & Bengio 2010; He et al. 2015; Schoenholz et al. 2017; the notes 003"),
    "signal_explosion": Kind(
        "the same ratio above its threshold",
        "signal_explosion_threshold",
        "smaller initial weights (Glorot/He instead of N(0, 1)); batch normalisation; "
        "standardised inputs",
        "Glorot & Bengio 2010; He et al. 2015; the notes 003"),
    "saturation": Kind(
        "fraction of a sigmoid/tanh/hard_tanh layer's outputs (batch × units, histogram "
        "steps) where the derivative is below a tenth of its maximum",
        "saturation_threshold",
        "standardised inputs; Glorot initialisation; batch normalisation before the "
        "activation; a non-saturating activation",
        "LeCun et al. 1998 (Efficient BackProp); Glorot & Bengio 2010, section 3"),
    "dying_relu": Kind(
        "fraction of a ReLU/step layer's units with no positive output on any sample of the "
        "probe set (logging.probe_samples training samples, fixed for the run, inference "
        "mode), histogram steps",
        "dead_threshold",
        "a lower learning rate; leaky ReLU, PReLU or ELU; He initialisation; batch "
        "normalisation",
        "the notes 001 (dying ReLU), 004; Lu et al. 2019"),
    "symmetric_layer": Kind(
        "distinct units of a layer's kernel (histogram steps): 1 for a layer of several units",
        "",
        "initialise kernels randomly (glorot_uniform, he_normal): units that start equal get "
        "equal gradients and stay equal",
        "the notes 001 (zero and constant initialisation); Goodfellow et al. 2016, 8.4"),
    "stalled_training": Kind(
        "epoch-mean training loss over the loss of the best constant prediction (class "
        "frequencies, or the mean target; ln K for K balanced classes), from epoch "
        "stall_epochs on: within stall_tolerance of 1",
        "stall_tolerance",
        "look at the findings it overlaps (they name the cause); a learning rate "
        "10× larger or smaller; check the labels and the loss",
        "the notes 001 (a loss stuck at its initial value)"),
    "unstable_training": Kind(
        "the same ratio above 1 + stall_tolerance: the network does worse than a constant "
        "prediction",
        "stall_tolerance",
        "a lower learning rate (10× smaller); gradient clipping (optimizer.clipnorm); a "
        "learning-rate warm-up",
        "the notes 001 (a learning rate too large overshoots); Goodfellow et al. 2016, 8.1"),
    "edge_of_stability": Kind(
        "the sharpness λ_max of the loss Hessian on the probe batch (logging.dynamics: full), "
        "or for Adam and RMSProp the preconditioned λ_max(D⁻¹H), over the optimizer's "
        "stability limit at its learning rate (2/η; (2 + 2β)/η with momentum; "
        "(2 + 2β)/((1 + 2β)η) for Nesterov; (2 + 2β₁)/((1 - β₁)η) for Adam)",
        "",
        "nothing, if the loss still falls (training at the edge of stability is normal for "
        "full-batch and large-batch training, the loss falling non-monotonically); a lower "
        "learning rate, a learning-rate warm-up or a larger batch if it oscillates or "
        "diverges",
        "Cohen et al. 2021 (edge of stability); Cohen et al. 2022 (adaptive methods)"),
    "non_finite": Kind(
        "the loss, a gradient, or a validation/test value is NaN or infinite",
        "",
        "a lower learning rate; gradient clipping (optimizer.clipnorm); standardised inputs",
        "the notes 003 (exploding gradients)"),
}
CAUSES = ("vanishing_gradients", "exploding_gradients", "vanishing_through_time",
          "exploding_through_time", "signal_collapse", "signal_explosion", "saturation",
          "dying_relu", "symmetric_layer", "edge_of_stability")


@dataclass
class Finding:
    """An episode, worded. ``step`` is ``first_step`` (for readers of older runs)."""

    kind: str
    layer: str  # the layer, "a..b" for a depth range, "loss" or "global"
    first_step: int
    last_step: int
    peak: float
    threshold: float | None
    recovered: bool  # it had stopped firing by the end of the run
    message: str
    remedy: str
    layers: list[str]
    overlaps: list[str]  # other kinds of finding whose episodes overlap this one's steps

    @property
    def step(self) -> int:
        return self.first_step

    def __str__(self) -> str:
        return finding_text(self.to_dict())

    def to_dict(self) -> dict:
        return {**asdict(self), "step": self.step}


def coverage_text(coverage: dict) -> str:
    sharpness = (f"{coverage['sharpness_steps']} sharpness measurements, "
                 if coverage.get("sharpness_steps") else "")
    if coverage.get("time_windows"):
        sharpness += f"{coverage['time_windows']} through-time windows, "

    return (f"{coverage.get('gradient_windows', 0)} gradient windows, "
            f"{coverage.get('activation_steps', 0)} activation steps, {sharpness}"
            f"{coverage.get('epochs', 0)} epochs checked")


def summary_text(findings: list[dict], coverage: dict) -> str:
    """Findings (as dicts) in two groups, or "no problems found" with what was checked, or
    what could not be checked."""
    if not findings:
        missing = [what for what, key in (("gradients", "gradient_windows"),
                                          ("activations", "activation_steps"),
                                          ("the loss", "epochs")) if not coverage.get(key)]
        if missing:
            return (f"no problems found in what was checked ({coverage_text(coverage)}); not "
                    f"checked: {', '.join(missing)}")
        return f"no problems found ({coverage_text(coverage)})"
    lines = []
    for title, group in (("during training, recovered by the end",
                          [f for f in findings if f.get("recovered")]),
                         ("at the end of the run", [f for f in findings
                                                    if not f.get("recovered")])):
        if group:
            lines.append(f"{title}:")
            lines += [f"- {finding_text(f)}" for f in group]
    return "\n".join(lines)


def steps_text(f: dict) -> str:
    """"step 5" or "steps 0–319" of a finding's dict (a run's from before episodes has
    only ``step``)."""
    first, last = f.get("first_step", f.get("step")), f.get("last_step", f.get("step"))
    return f"step {first}" if first == last else f"steps {first}–{last}"


def finding_text(f: dict) -> str:
    """One finding (a dict of :class:`Finding`) on one line."""
    also = f"; together with {', '.join(f['overlaps'])}" if f.get("overlaps") else ""
    return (f"{f['kind']} at {f['layer']} ({steps_text(f)}): {f['message']}{also}. "
            f"Try: {f['remedy']}")


def stopped_by_text(stopped_by: dict) -> str:
    """What stopped a run (metrics.json's ``stopped_by``), short: for sweep.csv, trials.csv."""
    return f"stopped at epoch {stopped_by['epoch']} by {stopped_by['kind']} at " \
           f"{stopped_by['layer']}"
