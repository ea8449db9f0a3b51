"""The ``nnkit`` command line: run | sweep | tune | validate | check | list | schema | report |
gradcheck.

Exit status: 0 success, 1 training failed (``check``: a problem predicted), 2 bad input (config, data, log folder), 3 the loss
or a gradient became NaN or infinite (the message names the step and the layer). Bad input prints one line per problem, ``<file>:<line>: <key.path>: <message>``,
and creates no run folder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from nnkit import __version__, strict_json
from nnkit.plain_text import plain

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_NON_FINITE = 0, 1, 2, 3
KINDS = ("activations", "initializers", "layers", "optimizers", "losses", "metrics",
         "datasets", "architectures")


def _add_config_arguments(parser: argparse.ArgumentParser, optional: bool = False) -> None:
    parser.add_argument("config", help="experiment YAML file", **({"nargs": "?"} if optional else {}))
    parser.add_argument("-o", "--override", action="append", default=[], metavar="PATH=VALUE",
                        help="override a config key, e.g. -o model.depth=8 (repeatable)")
    parser.add_argument("--logdir", help="log folder (overrides experiment.log_dir)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nnkit", description=plain(__doc__.splitlines()[0]))
    parser.add_argument("--version", action="version", version=f"nnkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="train the experiment of a config file")
    _add_config_arguments(run, optional=True)
    run.add_argument("--resume", metavar="RUN_DIR",
                     help="continue the run in RUN_DIR (killed, interrupted) from its newest "
                          "checkpoint, with its own config.yaml; no CONFIG")
    run.add_argument("--restart", action="store_true",
                     help="with --resume: start the run over in its folder, deleting its "
                          "checkpoints and logged events (e.g. when every checkpoint is "
                          "damaged)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep = sub.add_parser("sweep", help="run every combination of the config's sweep: "
                                          "section (run again: continues where it stopped)")
    _add_config_arguments(sweep, optional=True)
    sweep.add_argument("--resume", metavar="SWEEP_DIR",
                       help="continue the sweep in SWEEP_DIR with the config saved in it; "
                            "no CONFIG")
    sweep.add_argument("--new", action="store_true",
                       help="start a new sweep folder even if an earlier one ran this config")
    sweep.add_argument("--metric", help="sort the summary by this, e.g. validation.loss "
                                        "(default: validation.accuracy, or validation.loss "
                                        "for regression)")
    tune = sub.add_parser("tune", help="search the config's search: space with Keras Tuner")
    _add_config_arguments(tune)
    tune.add_argument("--overwrite", action="store_true", help="start the search over")
    tune.add_argument("--role", choices=("chief", "worker"),
                      help="distributed search: the chief serves the oracle, workers run "
                           "trials (or set KERASTUNER_TUNER_ID and friends)")
    tune.add_argument("--oracle", metavar="HOST:PORT", help="the chief's address")
    tune.add_argument("--quiet", action="store_true", help="less output per trial")
    validate = sub.add_parser("validate", help="check a config file (exit 0 or 2)")
    _add_config_arguments(validate)
    list_ = sub.add_parser("list", help="every registered name, by kind")
    list_.add_argument("kind", nargs="?", choices=KINDS, help="only this kind")
    sub.add_parser("schema", help="print the JSON Schema of config files")
    preflight = sub.add_parser("check", help="pre-flight: predict from the initial network "
                                             "whether the signal and the gradient vanish or "
                                             "explode through depth (exit 1 if so)")
    _add_config_arguments(preflight)
    preflight.add_argument("--samples", type=int, default=256,
                           help="training samples to measure on (default 256)")
    check = sub.add_parser("gradcheck", help="tape vs hand-derived backprop vs finite "
                                              "differences, per layer")
    _add_config_arguments(check)
    check.add_argument("--batch", type=int, default=16, help="samples in the batch")
    check.add_argument("--tolerance", type=float, default=1e-6,
                       help="largest relative error allowed for hand vs tape")
    check.add_argument("--fd-tolerance", type=float, default=1e-4,
                       help="relative tolerance of finite differences vs tape, to which each "
                            "variable adds the differences' round-off floor for its size")
    report = sub.add_parser("report", help="plots and diagnosis of runs (HTML or PNG)")
    report.add_argument("runs", nargs="+", metavar="RUN_DIR",
                        help="run folders, or folders above them (sweeps, tune trials)")
    report.add_argument("--out", default="report.html", help="output .html (default) or .png")
    return parser


def overrides(args) -> list[str]:
    """The ``-o`` overrides, with ``--logdir DIR`` as ``experiment.log_dir=DIR``."""
    return [*args.override, *([f"experiment.log_dir={args.logdir}"] if args.logdir else [])]


def load(args):
    """The validated config named by ``args`` (overrides and --logdir applied)."""
    from nnkit.config import load_config

    return load_config(args.config, overrides(args))


def command_run(args) -> int:
    from nnkit.training import AlreadyCompleted, resume, run

    verbose = 0 if args.quiet else "auto"
    if args.resume is not None:
        if args.config is not None or overrides(args):
            print(f"{args.resume}: --resume continues the run with the config.yaml saved in "
                  "it; give no CONFIG, -o or --logdir", file=sys.stderr)
            return EXIT_BAD_INPUT
        args.config = args.resume  # names the folder in error messages
        try:
            result = resume(args.resume, verbose=verbose, restart=args.restart)
        except AlreadyCompleted as done:
            print(done)
            print(f"run: {args.resume}")
            return EXIT_OK
    elif args.restart:
        print("nnkit run: --restart goes with --resume RUN_DIR", file=sys.stderr)
        return EXIT_BAD_INPUT
    elif args.config is None:
        print("nnkit run: give a CONFIG file, or --resume RUN_DIR", file=sys.stderr)
        return EXIT_BAD_INPUT
    else:
        result = run(load(args), verbose=verbose)
    print(strict_json.dumps({k: result.metrics.get(k) for k in ("train", "validation", "test")
                             if k in result.metrics}))
    _print_diagnosis(result.metrics)
    if result.kept:
        print(f"run: {result.run_dir}")
    else:
        print("run: none here (a multi_worker worker; the chief keeps the run folder)")
    return EXIT_OK if result.metrics["status"] in ("completed", "stopped") else EXIT_FAILED


def _print_diagnosis(metrics: dict) -> None:
    """The diagnosis' summary, one finding per line, and what stopped the run early."""
    from nnkit.findings import finding_text, summary_text

    if metrics.get("diagnosis") is not None:
        for line in summary_text(metrics["diagnosis"], metrics.get("diagnosis_checked", {}))\
                .splitlines():
            print(f"diagnosis: {line}")
    stopped_by = metrics.get("stopped_by")
    if stopped_by:
        print(f"stopped early at epoch {stopped_by['epoch']} (training.stop_on): "
              f"{finding_text(stopped_by)}")


