"""The whole experiment config: what a YAML file may say, with every default."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from nnkit.catalog import LOSSES, METRICS
from nnkit.config.base import FieldError, NonNegativeInt, PositiveInt, Section, check_reference
from nnkit.config.data import DataConfig
from nnkit.config.dynamics import Dynamics
from nnkit.config.model import ModelConfig
from nnkit.config.optimizer import OptimizerConfig
from nnkit.config.search import Search
from nnkit.findings import KINDS


class Experiment(Section):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=100)] = Field(
        "experiment", description="folder name under the log dir (letters, digits, . _ -)")
    seed: int = Field(42, description="seeds Python, NumPy, TensorFlow and the data")
    log_dir: str = Field("logs", description="where run folders are created")
    description: str = ""
    deterministic: bool = Field(False, description="TensorFlow op determinism (slower)")


def _finding_kinds(value: Any) -> Any:
    if not isinstance(value, list):
        raise ValueError(f"expected a list of finding kinds, e.g. [non_finite, "
                         f"stalled_training], got {value!r}")
    for i, kind in enumerate(value):
        if kind not in KINDS:
            raise FieldError(i, f"unknown finding kind {kind!r}; one of "
                                f"{', '.join(KINDS)}")
    return value


class EarlyStopping(Section):
    monitor: str = "val_loss"
    min_delta: Annotated[float, Field(ge=0)] = 0.0
    patience: NonNegativeInt = 5
    restore_best: bool = True
    mode: Literal["auto", "min", "max"] = "auto"


class Checkpoint(Section):
    every_n_epochs: NonNegativeInt = Field(
        1, description="write a checkpoint every N epochs and after the last (0: not at "
                       "epoch ends)")
    every_n_steps: NonNegativeInt = Field(
        0, description="... and every N steps, mid-epoch too (0: not by steps); Keras "
                       "BackupAndRestore's save_freq")
    every_seconds: Annotated[float, Field(ge=0)] = Field(
        30.0, description="... but at most once every this many seconds: one due sooner is "
                          "written at the first step after that (0: no limit)")
    keep: PositiveInt = Field(2, description="keep the newest N checkpoints")


class Training(Section):
    epochs: PositiveInt = 10
    batch_size: PositiveInt = 32
    mode: Literal["batch", "stochastic", "minibatch"] = Field(
        "minibatch", description="batch: whole training set per step; stochastic: one sample; "
                                 "minibatch: batch_size samples")
    shuffle: bool = True
    validation_every_n_epochs: PositiveInt = Field(
        1, description="evaluate the validation split every N epochs (and after the last)")
    early_stopping: EarlyStopping | None = None
    checkpoint: Checkpoint = Field(default_factory=Checkpoint,
                                   description="for nnkit run --resume (see README)")
    stop_on: Annotated[list[str], BeforeValidator(_finding_kinds)] = Field(
        default_factory=lambda: ["non_finite"],
        description="finding kinds that stop the run at the end of the epoch they fire in "
                    "(status stopped; a sweep or tune records it as pruned); non_finite always "
                    "stops it")
    jit_compile: bool = Field(False, description="compile the train step with XLA")
    distribute: Literal["none", "mirrored", "multi_worker"] = Field(
        "none", description="none: one device; mirrored: every GPU of this machine (or "
                            "training.devices); multi_worker: the machines of TF_CONFIG")
    devices: list[str] | None = Field(
        None, description="mirrored: the devices, e.g. [GPU:0, GPU:1] (default: every GPU, "
                          "else every CPU device)")
    logical_cpus: NonNegativeInt = Field(
        0, description="split the CPU into N logical devices (try mirrored without GPUs; 0: "
                       "no split)")

    @model_validator(mode="after")
    def _devices_need_mirrored(self):
        if self.devices is not None and self.distribute != "mirrored":
            raise FieldError("devices", "devices are for distribute: mirrored; "
                                        f"distribute is '{self.distribute}'")
        if self.devices is not None and not self.devices:
            raise FieldError("devices", "expected at least one device, e.g. [GPU:0, GPU:1]")
        return self


class Logging(Section):
    instrument: bool = Field(True, description="per-layer gradient statistics in TensorBoard")
    every_n_steps: PositiveInt = Field(
        1, description="per-layer gradient norms (and the global one) every N steps")
    weights_every_n_logged: PositiveInt = Field(
        10, description="weight norms and update ratios (slow-moving) on every N-th of those "
                        "steps")
    per_variable: bool = Field(
        False, description="also each variable's gradient norm (grad_norm/<layer>/kernel, "
                           "/bias) besides the per-layer ones")
    histogram_every_n_steps: NonNegativeInt = Field(
        100, description="histograms, activation statistics, dead units (0: never)")
    probe_samples: NonNegativeInt = Field(
        256, description="training samples (fixed for the run) dead units are counted over, "
                         "at histogram steps (0: over each histogram step's batch)")
    image_every_seconds: Annotated[float, Field(ge=0)] = Field(
        10.0, description="log the gradient-flow image at most this often (0: every epoch)")
    vanishing_threshold: Annotated[float, Field(gt=0)] = Field(
        1e-2, description="vanishing gradients: ‖∇W‖/‖W‖ at the input end over the output end "
                          "(fitted across depth) below this")
    exploding_threshold: Annotated[float, Field(gt=0)] = Field(
        1e2, description="exploding gradients: that ratio above this")
    exploding_norm: Annotated[float, Field(gt=0)] = Field(
        1e3, description="... or the global gradient norm above this")
    signal_collapse_threshold: Annotated[float, Field(gt=0)] = Field(
        1e-2, description="signal collapse: the activations' std at the output end over the "
                          "input end (fitted across depth) below this")
    signal_explosion_threshold: Annotated[float, Field(gt=0)] = Field(
        1e2, description="signal explosion: that ratio above this")
    saturation_threshold: Annotated[float, Field(gt=0, le=1)] = Field(
        0.5, description="saturation: this fraction of a sigmoid/tanh layer's outputs "
                         "saturated")
    dead_threshold: Annotated[float, Field(gt=0, le=1)] = Field(
        0.5, description="dying ReLUs: this fraction of a layer's units dead")
    stall_tolerance: Annotated[float, Field(gt=0, lt=1)] = Field(
        0.05, description="stalled training: the loss within this fraction of a constant "
                          "prediction's loss ...")
    stall_epochs: PositiveInt = Field(3, description="... from this epoch on")
    preflight: bool = Field(
        True, description="before training, predict from the initial network whether the "
                          "signal and the gradient vanish or explode through depth (printed, "
                          "and metrics.json's preflight; nnkit check runs it alone)")
    dynamics: Dynamics | None = Field(
        None, description="curvature, gradient noise and effective rank on a schedule "
                          "(economy, business, full; see nnkit.dynamics); off by default")


def _loss_name(value: Any) -> Any:
    if value == "auto":
        return value
    return check_reference(LOSSES, value)


def _metric_names(value: Any) -> Any:
    if value is None:
        return value
    if not isinstance(value, list):
        raise ValueError(f"expected a list of metric names, got {value!r}")
    for i, name in enumerate(value):
        try:
            METRICS.check(name)
        except ValueError as error:
            raise FieldError(i, str(error)) from None
    return value


def _sweep_section(value: Any) -> Any:
    """Paths to non-empty lists; whether each path exists is checked when the grid expands."""
    if value is None:
        return value
    if not isinstance(value, dict) or not value:
        raise ValueError("expected a mapping of dotted config paths to lists of values, e.g. "
                         "{model.activation: [relu, tanh]}")
    for path, values in value.items():
        if not isinstance(path, str) or not all(path.split(".")):
            raise FieldError(str(path), f"'{path}' is not a dotted config path like model.depth")
        if path.split(".")[0] == "sweep" or path in ("experiment.name", "experiment.log_dir"):
            raise FieldError(path, f"'{path}' cannot be swept")
        if not isinstance(values, list) or not values:
            raise FieldError(path, f"expected a non-empty list of values, got {values!r}")
    return value


VARIANT_DEFAULTS = {"data": ("name", "digits"), "model": ("architecture", "mlp"),
                    "optimizer": ("name", "adam")}


class ExperimentConfig(Section):
    """A complete nnkit experiment. Every key has a default."""

    experiment: Experiment = Field(default_factory=Experiment)
    data: DataConfig = Field(default_factory=lambda: {"name": VARIANT_DEFAULTS["data"][1]})
    model: ModelConfig = Field(
        default_factory=lambda: {"architecture": VARIANT_DEFAULTS["model"][1]})
    optimizer: OptimizerConfig = Field(
        default_factory=lambda: {"name": VARIANT_DEFAULTS["optimizer"][1]})
    loss: Annotated[Any, BeforeValidator(_loss_name),
                    Field(description="loss name, 'auto', or keras:<name>; one of "
                                      f"{', '.join(LOSSES.names())}")] = "auto"
    metrics: Annotated[Any, BeforeValidator(_metric_names),
                       Field(description="metric names (default: accuracy or mae)")] = None
    training: Training = Field(default_factory=Training)
    logging: Logging = Field(default_factory=Logging)
    sweep: Annotated[dict[str, list[Any]] | None, BeforeValidator(_sweep_section),
                     Field(description="nnkit sweep: dotted config paths → lists of values")] = None
    search: Search | None = Field(None, description="nnkit tune: a Keras Tuner search")

    @model_validator(mode="before")
    @classmethod
    def _default_variants(cls, data: Any) -> Any:
        """A section given without its variant key gets the default variant."""
        if isinstance(data, dict):
            data = dict(data)
            for section, (key, default) in VARIANT_DEFAULTS.items():
                if isinstance(data.get(section), dict) and key not in data[section]:
                    data[section] = {key: default, **data[section]}
        return data

    @model_validator(mode="after")
    def _resolve(self):
        if self.data.seed is None:
            self.data.seed = self.experiment.seed
        if self.training.distribute != "none" and getattr(self.optimizer, "lookahead", False):
            raise FieldError(("optimizer", "lookahead"),
                             "the look-ahead form of NAG moves the weights inside the step and "
                             "cannot run under training.distribute; use lookahead: false (the "
                             "same trajectory, see the notes) or distribute: none")
        _check_model_reads_data(self.model.architecture, self.data.name)
        stopping = self.training.early_stopping
        if (stopping and stopping.monitor.startswith("val_")
                and self.training.validation_every_n_epochs != 1):
            raise FieldError(("training", "validation_every_n_epochs"),
                             f"early stopping on '{stopping.monitor}' needs the validation "
                             "loss every epoch; use 1")
        if stopping and stopping.monitor.startswith("val_") and self.data.validation_split == 0:
            raise FieldError(("training", "early_stopping", "monitor"),
                             f"'{stopping.monitor}' needs a validation set, but "
                             "data.validation_split is 0")
        return self


# The kinds of data each built-in architecture reads: "vectors" (feature vectors, images),
# "sequences" [time, features], "tokens" (integer ids [time]); the generated sets' kinds.
READS = {"mlp": {"vectors"}, "cnn": {"vectors"}, "resnet": {"vectors"},
         "rnn": {"sequences"}, "transformer": {"sequences", "tokens"}}
DATA_KINDS = {"adding": "sequences", "memory": "sequences", "copy": "sequences",
              "digits_sequence": "sequences", "tokens": "tokens"}
# (any other name reads as vectors; csv and npz files are decided when loaded)
_KIND_WORDS = {"vectors": "feature vectors or images", "sequences": "sequences [time, features]",
               "tokens": "token sequences"}


def wrong_kind(architecture: str, kind: str, what: str) -> str | None:
    """Why ``architecture`` cannot read data of ``kind``, or None; ``what`` names the data
    with its verb ("data 'adding' is")."""
    reads = READS.get(architecture)
    if reads is None or kind in reads:
        return None
    users = [a for a, kinds in READS.items() if kind in kinds]
    return (f"'{architecture}' reads {' or '.join(_KIND_WORDS[k] for k in sorted(reads))}, but "
            f"{what} {_KIND_WORDS[kind]}; use "
            f"{' or '.join(repr(a) for a in users)}")


def _check_model_reads_data(architecture: str, data_name: str) -> None:
    """An architecture given a dataset of the wrong kind (a sequence task to an MLP, feature
    vectors to a recurrent net): a located error before anything is built."""
    if data_name in ("csv", "npz"):
        return  # their kind is known once read: checked when the model is built
    problem = wrong_kind(architecture, DATA_KINDS.get(data_name, "vectors"),
                         f"data '{data_name}' is")
    if problem:
        raise FieldError(("model", "architecture"), problem)


def json_schema() -> dict:
    """The JSON Schema of a config file, for editors."""
    schema = ExperimentConfig.model_json_schema()
    schema["title"] = "nnkit experiment config"
    return schema
