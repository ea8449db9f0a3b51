"""One registry mechanism for every kind of named building block.

A :class:`Registry` maps names to objects (functions, classes or factories) with a one-line
description each. Lookups of unknown names raise :class:`UnknownNameError` with a
"did you mean" suggestion, so YAML typos never fall through silently. Names prefixed with
``keras:`` resolve to Keras' own built-ins through a per-registry resolver, so hand-written and
built-in twins can be compared in the same study.
"""

from __future__ import annotations

import difflib
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

KERAS_PREFIX = "keras:"


def suggest(name: str, choices: Iterable[str]) -> str:
    """Return `` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def one_of(name: Any, choices: Iterable[str]) -> str:
    """The standard message for a name that is not among ``choices``."""
    choices = list(choices)
    return f"'{name}' is not one of {', '.join(choices)}{suggest(name, choices)}"


class UnknownNameError(ValueError):
    """A name that is not registered; the message lists what is."""


@dataclass
class Entry:
    name: str
    obj: Any
    description: str


def describe_parameters(obj: Any) -> dict[str, dict]:
    """{parameter: {"default": value, "plain": bool}} of the keyword parameters a registered
    object accepts beyond its input tensor (or ``self``); ``plain`` says whether the default
    is a value a config can hold (None, bool, number, string), which then types the
    parameter. An object that is not callable (a metric's name) has none."""
    if not callable(obj):
        return {}
    target = obj.__init__ if isinstance(obj, type) else obj
    described = {}
    for p in list(inspect.signature(target).parameters.values())[1:]:
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in ("kwargs",
                                                                                    "name"):
            plain = p.default is None or isinstance(p.default, (bool, int, float, str))
            described[p.name] = {"default": p.default if plain else None, "plain": plain}
    return described


class Membership:
    """``name in registry``: whether ``check`` accepts the name."""

    def __contains__(self, name: str) -> bool:
        try:
            self.check(name)
        except UnknownNameError:
            return False
        return True


@dataclass
class Registry(Membership):
    """Named objects of one kind (``activation``, ``initializer``, ...).

    Args:
        kind: what the registry holds, used in messages and by ``nnkit list``.
        keras_resolver: turns the part after ``keras:`` into Keras' own object, raising
            ``ValueError`` when Keras has no such object; ``None`` disables the prefix.
    """

    kind: str
    keras_resolver: Callable[[str], Any] | None = None
    _entries: dict[str, Entry] = field(default_factory=dict)
    _aliases: dict[str, str] = field(default_factory=dict)

    def register(self, name: str, description: str, obj: Any = None):
        """Register ``obj`` under ``name``; usable as a decorator when ``obj`` is omitted."""

        def add(target: Any) -> Any:
            if name in self._entries:
                raise ValueError(f"{self.kind} '{name}' is registered twice")
            self._entries[name] = Entry(name, target, description)
            return target

        return add if obj is None else add(obj)

    def alias(self, alias: str, name: str) -> None:
        """Let ``alias`` (Keras' spelling, e.g. ``HeNormal``) stand for the registered ``name``;
        aliases resolve but are not listed."""
        if name not in self._entries:
            raise ValueError(f"{self.kind} alias '{alias}' names '{name}', which is not registered")
        if alias != name:
            self._aliases[alias] = name

    def aliases(self) -> dict[str, str]:
        """{alias: the registered name it stands for}."""
        return dict(self._aliases)

    def canonical(self, name: str) -> str:
        """The registered name ``name`` stands for (itself unless it is an alias)."""
        return self._aliases.get(name, name)

    def names(self) -> list[str]:
        return list(self._entries)

    def entries(self) -> list[Entry]:
        return list(self._entries.values())

    def check(self, name: str) -> str:
        """Return ``name`` if it resolves, else raise :class:`UnknownNameError`."""
        if not isinstance(name, str):
            raise UnknownNameError(f"expected a {self.kind} name, got {name!r}")
        if name.startswith(KERAS_PREFIX) and self.keras_resolver is not None:
            try:
                self.keras_resolver(name[len(KERAS_PREFIX):])
            except (ValueError, TypeError, AttributeError) as error:
                raise UnknownNameError(f"'{name}' is not a Keras {self.kind}: {error}") from None
            return name
        if self.canonical(name) not in self._entries:
            allowed = self.names() + ([f"{KERAS_PREFIX}<name>"] if self.keras_resolver else [])
            raise UnknownNameError(one_of(name, allowed))
        return name

    def parameters(self, name: str) -> dict[str, dict]:
        """{parameter: {"default": value, "plain": whether the default is a plain value}}
        of the registered object (as :class:`nnkit.catalog.CatalogRegistry` answers)."""
        return describe_parameters(self._entries[self.canonical(name)].obj)

    def get(self, name: str) -> Any:
        """The registered object for ``name`` (or Keras' own for ``keras:<name>``)."""
        self.check(name)
        if name.startswith(KERAS_PREFIX) and self.keras_resolver is not None:
            return self.keras_resolver(name[len(KERAS_PREFIX):])
        return self._entries[self.canonical(name)].obj
