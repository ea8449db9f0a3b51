"""Run code right after Keras is imported, and import TensorFlow quietly, whoever asks first.

:func:`after_keras` runs a function now if Keras is imported already, or else once the first
``import keras`` (by nnkit or by the user's code) has finished: a finder at the front of
``sys.meta_path`` wraps the loaders of ``tensorflow`` (its import runs with the native
notices silenced, :func:`nnkit._quiet.native_stderr_silenced`) and of ``keras`` (the
functions run after it). Then the finder removes itself; nothing else is imported earlier or
differently.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys

from nnkit._quiet import native_stderr_silenced

_pending: list = []


class _Loader(importlib.abc.Loader):
    def __init__(self, loader, name: str):
        self.loader, self.name = loader, name

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        if self.name == "tensorflow":
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
            with native_stderr_silenced():
                self.loader.exec_module(module)
            return
        self.loader.exec_module(module)
        _Finder.remove()
        while _pending:
            _pending.pop(0)()


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname not in ("tensorflow", "keras"):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _Loader(spec.loader, fullname)
                return spec
        return None

    @staticmethod
    def remove() -> None:
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _Finder)]


def after_keras(function) -> None:
    """Call ``function`` once Keras is imported (now, if it is)."""
    if "keras" in sys.modules:
        function()
        return
    _pending.append(function)
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
