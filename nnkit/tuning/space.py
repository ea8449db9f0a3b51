"""The search space as Keras Tuner hyperparameters, and a trial's values as overrides."""

from __future__ import annotations

import keras_tuner as kt

from nnkit.config.search import Parameter
from nnkit.sweeping.grid import as_yaml


def ordered(space: dict[str, Parameter]) -> list[str]:
    """Paths with every condition's parameter before the parameters it conditions."""
    order: list[str] = []

    def visit(path: str, seen: tuple = ()):
        if path in order:
            return
        for parent in space[path].when or {}:
            if parent in seen:
                raise ValueError(f"search.space: conditions form a cycle through '{path}'")
            visit(parent, seen + (path,))
        order.append(path)

    for path in space:
        visit(path)
    return order


def _declare(hp: kt.HyperParameters, path: str, parameter: Parameter):
    kind = parameter.kind
    if kind == "choice":
        return hp.Choice(path, parameter.choice)
    if kind == "boolean":
        return hp.Boolean(path)
    low, high = getattr(parameter, kind)
    sampling = parameter.sampling
    if kind == "int":
        return hp.Int(path, int(low), int(high), step=int(parameter.step or 1), sampling=sampling)
    return hp.Float(path, float(low), float(high), step=parameter.step, sampling=sampling)


def declare(hp: kt.HyperParameters, space: dict[str, Parameter]) -> dict[str, object]:
    """Declare every dimension (conditional ones inside their condition) and return the
    values that are active for this trial."""
    values = {}
    for path in ordered(space):
        parameter = space[path]
        if parameter.when:
            (parent, allowed), = parameter.when.items()
            with hp.conditional_scope(parent, allowed):
                value = _declare(hp, path, parameter)
            if values.get(parent) not in allowed:
                continue
        else:
            value = _declare(hp, path, parameter)
        values[path] = value
    return values


def overrides(values: dict[str, object]) -> list[str]:
    """``-o PATH=VALUE`` strings for a trial's values."""
    return [f"{path}={as_yaml(value)}" for path, value in values.items()]


def representative(parameter: Parameter):
    """A value of the dimension, used to check that its path and type are valid."""
    kind = parameter.kind
    if kind == "choice":
        return parameter.choice[0]
    if kind == "boolean":
        return True
    return getattr(parameter, kind)[0]


def validate(config_path, base_overrides: list[str], space: dict[str, Parameter]) -> None:
    """Load the config with each dimension (and each choice) set, so a wrong path or a value
    of the wrong type fails before any trial runs."""
    from nnkit.config import ConfigError, load_config

    for path in ordered(space):
        parameter = space[path]
        values = parameter.choice if parameter.kind == "choice" else [representative(parameter)]
        condition = []
        for parent, allowed in (parameter.when or {}).items():
            condition.append(f"{parent}={as_yaml(allowed[0])}")
        for value in values:
            try:
                load_config(config_path, [*base_overrides, *condition, f"{path}={as_yaml(value)}",
                                          "search=null", "sweep=null"])
            except ConfigError as error:
                raise ConfigError([f"{line} (search.space.{path} = {value!r})"
                                   for line in error.lines]) from None
