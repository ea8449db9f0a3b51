"""Trials per minute of ``nnkit tune`` with one worker and with two (target ratio ≥ 1.6).

    python benchmarks/tuning.py [--trials 16]

Two ratios are printed: end to end (wall time of the whole command, so it includes each
process's start-up: importing TensorFlow, connecting to the chief) and steady state (trials
per minute from the moment every worker has finished its first trial to the last trial's
end), the throughput the target is about.

Both set-ups run the same small search (tiny MLP on moons, a few epochs per trial): one
process searching alone, then a chief and two workers on 127.0.0.1. Every process uses one
TensorFlow thread, so the comparison measures how trials spread over workers, not how TF
spreads one trial over cores.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

CONFIG = {
    "experiment": {"name": "bench", "seed": 0},
    "data": {"name": "moons", "n_samples": 400},
    "model": {"depth": 2, "units": 16},
    "training": {"epochs": 4, "batch_size": 32},
    "logging": {"histogram_every_n_steps": 0},
    "search": {"tuner": "random", "objective": {"metric": "val_loss", "direction": "min"},
               "space": {"model.activation": {"choice": ["tanh", "relu", "elu", "selu"]},
                         "optimizer.learning_rate": {"float": [0.001, 0.05], "sampling": "log"}}},
}


def _command() -> list[str]:
    script = Path(sys.executable).with_name("nnkit")
    return [str(script)] if script.exists() else [sys.executable, "-m", "nnkit.cli"]


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERASTUNER_")}
    env.update(TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1", OMP_NUM_THREADS="1")
    env.update(extra)
    return env


def single(config: Path, logdir: Path) -> float:
    start = time.perf_counter()
    subprocess.run([*_command(), "tune", str(config), "--quiet", "--logdir", str(logdir)],
                   env=_env(), check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def distributed(config: Path, logdir: Path) -> float:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = [*_command(), "tune", str(config), "--quiet", "--logdir", str(logdir),
            "--oracle", f"127.0.0.1:{port}"]
    start = time.perf_counter()
    chief = subprocess.Popen([*base, "--role", "chief"], env=_env(), stdout=subprocess.DEVNULL)
    workers = [subprocess.Popen([*base, "--role", "worker"],
                                env=_env(KERASTUNER_TUNER_ID=f"tuner{i}"),
                                stdout=subprocess.DEVNULL) for i in range(2)]
    for worker in workers:
        worker.wait(timeout=1800)
    finished = time.perf_counter() - start  # the chief lingers up to 20 s before exiting
    chief.wait(timeout=600)
    return finished


def trial_ends(logdir: Path) -> list[float]:
    """When each trial ended: the time its ``trial.json`` was last written (at its end)."""
    project = logdir / CONFIG["experiment"]["name"] / "tune" / "tuner"
    return sorted(p.stat().st_mtime for p in project.glob("trial_*/trial.json"))


def steady_rate(ends: list[float], workers: int) -> float:
    """Trials per minute once every worker has finished its first trial (start-up and
    first-trial tracing excluded): trials ended after that moment / time to the last end."""
    return (len(ends) - workers) / (ends[-1] - ends[workers - 1]) * 60


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="nnkit-tune-bench-"))
    config = folder / "bench.yaml"
    CONFIG["search"]["max_trials"] = args.trials
    config.write_text(yaml.safe_dump(CONFIG, sort_keys=False))
    one = single(config, folder / "one")
    two = distributed(config, folder / "two")
    print(f"{args.trials} trials, end to end (with each process's start-up): one worker "
          f"{args.trials / one * 60:.1f} trials/min, two workers {args.trials / two * 60:.1f} "
          f"trials/min; ratio {one / two:.2f}")
    rate_one = steady_rate(trial_ends(folder / "one"), 1)
    rate_two = steady_rate(trial_ends(folder / "two"), 2)
    print(f"steady state (once each worker has finished a trial): one worker {rate_one:.1f} trials/min, two "
          f"workers {rate_two:.1f} trials/min; ratio {rate_two / rate_one:.2f} (target ≥ 1.6)")


if __name__ == "__main__":
    main()
