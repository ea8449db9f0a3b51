"""Optimizers written by hand as ``keras.optimizers.Optimizer`` subclasses.

``build(config.optimizer)`` returns the hand-written optimizer for an nnkit name, or Keras'
own twin for ``keras:<name>``, with the same parameters and learning-rate schedule.
"""

from __future__ import annotations

import keras

from nnkit.optimizers.adam import Adam
from nnkit.optimizers.adamw import AdamW
from nnkit.optimizers.adaptive import AdaDelta, AdaGrad, RMSProp
from nnkit.optimizers.schedule import WarmupSchedule
from nnkit.optimizers.sgd import NAG, SGD, Momentum
from nnkit.registry import Registry


def _keras_twin(name: str, params: dict):
    """Keras' optimizer that computes the same update as nnkit's ``name``."""
    if name in ("sgd", "momentum", "nag"):
        return keras.optimizers.SGD(momentum=params.pop("momentum", 0.0),
                                    nesterov=name == "nag", **params)
    return {"adagrad": keras.optimizers.Adagrad, "rmsprop": keras.optimizers.RMSprop,
            "adadelta": keras.optimizers.Adadelta, "adam": keras.optimizers.Adam,
            "adamw": keras.optimizers.AdamW}[name](**params)


OPTIMIZERS = Registry("optimizer", keras_resolver=lambda n: _keras_twin(n, {}))
for _name, _cls, _description in [
    ("sgd", SGD, "W -= lr*grad"),
    ("momentum", Momentum, "V = beta*V + lr*grad; W -= V"),
    ("nag", NAG, "Nesterov: gradient at the look-ahead point W - beta*V"),
    ("adagrad", AdaGrad, "G += grad^2; W -= lr*grad/sqrt(G+eps)"),
    ("rmsprop", RMSProp, "S = rho*S + (1-rho)*grad^2; W -= lr*grad/sqrt(S+eps)"),
    ("adadelta", AdaDelta, "EWMAs of squared gradients and squared updates"),
    ("adam", Adam, "bias-corrected first and second moments"),
    ("adamw", AdamW, "Adam with decoupled weight decay: W -= lr*wd*W besides the step"),
]:
    OPTIMIZERS.register(_name, _description, _cls)

_SCHEDULE_KEYS = ("learning_rate", "warmup_steps", "decay", "decay_steps", "decay_rate")


def build(cfg) -> keras.optimizers.Optimizer:
    """The optimizer for a validated ``optimizer`` config section."""
    params = cfg.model_dump(exclude={"name"})
    schedule = {k: params.pop(k) for k in _SCHEDULE_KEYS}
    learning_rate = schedule["learning_rate"]
    if schedule["warmup_steps"] or schedule["decay"] != "none":
        learning_rate = WarmupSchedule(**schedule)
    for optional in ("clipnorm", "clipvalue", "global_clipnorm", "weight_decay"):
        if params.get(optional) is None:
            params.pop(optional, None)
    if cfg.name.startswith("keras:"):
        params.pop("lookahead", None)
        return _keras_twin(cfg.name[len("keras:"):], {"learning_rate": learning_rate, **params})
    return OPTIMIZERS.get(cfg.name)(learning_rate=learning_rate, **params)


__all__ = ["OPTIMIZERS", "AdaDelta", "AdaGrad", "Adam", "AdamW", "Momentum", "NAG", "RMSProp", "SGD",
           "WarmupSchedule", "build"]