def command_sweep(args) -> int:
    from pathlib import Path

    from nnkit.config import ConfigError
    from nnkit.sweeping import run_sweep

    sweep_dir = None
    if args.resume is not None:
        if args.config is not None or overrides(args) or args.new:
            print(f"{args.resume}: --resume continues the sweep with the config.yaml saved in "
                  "it; give no CONFIG, -o, --logdir or --new", file=sys.stderr)
            return EXIT_BAD_INPUT
        sweep_dir = Path(args.resume)
        if not (sweep_dir / "config.yaml").is_file():
            what = "no such folder" if not sweep_dir.exists() else (
                "not a sweep folder (it has no config.yaml)")
            print(f"{args.resume}: {what}", file=sys.stderr)
            return EXIT_BAD_INPUT
        args.config = str(sweep_dir / "config.yaml")
    elif args.config is None:
        print("nnkit sweep: give a CONFIG file, or --resume SWEEP_DIR", file=sys.stderr)
        return EXIT_BAD_INPUT
    config = load(args)
    if not config.sweep:
        raise ConfigError([f"{args.config}: sweep: the config has no sweep section; add one, "
                           "e.g. sweep: {model.activation: [relu, tanh]}"])
    result = run_sweep(args.config, overrides(args), config, args.metric, new=args.new,
                       sweep_dir=sweep_dir)
    statuses = [row["status"] for row in result.rows]
    done, pruned = statuses.count("completed"), statuses.count("pruned")
    failed = len(statuses) - done - pruned
    print(f"{done} completed, {pruned} pruned, {failed} failed; table: "
          f"{result.sweep_dir / 'sweep.csv'}")
    print(f"sweep: {result.sweep_dir}")
    return EXIT_OK if failed < len(result.rows) else EXIT_FAILED


def command_tune(args) -> int:
    from nnkit.config import ConfigError
    from nnkit.tuning import configure_role, tune

    config = load(args)
    if config.search is None:
        raise ConfigError([f"{args.config}: search: the config has no search section; see "
                           "README (nnkit tune)"])
    configure_role(args.role, args.oracle)
    result = tune(args.config, overrides(args), config, overwrite=args.overwrite,
                  verbose=0 if args.quiet else 1)
    if result.best_score is not None:
        print(f"best {config.search.objective.metric}: {result.best_score}; "
              f"config: {result.best_config}")
    print(f"tune: {result.folder}")
    return EXIT_OK


def command_validate(args) -> int:
    config = load(args)
    print(f"{args.config}: valid ({config.model.architecture} on {config.data.name}, "
          f"{config.optimizer.name}, {config.training.epochs} epochs)")
    return EXIT_OK


