"""What the registries hold, readable without importing Keras or TensorFlow.

``nnkit validate``, ``nnkit schema``, ``nnkit list`` and ``--help`` need the registered names,
their descriptions and their parameters, not the objects: importing TensorFlow alone takes
about 4.5 s, which made each of them take that long. ``nnkit/catalog.json`` holds, for the
installed Keras version, each kind's names, descriptions and parameters (with their defaults
where those are plain values). It is written by ``python -m nnkit.catalog`` from the live
registries, and a test keeps it equal to them. Where the installed Keras version is not the
one the file was made with, the live registries are read instead (slow, always right).

:class:`CatalogRegistry` answers as a :class:`~nnkit.registry.Registry` does for validation
(``names``, ``check``, ``parameters``); a ``keras:<name>`` needs Keras itself, which it
imports then.
"""

from __future__ import annotations

import functools
import importlib
import json
from importlib import metadata
from pathlib import Path

from nnkit.registry import KERAS_PREFIX, Membership, UnknownNameError, describe_parameters, one_of

FILE = Path(__file__).with_name("catalog.json")
# kind → (module, registry attribute); the order is nnkit list's
KINDS = {"activations": ("nnkit.activations", "ACTIVATIONS"),
         "initializers": ("nnkit.initializers", "INITIALIZERS"),
         "layers": ("nnkit.layers", None),
         "optimizers": ("nnkit.optimizers", "OPTIMIZERS"),
         "losses": ("nnkit.losses", "LOSSES"), "metrics": ("nnkit.metrics", "METRICS"),
         "datasets": ("nnkit.data", "DATASETS"), "architectures": ("nnkit.models", "ARCHITECTURES")}


def _versions() -> dict[str, str]:
    found = {}
    for package in ("keras", "nnkit"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:  # run from a source tree: read the live ones
            found[package] = "unknown"
    return found


def _live_registry(kind: str):
    module, attribute = KINDS[kind]
    return getattr(importlib.import_module(module), attribute)


def build() -> dict:
    """The catalog, from the live registries (imports Keras and TensorFlow)."""
    import nnkit.layers

    kinds, aliases = {}, {}
    for kind, (_, attribute) in KINDS.items():
        if attribute is None:  # layers: the classes nnkit.layers exports
            kinds[kind] = {name: {"description": (getattr(nnkit.layers, name).__doc__ or "")
                                  .strip().splitlines()[0], "parameters": {}}
                           for name in nnkit.layers.__all__}
            continue
        registry = _live_registry(kind)
        kinds[kind] = {
            entry.name: {"description": entry.description,
                         "parameters": describe_parameters(entry.obj)}
            for entry in registry.entries()}
        if registry.aliases():
            aliases[kind] = registry.aliases()
    return {"versions": _versions(), "kinds": kinds, "aliases": aliases}


@functools.cache
def load() -> dict:
    """The catalog file if it was made for the installed versions, else :func:`build`."""
    try:
        catalog = json.loads(FILE.read_text(encoding="utf-8"))
        if catalog.get("versions") == _versions():
            return catalog
    except (OSError, ValueError):
        pass
    return build()


class CatalogRegistry(Membership):
    """A registry's names and parameters for validation, from the catalog."""

    def __init__(self, kind: str, singular: str):
        self.kind_plural, self.kind = kind, singular

    @property
    def _entries(self) -> dict:
        return load()["kinds"][self.kind_plural]

    def names(self) -> list[str]:
        return list(self._entries)

    def canonical(self, name: str) -> str:
        """The registered name an alias (Keras' spelling) stands for."""
        return load().get("aliases", {}).get(self.kind_plural, {}).get(name, name)

    def check(self, name: str) -> str:
        """``name`` if it resolves, else :class:`UnknownNameError` (as Registry.check)."""
        if isinstance(name, str) and name.startswith(KERAS_PREFIX):
            return _live_registry(self.kind_plural).check(name)
        if not isinstance(name, str):
            raise UnknownNameError(f"expected a {self.kind} name, got {name!r}")
        if self.canonical(name) not in self._entries:
            raise UnknownNameError(one_of(name, self.names() + [f"{KERAS_PREFIX}<name>"]))
        return name

    def parameters(self, name: str) -> dict[str, dict]:
        """{parameter: {"default": value, "plain": whether the default is a plain value}}."""
        return self._entries[self.canonical(name)]["parameters"]


ACTIVATIONS = CatalogRegistry("activations", "activation")
INITIALIZERS = CatalogRegistry("initializers", "initializer")
LOSSES = CatalogRegistry("losses", "loss")
METRICS = CatalogRegistry("metrics", "metric")


def write() -> None:
    FILE.write_text(json.dumps(build(), indent=1, sort_keys=False, ensure_ascii=False) + "\n",
                    encoding="utf-8")


if __name__ == "__main__":
    write()
    print(f"wrote {FILE}")
