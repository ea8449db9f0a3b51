"""Training: build an experiment from a config, fit it, write the run folder; resume it."""

from nnkit.training.build import Experiment, ExperimentError, build_experiment, compile_model
from nnkit.training.checkpoint import CheckpointError
from nnkit.training.interrupt import Interrupted
from nnkit.training.model import TrainingModel
from nnkit.training.nan_guard import NonFiniteError
from nnkit.training.run import AlreadyCompleted, RunResult, resume, run, train
from nnkit.training.run_dir import RunDirError, create_run_dir

__all__ = ["AlreadyCompleted", "CheckpointError", "Experiment", "ExperimentError",
           "Interrupted", "NonFiniteError", "RunDirError", "RunResult", "TrainingModel",
           "build_experiment", "compile_model", "create_run_dir", "resume", "run", "train"]
