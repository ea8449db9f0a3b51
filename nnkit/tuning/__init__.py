"""``nnkit tune``: hand a config and its ``search:`` space to Keras Tuner.

The tune folder ``<log dir>/<experiment>/tune/`` is fixed, so running the same command
again continues the search (finished trials are not re-run); ``overwrite`` starts over. It
holds the tuner's project (``tuner/``), every trial's logs (``trials/trial_<id>/``),
``search.yaml`` (what was searched, to detect a changed space), ``trials.csv`` and
``best.yaml``, a complete config that ``nnkit run`` re-runs.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import keras_tuner as kt
import yaml

from nnkit.config import ConfigError, ExperimentConfig, dump, yaml12
from nnkit.findings import stopped_by_text
from nnkit.training.run_dir import read_metrics, write_csv
from nnkit.tuning.hypermodel import NnkitHyperModel
from nnkit.tuning.space import validate

TUNERS = {"random": kt.RandomSearch, "hyperband": kt.Hyperband,
          "bayesian": kt.BayesianOptimization, "grid": kt.GridSearch}


@dataclass
class TuneResult:
    folder: Path
    best_config: Path
    best_score: float | None
    trials: list[dict]


def _tuner_class(kind: str):
    class Tuner(TUNERS[kind]):
        """Tells the hypermodel which trial it builds, for the trial's log folder."""

        def run_trial(self, trial, *args, **kwargs):
            self.hypermodel.current_trial = trial
            self.hypermodel.execution = 0
            return super().run_trial(trial, *args, **kwargs)

    return Tuner


def _fingerprint(config: ExperimentConfig) -> dict:
    """What may not change between runs of one search (max_trials and max_epochs may)."""
    data = config.model_dump(mode="json")
    search = data.pop("search")
    data.pop("experiment")
    for key in ("max_trials", "max_epochs"):
        search.pop(key)
    return {"search": search, "config": data}


def _check_unchanged(folder: Path, config: ExperimentConfig) -> None:
    saved = folder / "search.yaml"
    current = _fingerprint(config)
    if saved.exists():
        previous = yaml12.load(saved.read_text())
        if previous != current:
            changed = sorted(k for part in ("search", "config")
                             for k in set(previous.get(part, {})) | set(current[part])
                             if previous.get(part, {}).get(k) != current[part].get(k))
            raise ConfigError([f"search: the search in {folder} was started with a different "
                               f"space or config (changed: {', '.join(changed)}); run with "
                               "--overwrite to start over, or use another experiment.name"])
    folder.mkdir(parents=True, exist_ok=True)
    saved.write_text(yaml.safe_dump(current, sort_keys=False))


def configure_role(role: str | None, oracle: str | None) -> None:
    """Keras Tuner's chief/worker mode through its environment variables."""
    if role is None:
        return
    if not oracle or ":" not in oracle:
        raise ConfigError([f"--oracle: expected HOST:PORT for --role {role}, got {oracle!r}"])
    host, port = oracle.rsplit(":", 1)
    os.environ["KERASTUNER_ORACLE_IP"], os.environ["KERASTUNER_ORACLE_PORT"] = host, port
    os.environ["KERASTUNER_TUNER_ID"] = "chief" if role == "chief" else \
        os.environ.get("KERASTUNER_TUNER_ID", f"tuner{os.getpid()}")


def tune(config_path, overrides: list[str], config: ExperimentConfig, overwrite: bool = False,
         verbose: int = 1) -> TuneResult:
    """Run (or continue) the search; return the tune folder and the best config."""
    search = config.search
    validate(config_path, overrides, search.space)
    folder = Path(config.experiment.log_dir) / config.experiment.name / "tune"
    chief_or_single = os.environ.get("KERASTUNER_TUNER_ID", "chief") == "chief"
    if overwrite and folder.exists() and chief_or_single:
        shutil.rmtree(folder)
    _check_unchanged(folder, config)
    hypermodel = NnkitHyperModel(config_path, overrides, search.space, folder / "trials")
    common = dict(hypermodel=hypermodel,
                  objective=kt.Objective(search.objective.metric, search.objective.direction),
                  seed=search.seed if search.seed is not None else config.experiment.seed,
                  executions_per_trial=search.executions_per_trial,
                  directory=str(folder), project_name="tuner", overwrite=False)
    if search.tuner == "hyperband":
        tuner = _tuner_class("hyperband")(max_epochs=search.max_epochs, factor=search.factor,
                                          **common)
    else:
        tuner = _tuner_class(search.tuner)(max_trials=search.max_trials, **common)
    tuner.search(verbose=verbose)
    if not chief_or_single:
        return TuneResult(folder, folder / "best.yaml", None, [])
    trials = _trials(tuner, search.space, folder / "trials")
    write_csv(folder / "trials.csv", trials)
    best = tuner.oracle.get_best_trials(1)
    if not best:
        raise RuntimeError(f"no trial of the search in {folder} completed; see trials.csv")
    best_config = hypermodel.config_for(best[0].hyperparameters)
    if "tuner/epochs" in best[0].hyperparameters.values:
        best_config.training.epochs = int(best[0].hyperparameters.values["tuner/epochs"])
    (folder / "best.yaml").write_text(
        f"# best trial {best[0].trial_id} of {folder}: {search.objective.metric} = "
        f"{best[0].score}\n" + dump(best_config))
    return TuneResult(folder, folder / "best.yaml", best[0].score, trials)


def _pruned_by(trial_dir: Path) -> str:
    """The finding that stopped one of the trial's executions (``training.stop_on``), or ""."""
    for path in sorted(trial_dir.glob("execution_*/metrics.json")):
        stopped_by = read_metrics(path.parent).get("stopped_by")
        if stopped_by:
            return stopped_by_text(stopped_by)
    return ""


def _trials(tuner, space, trials_dir: Path) -> list[dict]:
    """trials.csv's rows; a trial stopped early by a finding is PRUNED (Keras Tuner has its
    score, from the epochs it ran, and counts it as completed)."""
    rows = []
    for trial_id, trial in sorted(tuner.oracle.trials.items()):
        values = trial.hyperparameters.values
        pruned_by = _pruned_by(trials_dir / f"trial_{trial_id}")
        rows.append({"trial": trial_id, **{p: values.get(p, "") for p in space},
                     "score": trial.score, "status": "PRUNED" if pruned_by else trial.status,
                     "pruned_by": pruned_by})
    return rows


__all__ = ["NnkitHyperModel", "TuneResult", "configure_role", "tune"]
