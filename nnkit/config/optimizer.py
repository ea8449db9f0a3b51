"""The ``optimizer`` section: one schema per optimizer, chosen by ``name``.

Every nnkit optimizer name has a ``keras:`` twin (``adam`` / ``keras:adam``) with the same
parameters, so a study can swap the hand-written update for Keras' own and nothing else.
Defaults are Keras' defaults.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from nnkit.config.base import FieldError, NonNegativeInt, PositiveInt, Section

Positive = Annotated[float, Field(gt=0)]
Beta = Annotated[float, Field(ge=0.0, lt=1.0)]


class OptimizerBase(Section):
    learning_rate: Positive = 0.001
    warmup_steps: NonNegativeInt = Field(0, description="linear warm-up from 0 over N steps")
    decay: Literal["none", "cosine", "exponential", "inverse_sqrt"] = Field(
        "none", description="after warm-up: cosine, exponential, or inverse_sqrt (lr · "
                            "sqrt(warmup_steps / step), the Transformer's)")
    decay_steps: PositiveInt = Field(1000, description="steps of the decay (after warm-up)")
    decay_rate: Annotated[float, Field(gt=0, le=1)] = Field(
        0.96, description="exponential decay: lr · rate^(step / decay_steps)")
    clipnorm: Positive | None = Field(None, description="clip each variable's gradient to "
                                                        "this L2 norm")
    clipvalue: Positive | None = Field(None, description="clip each gradient component to "
                                                         "[-clipvalue, clipvalue]")
    global_clipnorm: Positive | None = Field(
        None, description="rescale all gradients together so that their joint L2 norm is at "
                          "most this (Pascanu et al. 2013)")
    weight_decay: Annotated[float, Field(ge=0)] | None = Field(
        None, description="decoupled weight decay: W -= lr*weight_decay*W each step "
                          "(Loshchilov & Hutter 2019); model.l2 is the coupled loss term")


    @model_validator(mode="after")
    def _schedule_and_clipping(self):
        if self.decay == "inverse_sqrt" and not self.warmup_steps:
            raise FieldError("decay", "inverse_sqrt decays as sqrt(warmup_steps / step): give "
                                      "warmup_steps > 0")
        given = [k for k in ("clipnorm", "clipvalue", "global_clipnorm")
                 if getattr(self, k) is not None]
        if len(given) > 1:
            raise FieldError(given[1], f"give at most one of clipnorm, clipvalue and "
                                       f"global_clipnorm (Keras' rule); got {' and '.join(given)}")
        return self


class SGD(OptimizerBase):
    """W ← W - η∇W."""

    name: Literal["sgd", "keras:sgd"]
    learning_rate: Positive = 0.01


class Momentum(OptimizerBase):
    """V ← βV + η∇W; W ← W - V."""

    name: Literal["momentum", "keras:momentum"]
    learning_rate: Positive = 0.01
    momentum: Beta = 0.9


class NAG(OptimizerBase):
    """Nesterov: V ← βV + η∇W(W - βV); W ← W - V."""

    name: Literal["nag", "keras:nag"]
    learning_rate: Positive = 0.01
    momentum: Beta = 0.9
    lookahead: bool = Field(False, description="evaluate the gradient at W - βV (the notes' "
                                               "form) instead of Keras' equivalent rewrite")

    @model_validator(mode="after")
    def _lookahead_is_nnkit(self):
        if self.lookahead and self.name.startswith("keras:"):
            raise FieldError("lookahead", "the look-ahead form exists only for 'nag', not "
                                          "'keras:nag'")
        return self


class AdaGrad(OptimizerBase):
    """G ← G + (∇W)²; W ← W - η∇W / (√G + ε)."""

    name: Literal["adagrad", "keras:adagrad"]
    initial_accumulator_value: Annotated[float, Field(ge=0)] = 0.1
    epsilon: Positive = 1e-7


class RMSProp(OptimizerBase):
    """S ← ρS + (1-ρ)(∇W)²; W ← W - η∇W / (√S + ε)."""

    name: Literal["rmsprop", "keras:rmsprop"]
    rho: Beta = 0.9
    momentum: Beta = 0.0
    epsilon: Positive = 1e-7
    centered: bool = False


class AdaDelta(OptimizerBase):
    """Two moving averages: of squared gradients and of squared updates."""

    name: Literal["adadelta", "keras:adadelta"]
    rho: Beta = 0.95
    epsilon: Positive = 1e-7


class Adam(OptimizerBase):
    """Bias-corrected first and second moments of the gradient."""

    name: Literal["adam", "keras:adam"]
    beta_1: Beta = 0.9
    beta_2: Beta = 0.999
    epsilon: Positive = 1e-7
    amsgrad: bool = False


class AdamW(Adam):
    """Adam with decoupled weight decay, on by default (Loshchilov & Hutter 2019)."""

    name: Literal["adamw", "keras:adamw"]
    weight_decay: Positive = 0.004


OptimizerConfig = Annotated[
    Union[SGD, Momentum, NAG, AdaGrad, RMSProp, AdaDelta, Adam, AdamW],
    Field(discriminator="name")
]
