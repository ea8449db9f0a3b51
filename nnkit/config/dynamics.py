"""``logging.dynamics``: the research instruments of :mod:`nnkit.dynamics` on a schedule.

Off by default. Tiers after Cockpit's (Schneider et al. 2021), each adding to the last:

* ``economy``: gradient noise (B_simple, per-layer GSNR) every 10 steps, the penultimate
  features' effective rank every 100;
* ``business``: + the Hessian's trace (Hutchinson) every 100;
* ``full``: + the sharpness λ_max and its stability limit every 100 (the edge of stability).

Each instrument's interval can be set on its own (0: off). ``logging: {dynamics: full}``
is short for ``{dynamics: {tier: full}}``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from nnkit.config.base import NonNegativeInt, PositiveInt, Section

INSTRUMENTS = ("gradient_noise", "effective_rank", "hessian_trace", "sharpness")
TIERS = {
    "economy": {"gradient_noise": 10, "effective_rank": 100},
    "business": {"gradient_noise": 10, "effective_rank": 100, "hessian_trace": 100},
    "full": {"gradient_noise": 10, "effective_rank": 100, "hessian_trace": 100,
             "sharpness": 100},
}


class Dynamics(Section):
    tier: Literal["economy", "business", "full"] = Field(
        "economy", description="economy: gradient noise every 10 steps, effective rank every "
                               "100; business: + Hessian trace every 100; full: + sharpness "
                               "every 100")
    gradient_noise_every_n_steps: NonNegativeInt | None = Field(
        None, description="B_simple and per-layer GSNR every N steps (0: off; default: the "
                          "tier's)")
    effective_rank_every_n_steps: NonNegativeInt | None = Field(
        None, description="effective rank of the penultimate features (0: off)")
    hessian_trace_every_n_steps: NonNegativeInt | None = Field(
        None, description="Hutchinson's estimate of tr(H) (0: off)")
    sharpness_every_n_steps: NonNegativeInt | None = Field(
        None, description="λ_max of the Hessian and the optimizer's stability limit (0: off)")
    gradient_noise_on: Literal["probe", "batch"] = Field(
        "probe", description="probe: B_simple and GSNR on the probe batch in inference mode "
                             "(every layer, a forward and backward pass of its own); batch: on "
                             "the training batch, from the step's own backward pass (Dense and "
                             "conv layers only; needs nnkit's step: nnkit run with "
                             "logging.instrument, or nnkit.watch)")
    probe_samples: PositiveInt = Field(
        256, description="the fixed training samples every instrument measures on (drawn once "
                         "with the seed)")
    sharpness_iterations: PositiveInt = Field(
        20, description="Lanczos iterations (Hessian-vector products) per sharpness")
    trace_samples: PositiveInt = Field(10, description="Rademacher probes per trace estimate")
    edge_fraction: Annotated[float, Field(gt=0, le=2)] = Field(
        0.9, description="edge_of_stability: the sharpness at this fraction of the "
                         "optimizer's stability limit or above")

    @model_validator(mode="before")
    @classmethod
    def _tier_alone(cls, data: Any) -> Any:
        return {"tier": data} if isinstance(data, str) else data

    def schedule(self) -> dict[str, int]:
        """Instrument → every how many steps (only those on)."""
        tier = TIERS[self.tier]
        every = {name: getattr(self, f"{name}_every_n_steps") for name in INSTRUMENTS}
        every = {name: tier.get(name, 0) if n is None else n for name, n in every.items()}
        return {name: n for name, n in every.items() if n > 0}
