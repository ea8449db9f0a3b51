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
L2 = Annotated[float, Field(ge=0, description="coupled L2: adds l2 * sum(W^2) over every kernel to "
                                              "the loss (optimizer.weight_decay is the decoupled "
                                              "form)")]


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
    l2: L2 = 0.0

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
    l2: L2 = 0.0


class Custom(ModelBase):
    """Your own Keras model: from a builder function or a saved ``.keras`` file.

    ``builder: "package.module:function"`` is called as ``function(model_section,
    input_shape)`` (this section, with ``options`` and the shared keys above, and the
    dataset's sample shape) and returns a Keras model; ``keras_file`` is loaded with
    ``safe_mode``. The model's output must match the dataset (one unit per class,
    probabilities for cross-entropy).
    """

    architecture: Literal["custom"]
    builder: str | None = Field(None, description='"package.module:function" returning a '
                                                  "keras.Model")
    keras_file: str | None = Field(None, description="a saved .keras model (loaded with "
                                                     "safe_mode)")
    options: dict[str, Any] = Field(default_factory=dict,
                                    description="passed to the builder in the section")

    @field_validator("builder")
    @classmethod
    def _builder(cls, value):
        if value is not None:
            module, _, function = value.partition(":")
            if not (module and function and all(p.isidentifier() for p in module.split("."))
                    and function.isidentifier()):
                raise ValueError(f'expected "package.module:function", got {value!r}')
        return value

    @field_validator("keras_file")
    @classmethod
    def _keras_file(cls, value):
        if value is not None and not value.endswith(".keras"):
            raise ValueError(f"expected a path ending in .keras, got {value!r}")
        return value

    @model_validator(mode="after")
    def _one_source(self):
        if (self.builder is None) == (self.keras_file is None):
            raise FieldError("builder", "give exactly one of builder "
                                        '("package.module:function") and keras_file')
        return self


ModelConfig = Annotated[Union[MLP, CNN, Custom], Field(discriminator="architecture")]