def _registries() -> dict:
    """kind → [(name, description)], from the catalog (no TensorFlow import)."""
    from nnkit import catalog

    kinds = catalog.load()["kinds"]
    return {kind: [(name, entry["description"]) for name, entry in kinds[kind].items()]
            for kind in KINDS}


def command_list(args) -> int:
    table = _registries()
    for kind in [args.kind] if args.kind else KINDS:
        print(f"{kind}:")
        width = max(len(name) for name, _ in table[kind])
        for name, description in table[kind]:
            print(f"  {name:<{width}}  {plain(description)}")
    if not args.kind:
        print("\nKeras' own objects are reachable as keras:<name> (e.g. keras:glorot_uniform).")
    return EXIT_OK


def command_schema(args) -> int:
    from nnkit.config import json_schema

    print(json.dumps(json_schema(), indent=2))
    return EXIT_OK


def command_gradcheck(args) -> int:
    import keras
    import numpy as np

    from nnkit.backprop import gradcheck
    from nnkit.backprop.gradcheck import GradcheckError, check_supported, extract_layers
    from nnkit.training import build_experiment

    config = load(args)
    try:
        check_supported(config)
    except GradcheckError as error:
        print(f"{args.config}: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    experiment = build_experiment(config)
    layers, keys = extract_layers(experiment.network)
    data = experiment.dataset
    x = data.x_train[:args.batch].reshape(min(args.batch, len(data.x_train)), -1)
    y = data.y_train[:args.batch]
    if data.task == "multiclass":
        y = keras.utils.to_categorical(y, data.n_classes)
    y = np.asarray(y, np.float64).reshape(len(x), -1)
    rows = gradcheck(layers, keys, x.astype(np.float64), y, experiment.loss_name,
                     differences_rtol=args.fd_tolerance)
    if getattr(config.model, "dropout", 0):
        print(f"dropout ({config.model.dropout}) is the identity in inference mode: checked "
              "without it")
    print(f"{'layer':<16} {'variable':<8} {'hand vs tape':>13} {'finite diff vs tape':>20} "
          f"{'(tolerance)':>12}")
    worst_hand, failed = 0.0, []
    for row in rows:
        print(f"{row.layer:<16} {row.variable:<8} {row.hand_vs_tape:>13.2e} "
              f"{row.differences_vs_tape:>20.2e} {row.differences_tolerance:>12.1e}")
        worst_hand = max(worst_hand, row.hand_vs_tape)
        if row.differences_vs_tape > row.differences_tolerance:
            failed.append(f"{row.layer}/{row.variable}")
    ok = worst_hand <= args.tolerance and not failed
    numeric = ("finite differences within each variable's tolerance" if not failed else
               f"finite differences beyond tolerance in {', '.join(failed)}")
    print(f"gradcheck: {'ok' if ok else 'FAILED'} (hand vs tape {worst_hand:.2e}, tolerance "
          f"{args.tolerance:g}; {numeric}; relative tolerance {args.fd_tolerance:g} plus the "
          "round-off floor)")
    return EXIT_OK if ok else EXIT_FAILED


def command_check(args) -> int:
    from nnkit.dynamics.preflight import check_experiment
    from nnkit.training import build_experiment

    config = load(args)
    result = check_experiment(build_experiment(config), args.samples)
    for line in result.lines():
        print(line)
    return EXIT_FAILED if result.problems else EXIT_OK


def command_report(args) -> int:
    from nnkit.report import write_report

    try:
        out = write_report(args.runs, args.out)
    except (FileNotFoundError, ValueError) as error:
        print(f"report: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"report: {out}")
    return EXIT_OK


COMMANDS = {"run": command_run, "sweep": command_sweep, "tune": command_tune,
            "validate": command_validate,
            "list": command_list, "schema": command_schema, "report": command_report,
            "gradcheck": command_gradcheck, "check": command_check}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``nnkit`` console script; returns the exit status."""
    args = _parser().parse_args(argv)
    from nnkit.config.errors import ConfigError
    from nnkit.errors import (CheckpointError, DataError, ExperimentError, Interrupted,
                              NonFiniteError, RunDirError)

    try:
        return COMMANDS[args.command](args)
    except ConfigError as error:
        print(error, file=sys.stderr)
    except (DataError, ExperimentError, RunDirError, CheckpointError) as error:
        print(f"{args.config}: {error}", file=sys.stderr)
    except NonFiniteError as error:
        print(error, file=sys.stderr)
        return EXIT_NON_FINITE
    except Interrupted as stop:
        print(stop, file=sys.stderr)
        return stop.exit_status
    except BrokenPipeError:  # `nnkit list | head`: the reader left; say nothing more
        sys.stdout = open(os.devnull, "w")
        return EXIT_OK
    except KeyboardInterrupt:
        print("interrupted (a second signal: stopped at once, no checkpoint of this point)",
              file=sys.stderr)
        return 130
    return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
