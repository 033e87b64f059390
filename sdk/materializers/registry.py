"""Which materializer handles which type: a walk up the type's MRO, most derived match first.

Materializers for numpy and pandas are listed by import path and imported only when a value of
those types is saved, so importing `sdk.materializers` never imports them.
"""

from __future__ import annotations

import importlib
import typing
from typing import Any

from sdk.materializers.base import BaseMaterializer, MaterializerError
from sdk.materializers.builtin import (
    BuiltInContainerMaterializer,
    BuiltInMaterializer,
    BytesMaterializer,
    PathMaterializer,
)

FALLBACK = "sdk.materializers.pickle:PickleMaterializer"

_NUMPY = "sdk.materializers.numpy:NumpyMaterializer"
_PANDAS = "sdk.materializers.pandas:PandasMaterializer"
# Keyed by f"{cls.__module__}.{cls.__qualname__}"; pandas 3 reports its classes as "pandas.X".
_LAZY: dict[str, str] = {
    "numpy.ndarray": _NUMPY,
    "numpy.generic": _NUMPY,
    "pandas.DataFrame": _PANDAS,
    "pandas.Series": _PANDAS,
    "pandas.core.frame.DataFrame": _PANDAS,
    "pandas.core.series.Series": _PANDAS,
}
_REGISTERED: dict[type[Any], type[BaseMaterializer]] = {}


def register(materializer: type[BaseMaterializer]) -> None:
    """Use `materializer` for its `ASSOCIATED_TYPES` and their subclasses (latest call wins)."""
    if not (isinstance(materializer, type) and issubclass(materializer, BaseMaterializer)):
        raise MaterializerError(
            f"register() takes a BaseMaterializer subclass, not {materializer!r}."
        )
    types = materializer.ASSOCIATED_TYPES
    if not types or not all(isinstance(t, type) for t in types):
        raise MaterializerError(
            f"{materializer.__qualname__}.ASSOCIATED_TYPES must be a non-empty tuple of types, "
            f"not {types!r}."
        )
    for data_type in types:
        _REGISTERED[data_type] = materializer


def materializer_for(data_type: type[Any]) -> type[BaseMaterializer]:
    """The materializer registered for the nearest class in `data_type.__mro__`, else pickle."""
    origin = typing.get_origin(data_type) or data_type  # list[int] -> list
    if not isinstance(origin, type):
        raise MaterializerError(
            f"materializer_for() needs a class, not {data_type!r}; pass type(value)."
        )
    for cls in origin.__mro__:
        if cls in _REGISTERED:
            return _REGISTERED[cls]
        lazy = _LAZY.get(f"{cls.__module__}.{cls.__qualname__}")
        if lazy is not None:
            return import_materializer(lazy)
    return import_materializer(FALLBACK)


def import_materializer(path: str) -> type[BaseMaterializer]:
    """The materializer class at `module:QualName`; anything else is refused."""
    try:
        found = import_object(path)
    except (ImportError, AttributeError, ValueError) as error:
        raise MaterializerError(
            f"Cannot import the materializer {path!r} ({error}). Install or import the code "
            "that defines it, in the environment that loads the artifact."
        ) from error
    if not (isinstance(found, type) and issubclass(found, BaseMaterializer)):
        raise MaterializerError(
            f"{path!r} is not a materializer (a BaseMaterializer subclass), so it cannot be "
            "used to load or save artifacts."
        )
    return found


def import_object(path: str) -> Any:
    """The object at `module:QualName`."""
    module_name, _, qualname = path.partition(":")
    if not module_name or not qualname:
        raise ValueError(f"{path!r} is not an import path of the form 'module:QualName'.")
    found: Any = importlib.import_module(module_name)
    for attribute in qualname.split("."):
        found = getattr(found, attribute)
    return found


register(BuiltInMaterializer)
register(BytesMaterializer)
register(BuiltInContainerMaterializer)
register(PathMaterializer)
