"""The ``data`` section: one schema per dataset, chosen by ``name``."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from nnkit.config.base import FieldError, Fraction, PositiveInt, Section

Noise = Annotated[float, Field(ge=0.0)]


class DataBase(Section):
    """Settings every dataset shares: splits, standardisation and seed."""

    validation_split: Fraction = Field(0.15, description="fraction held out for validation")
    test_split: Fraction = Field(0.15, description="fraction held out for the test set")
    standardize: bool = Field(True, description="zero mean, unit variance, fitted on train only")
    seed: int | None = Field(None, description="data seed (default: experiment.seed)")

    @model_validator(mode="after")
    def _splits_leave_training_data(self):
        if self.validation_split + self.test_split >= 1.0:
            raise FieldError("test_split", "validation_split + test_split must be < 1, got "
                             f"{self.validation_split} + {self.test_split}")
        return self


class Spirals(DataBase):
    """Interleaved spirals (the notes' polar-coordinates example)."""

    name: Literal["spirals"]
    n_samples: PositiveInt = 1000
    n_classes: Annotated[int, Field(ge=2)] = 2
    turns: Annotated[float, Field(gt=0)] = 1.5
    noise: Noise = 0.03


class Moons(DataBase):
    """Two interleaving half circles."""

    name: Literal["moons"]
    n_samples: PositiveInt = 1000
    noise: Noise = 0.1


class Circles(DataBase):
    """A small circle inside a large one."""

    name: Literal["circles"]
    n_samples: PositiveInt = 1000
    noise: Noise = 0.05
    factor: Annotated[float, Field(gt=0, lt=1)] = 0.5


class Xor(DataBase):
    """Points in [-1, 1]², label 1 where x₁·x₂ > 0."""

    name: Literal["xor"]
    n_samples: PositiveInt = 1000
    noise: Noise = 0.05


class Blobs(DataBase):
    """Isotropic Gaussian clusters, one class each."""

    name: Literal["blobs"]
    n_samples: PositiveInt = 1000
    centers: Annotated[int, Field(ge=2)] = 3
    n_features: PositiveInt = 2
    cluster_std: Annotated[float, Field(gt=0)] = 1.0


class Curve(DataBase):
    """Noisy regression curve y = sin(2πx) + x/2 + ε, x ~ U[-1, 1]."""

    name: Literal["curve"]
    n_samples: PositiveInt = 1000
    noise: Noise = 0.1


class Adding(DataBase):
    """The adding problem: sum the two marked values of a sequence of length ``length``
    (Hochreiter & Schmidhuber 1997). Inputs are kept as generated (``standardize`` off)."""

    name: Literal["adding"]
    n_samples: PositiveInt = 2000
    length: PositiveInt = Field(50, description="time steps T")
    standardize: bool = False


class Memory(DataBase):
    """Recall the symbol shown at the first step after ``length`` - 1 blank steps."""

    name: Literal["memory"]
    n_samples: PositiveInt = 2000
    length: PositiveInt = Field(20, description="time steps T")
    n_symbols: Annotated[int, Field(ge=2)] = 8
    standardize: bool = False


class Copy(DataBase):
    """The copy task: ``symbols`` symbols, ``delay`` blanks, then repeat them (a label per
    step; for rnn and transformer)."""

    name: Literal["copy"]
    n_samples: PositiveInt = 2000
    symbols: PositiveInt = Field(5, description="symbols to remember (K)")
    delay: PositiveInt = Field(20, description="blank steps between showing and repeating")
    n_symbols: Annotated[int, Field(ge=2)] = 8
    standardize: bool = False


class Tokens(DataBase):
    """Token sequences to reverse or sort: a label per position (for ``transformer``)."""

    name: Literal["tokens"]
    problem: Literal["reverse", "sort"] = "reverse"
    n_samples: PositiveInt = 2000
    length: Annotated[int, Field(ge=2)] = Field(8, description="tokens per sequence")
    vocabulary: Annotated[int, Field(ge=2)] = Field(10, description="distinct token ids")
    standardize: bool = False

    @model_validator(mode="after")
    def _ids_stay_ids(self):
        if self.standardize:
            raise FieldError("standardize", "token ids are categories, not measurements: "
                                            "leave standardize false for tokens")
        return self


class DigitsSequence(DataBase):
    """scikit-learn's digits read row by row: 8 time steps of 8 pixels."""

    name: Literal["digits_sequence"]


class Bundled(DataBase):
    """A dataset shipped inside scikit-learn (no download)."""

    name: Literal["digits", "iris", "wine", "breast_cancer"]


class KerasDataset(DataBase):
    """A ``keras.datasets`` set: downloaded once, then read from ~/.keras/datasets."""

    name: Literal["mnist", "fashion_mnist", "cifar10"]
    limit: PositiveInt | None = Field(None, description="keep only the first N samples")


class Csv(DataBase):
    """A CSV file with a header row; ``target`` names the label column."""

    name: Literal["csv"]
    path: str
    target: str
    task: Literal["auto", "binary", "multiclass", "regression"] = "auto"


class Npz(DataBase):
    """A NumPy .npz file with arrays ``x`` (features) and ``y`` (labels)."""

    name: Literal["npz"]
    path: str
    x_key: str = "x"
    y_key: str = "y"
    task: Literal["auto", "binary", "multiclass", "regression"] = "auto"


DataConfig = Annotated[
    Union[Spirals, Moons, Circles, Xor, Blobs, Curve, Adding, Memory, Copy, Tokens,
          DigitsSequence, Bundled, KerasDataset, Csv, Npz],
    Field(discriminator="name"),
]
