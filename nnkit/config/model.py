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


class ResNet(Section):
    """A CIFAR-style residual net (He et al. 2016): a 3×3 conv stem, ``len(widths)`` stages
    of basic blocks (two 3×3 convs each), global average pooling, the output layer."""

    architecture: Literal["resnet"]
    depth: Annotated[int, Field(ge=4)] = Field(
        20, description="weighted layers: 2 · blocks per stage · stages + 2 (20, 32, 56 with "
                        "3 stages)")
    widths: list[PositiveInt] = Field(default_factory=lambda: [16, 32, 64], min_length=1,
                                      description="filters of each stage; each stage after "
                                                  "the first halves the feature map")
    activation: Activation = "relu"
    kernel_initializer: KernelInitializer = "he_normal"
    batch_norm: bool = Field(True, description="batch norm after every conv")
    shortcut: Literal["projection", "identity"] = Field(
        "projection", description="across a stage boundary: 1×1 conv + BN (projection) or "
                                  "the zero-padded subsampled input (identity, option A)")
    preactivation: bool = Field(False, description="BN → g → conv order (He et al. 2016b)")
    plain: bool = Field(False, description="the same net without the skip connections")
    zero_init_residual: bool = Field(False, description="start each block's last BN scale "
                                                        "at 0 (Goyal et al. 2017)")
    l2: L2 = 0.0

    @model_validator(mode="after")
    def _depth_fits_stages(self):
        per = 2 * len(self.widths)
        if (self.depth - 2) % per:
            near = sorted({max(per + 2, (self.depth - 2) // per * per + 2),
                           (self.depth - 2) // per * per + per + 2})
            raise FieldError("depth", f"must be 2 · blocks · {len(self.widths)} stages + 2, "
                                      f"got {self.depth}; nearest: "
                                      f"{' or '.join(map(str, near))}")
        if self.zero_init_residual and not self.batch_norm:
            raise FieldError("zero_init_residual", "needs batch_norm: true (it zeroes the "
                                                   "last batch-norm scale of each block)")
        return self

    def blocks_per_stage(self) -> int:
        return (self.depth - 2) // (2 * len(self.widths))


class RNN(Section):
    """A recurrent net: ``layers`` stacked recurrent layers of ``cell``, the last one's
    final state h_T into the output layer. Cells are nnkit's (equal to Keras' own), and
    their hidden states are tapped for ‖∂L/∂hₜ‖ through time (``through_time/<layer>``)."""

    architecture: Literal["rnn"]
    cell: Literal["simple", "lstm", "gru"] = Field("lstm", description="simple (Elman), lstm "
                                                                      "or gru")
    units: PositiveInt = Field(32, description="hidden units of each recurrent layer")
    layers: PositiveInt = Field(1, description="stacked recurrent layers")
    activation: Activation = Field("tanh", description="the cell's activation (a simple "
                                                       "RNN's, the LSTM/GRU candidate's)")
    kernel_initializer: KernelInitializer = "glorot_uniform"
    recurrent_initializer: KernelInitializer = Field(
        "orthogonal", description="initializer of the recurrent kernels (hidden → hidden)")
    bias_initializer: BiasInitializer = "zeros"
    forget_bias: Annotated[float, Field(ge=0)] = Field(
        1.0, description="LSTM: initial forget-gate bias (Jozefowicz et al. 2015); 0 leaves "
                         "bias_initializer")
    unroll: bool = Field(False, description="unroll the loop in the graph (short sequences)")
    l2: L2 = 0.0


class Transformer(Section):
    """A Transformer encoder: embedding (tokens) or a dense projection (feature sequences),
    positional encoding, ``blocks`` × (multi-head self-attention, MLP), LayerNorm ``pre``
    or ``post``; a label per position for token tasks, else the mean over positions."""

    architecture: Literal["transformer"]
    blocks: PositiveInt = Field(2, description="encoder blocks")
    width: PositiveInt = Field(32, description="model width d (embedding and residual stream)")
    heads: PositiveInt = Field(4, description="attention heads (width must divide by it)")
    mlp_width: PositiveInt | None = Field(None, description="hidden width of each block's MLP "
                                                            "(null: 4 × width)")
    norm: Literal["pre", "post"] = Field("pre", description="LayerNorm before each sublayer "
                                                            "(pre) or after the residual sum "
                                                            "(post)")
    positional: Literal["sinusoidal", "learned"] = "sinusoidal"
    activation: Activation = Field("relu", description="the MLP's activation")
    kernel_initializer: KernelInitializer = "glorot_uniform"
    dropout: Fraction = Field(0.0, description="dropout on each sublayer's output")
    attention_dropout: Fraction = Field(0.0, description="dropout on the attention weights")
    l2: L2 = 0.0

    @model_validator(mode="after")
    def _heads_divide_width(self):
        if self.width % self.heads:
            raise FieldError("heads", f"width {self.width} does not divide into {self.heads} "
                                      f"heads; use a width that is a multiple of heads")
        return self


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


ModelConfig = Annotated[Union[MLP, CNN, ResNet, RNN, Transformer, Custom],
                        Field(discriminator="architecture")]
