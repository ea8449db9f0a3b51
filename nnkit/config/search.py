"""The ``search`` section: a Keras Tuner search over dotted config paths.

    search:
      tuner: random            # random | hyperband | bayesian | grid
      objective: {metric: val_accuracy, direction: max}
      max_trials: 20
      space:
        model.activation: {choice: [relu, elu, selu]}
        model.depth: {int: [2, 8]}
        optimizer.learning_rate: {float: [0.0001, 0.1], sampling: log}
        model.batch_norm: {boolean: true}
        optimizer.momentum: {float: [0.5, 0.99], when: {optimizer.name: [momentum, nag]}}
"""

from __future__ import annotations

import builtins
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from nnkit.config.base import FieldError, PositiveInt, Section


class Objective(Section):
    metric: str = "val_loss"
    direction: Literal["min", "max"] = "min"


class Parameter(Section):
    """One dimension of the space: exactly one of choice, int, float, boolean."""

    choice: list[Any] | None = None
    int: list[builtins.int] | None = Field(None, description="[min, max], inclusive")
    float: list[builtins.float] | None = Field(None, description="[min, max]")
    boolean: bool | None = None
    step: Annotated[builtins.float, Field(gt=0)] | None = None
    sampling: Literal["linear", "log"] = "linear"
    when: dict[str, list[Any]] | None = Field(
        None, description="only when another (choice) parameter has one of these values")

    @model_validator(mode="after")
    def _one_kind(self):
        kinds = [k for k in ("choice", "int", "float", "boolean") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("give exactly one of choice, int, float, boolean; got "
                             f"{', '.join(kinds) or 'none'}")
        kind = kinds[0]
        if kind == "choice" and not self.choice:
            raise FieldError("choice", "the list of choices is empty")
        if kind in ("int", "float"):
            bounds = getattr(self, kind)
            if len(bounds) != 2:
                raise FieldError(kind, f"expected [min, max], got {bounds}")
            if bounds[0] > bounds[1]:
                raise FieldError(kind, f"min {bounds[0]} is greater than max {bounds[1]}")
            if self.sampling == "log" and bounds[0] <= 0:
                raise FieldError(kind, f"a log range needs positive bounds, got {bounds}")
        if self.when is not None and len(self.when) != 1:
            raise FieldError("when", "a condition names exactly one parameter")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ("choice", "int", "float", "boolean") if getattr(self, k) is not None)


class Search(Section):
    tuner: Literal["random", "hyperband", "bayesian", "grid"] = "random"
    objective: Objective = Field(default_factory=Objective)
    max_trials: PositiveInt = 10
    executions_per_trial: PositiveInt = 1
    max_epochs: PositiveInt = Field(10, description="hyperband: most epochs of a trial")
    factor: Annotated[int, Field(ge=2)] = Field(3, description="hyperband: reduction factor")
    seed: int | None = Field(None, description="tuner seed (default: experiment.seed)")
    space: dict[str, Parameter] = Field(min_length=1)

    @model_validator(mode="after")
    def _conditions_name_choices(self):
        for path, parameter in self.space.items():
            if path.split(".")[0] in ("search", "sweep") or path in ("experiment.name",
                                                                     "experiment.log_dir"):
                raise FieldError(("space", path), f"'{path}' cannot be searched")
            for parent in (parameter.when or {}):
                if parent not in self.space:
                    raise FieldError(("space", path, "when"),
                                     f"the condition names '{parent}', which is not in the space")
                if self.space[parent].kind != "choice":
                    raise FieldError(("space", path, "when"),
                                     f"the condition's parameter '{parent}' must be a choice")
        return self
