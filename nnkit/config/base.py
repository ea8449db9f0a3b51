"""Building blocks of the config schema: strict sections and registry-checked names."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from nnkit.registry import KERAS_PREFIX, Registry, suggest

if TYPE_CHECKING:
    from nnkit.catalog import CatalogRegistry


class Section(BaseModel):
    """A config section: unknown keys are errors, YAML types are taken as they are."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_default=True)


class FieldError(ValueError):
    """A validation error about a sub-key of the section being validated.

    The error formatter appends ``path`` to the location pydantic reports, so cross-field
    checks still name the exact key (``model.units`` rather than ``model``).
    """

    def __init__(self, path: str | int | tuple, message: str):
        super().__init__(message)
        self.path = tuple(path) if isinstance(path, tuple) else (path,)


def check_reference(registry: Registry | CatalogRegistry, value: Any) -> Any:
    """Validate ``name`` or ``{name: ..., **params}`` against ``registry``."""
    if isinstance(value, str):
        registry.check(value)
        return value
    if not isinstance(value, dict) or "name" not in value:
        raise ValueError(
            f"expected a {registry.kind} name or a mapping {{name: ..., <parameter>: ...}}, "
            f"got {value!r}"
        )
    name = value["name"]
    try:
        registry.check(name)
    except ValueError as error:
        raise FieldError("name", str(error)) from None
    if not name.startswith(KERAS_PREFIX):
        allowed = registry.parameters(name)
        for key, given in value.items():
            if key == "name":
                continue
            if key not in allowed:
                choices = ", ".join(allowed) or "none"
                raise FieldError(
                    key, f"'{name}' has no parameter '{key}'; its parameters: {choices}"
                    f"{suggest(key, allowed)}"
                )
            if allowed[key]["plain"]:
                _check_type(name, key, allowed[key]["default"], given)
    return dict(value)


def _check_type(name: str, key: str, default: Any, given: Any) -> None:
    """A parameter whose default is a number (or bool, or string) must be one too."""
    if isinstance(default, bool):
        ok, kind = isinstance(given, bool), "true or false"
    elif isinstance(default, (int, float)):
        ok, kind = isinstance(given, (int, float)) and not isinstance(given, bool), "a number"
    elif isinstance(default, str):
        ok, kind = isinstance(given, str), "a string"
    else:
        return
    if not ok:
        raise FieldError(key, f"'{name}' parameter '{key}' must be {kind}, got {given!r}")


def reference(registry: Registry | CatalogRegistry, description: str):
    """An annotated type for a registry name, or a mapping with ``name`` and parameters."""
    names = ", ".join(registry.names())
    return Annotated[
        Any,
        BeforeValidator(lambda v: check_reference(registry, v)),
        Field(description=f"{description}. One of: {names}; or keras:<name>; "
                          "or a mapping {name: ..., <parameter>: value}.",
              json_schema_extra={"anyOf": [{"type": "string"}, {"type": "object"}]}),
    ]


PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0.0, lt=1.0)]
