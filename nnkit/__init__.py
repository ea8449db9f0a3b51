"""nnkit: a TensorFlow/Keras experiment suite for studying how deep networks train.

Importing nnkit registers every hand-written activation, initializer, layer and optimizer with
Keras, so models that use them reload with ``keras.saving.load_model`` under ``safe_mode``.
The registration happens as soon as Keras is imported (at once if it already is): a process
that never uses Keras, such as ``nnkit validate`` or ``nnkit --help``, never pays the ~4.5 s
of importing TensorFlow (:mod:`nnkit._lazy_keras`). ``nnkit.layers`` and the other blocks
load on first use.
"""

import importlib

__version__ = "0.1.0"

from nnkit import _lazy_keras  # noqa: E402

_BLOCKS = ("activations", "initializers", "layers", "optimizers")
# functions reachable as nnkit.<name>, imported on first use: (module, attribute)
_API = {"watch": ("nnkit.instrument.watch", "watch"),
        "unwatch": ("nnkit.instrument.watch", "unwatch"),
        "run": ("nnkit.api", "run"), "sweep": ("nnkit.api", "sweep"),
        "tune": ("nnkit.api", "tune"), "load_config": ("nnkit.config", "load_config")}
__all__ = [*_BLOCKS, *_API, "__version__"]


def _register_blocks() -> None:
    for name in _BLOCKS:
        importlib.import_module(f"nnkit.{name}")


_lazy_keras.after_keras(_register_blocks)


def __getattr__(name: str):
    """``nnkit.watch``, ``nnkit.run`` and the rest of :data:`_API`, and ``nnkit.layers``,
    ``nnkit.training`` and every other subpackage, imported when first used (PEP 562)."""
    if name.startswith("_"):  # __wrapped__, __path__ probes and the like: no import
        raise AttributeError(f"module 'nnkit' has no attribute '{name}'")
    if name in _API:
        module, attribute = _API[name]
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value  # found directly from now on
        return value
    try:
        return importlib.import_module(f"nnkit.{name}")
    except ModuleNotFoundError as error:
        if error.name != f"nnkit.{name}":
            raise  # the subpackage exists; something it imports does not
        raise AttributeError(f"module 'nnkit' has no attribute '{name}'") from None
