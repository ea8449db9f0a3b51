"""The ``model`` section: one schema per architecture, chosen by ``architecture``."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, field_validator, model_validator

from nnkit.catalog import ACTIVATIONS, INITIALIZERS
from nnkit.config.base import FieldError, Fraction, PositiveInt, Section, reference

Activation = reference(ACTIVATIONS, "activation of the hidden layers")
KernelInitializer = reference(INITIALIZERS, "initializer of the kernels")
BiasInitializer = reference(INITIALIZERS, "initializer of the biases")
BatchNorm = Literal["none", "before", "after"]


class ModelBase(Section):
    activation: Activation = "relu"
    kernel_initializer: KernelInitializer = "glorot_uniform"
    bias_initializer: BiasInitializer = "zeros"
    batch_norm: BatchNorm = Field("none", description="batch norm before or after the activation")
    dropout: Fraction = Field(0.0, description="dropout rate after each hidden layer")


class MLP(ModelBase):
    """A multi-layer perceptron: ``depth`` hidden dense layers, then the output layer."""

    architecture: Literal["mlp"]
    depth: PositiveInt = Field(2, description="number of hidden layers")
    units: Any = Field(64, description="width of every hidden layer, or a list (one per layer)",
                       json_schema_extra={"anyOf": [{"type": "integer", "minimum": 1},
                                                    {"type": "array",
                                                     "items": {"type": "integer", "minimum": 1},
                                                     "minItems": 1}]})
    residual: bool = Field(False, description="skip connections around each hidden layer")

    @field_validator("units")
    @classmethod
    def _units(cls, value):
        if isinstance(value, bool) or not isinstance(value, (int, list)):
            raise ValueError(f"expected a positive integer or a list of them, got {value!r}")
        values = value if isinstance(value, list) else [value]
        if not values:
            raise ValueError("the list of units is empty; give one width per hidden layer")
        for i, v in enumerate(values):
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                where = f"[{i}]" if isinstance(value, list) else ""
                raise ValueError(f"units{where} must be a positive integer, got {v!r}")
        return value

    @model_validator(mode="after")
    def _units_match_depth(self):
        if isinstance(self.units, list) and len(self.units) != self.depth:
            raise FieldError("units", f"has {len(self.units)} entries but depth is "
                                      f"{self.depth}; give one width per hidden layer")
        return self

    def widths(self) -> list[int]:
        return list(self.units) if isinstance(self.units, list) else [self.units] * self.depth


class CNN(ModelBase):
    """A small conv net: conv blocks (conv → [BN] → activation → [LRN] → max-pool), then dense."""

    architecture: Literal["cnn"]
    filters: list[PositiveInt] = Field(default_factory=lambda: [16, 32], min_length=1)
    kernel_size: PositiveInt = 3
    pool: bool = True
    lrn: bool = Field(False, description="local response normalisation after each conv block")
    dense_units: PositiveInt = 64


ModelConfig = Annotated[Union[MLP, CNN], Field(discriminator="architecture")]
