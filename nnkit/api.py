"""The commands as Python functions: ``nnkit.run``, ``nnkit.sweep``, ``nnkit.tune``.

Each takes a config as a path, a mapping (what the YAML file would hold) or an
:class:`~nnkit.config.ExperimentConfig`, plus ``overrides`` (``["model.depth=8"]``, as
``-o`` takes them) and ``log_dir`` (where the run folders go, instead of
``experiment.log_dir``). Bad input raises :class:`~nnkit.config.ConfigError` (the same
one-line messages the CLI prints) or :class:`~nnkit.training.ExperimentError`; nothing is
written then. ::

    import nnkit
    result = nnkit.run("configs/quickstart.yaml", overrides=["training.epochs=3"])
    result.run_dir, result.metrics["test"], result.history["loss"], result.findings
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from nnkit.config import ConfigError, ExperimentConfig, as_config, dump


def _resolved(config, overrides, log_dir) -> ExperimentConfig:
    resolved = as_config(config, list(overrides or []))
    if log_dir is not None:
        resolved = resolved.model_copy(deep=True)
        resolved.experiment.log_dir = str(log_dir)
    return resolved


def run(config, overrides=None, log_dir: str | Path | None = None, verbose="auto"):
    """Train one experiment; returns a :class:`~nnkit.training.RunResult` (``run_dir``,
    ``metrics``, ``history``, ``findings``, ``model``)."""
    from nnkit.training import run as train_run

    return train_run(_resolved(config, overrides, log_dir), verbose=verbose)


def _as_file(config, folder: str) -> Path:
    """The config as a YAML file: sweeps and searches re-read it for every point."""
    path = Path(folder) / "config.yaml"
    path.write_text(dump(config))
    return path


def sweep(config, overrides=None, log_dir: str | Path | None = None, metric: str | None = None,
          new: bool = False, log=print):
    """Run the grid of the config's ``sweep`` section; returns a
    :class:`~nnkit.sweeping.SweepResult` (``sweep_dir``, ``rows``: sweep.csv's rows)."""
    from nnkit.sweeping import run_sweep

    resolved = _resolved(config, overrides, log_dir)
    if resolved.sweep is None:
        raise ConfigError(["sweep: the config has no sweep section (e.g. sweep: "
                           "{model.activation: [relu, tanh]})"])
    with tempfile.TemporaryDirectory(prefix="nnkit-sweep-") as folder:
        return run_sweep(_as_file(resolved, folder), [], resolved, metric, log=log, new=new)


def tune(config, overrides=None, log_dir: str | Path | None = None, overwrite: bool = False,
         verbose: int = 1):
    """Run (or continue) the Keras Tuner search of the config's ``search`` section; returns
    a :class:`~nnkit.tuning.TuneResult` (``folder``, ``best_config``, ``best_score``,
    ``trials``)."""
    from nnkit import tuning

    resolved = _resolved(config, overrides, log_dir)
    if resolved.search is None:
        raise ConfigError(["search: the config has no search section"])
    with tempfile.TemporaryDirectory(prefix="nnkit-tune-") as folder:
        return tuning.tune(_as_file(resolved, folder), [], resolved, overwrite, verbose)


__all__ = ["run", "sweep", "tune"]
