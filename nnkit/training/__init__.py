"""Training: build an experiment from a config, fit it, write the run folder."""

from nnkit.training.build import Experiment, ExperimentError, build_experiment, compile_model
from nnkit.training.model import TrainingModel
from nnkit.training.nan_guard import NonFiniteError
from nnkit.training.run import RunResult, run, train
from nnkit.training.run_dir import RunDirError, create_run_dir

__all__ = ["Experiment", "ExperimentError", "NonFiniteError", "RunDirError", "RunResult", "TrainingModel",
           "build_experiment", "compile_model", "create_run_dir", "run", "train"]
