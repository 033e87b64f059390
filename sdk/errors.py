"""Errors the SDK raises. Every message says what was wrong and how to fix it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sdk.types import JsonObject

if TYPE_CHECKING:
    from sdk.prune.execute import PruneResult


class LineageQLError(Exception):
    """Base of every error the SDK raises on purpose."""


class InputError(LineageQLError, ValueError):
    """A refused step input, argument or configuration."""


class NotFoundError(LineageQLError, LookupError):
    """The artifact, version, pipeline or run asked for does not exist."""


class ArtifactVersionExistsError(LineageQLError):
    """An artifact version with that name and version already exists."""


class TransportError(LineageQLError):
    """The API could not be reached, or answered with something that is not GraphQL."""


class GraphQLError(LineageQLError):
    """The API answered with errors; `.errors` holds them, `.code` the first error's code."""

    def __init__(self, message: str, errors: list[JsonObject] | None = None) -> None:
        super().__init__(message)
        self.errors: list[JsonObject] = errors or []
        first = self.errors[0] if self.errors else {}
        self.code: str | None = (first.get("extensions") or {}).get("code")


class OutcomeUnknownError(TransportError):
    """A request that changes the store was sent, but whether the API applied it is unknown
    (the connection broke, the answer was lost or timed out) even after retrying it. Nothing
    was deleted: retrying with the same idempotency key is safe, and data written for it is
    kept (an orphan sweep reclaims it only if no version points there)."""


class ArtifactDataMissingError(LineageQLError, FileNotFoundError):
    """A version is registered, but its data is not where the store says it is."""


class ArtifactDataChangedError(LineageQLError):
    """A version's data no longer matches the size or content hash recorded when it was saved."""


class StoreMismatchError(LineageQLError):
    """The artifact store looked at is not the one the database describes (moved, another
    store, or empty), so nothing in it is deleted and its data cannot be trusted to match."""


class StoreFullError(LineageQLError, OSError):
    """The artifact store (or the disk under it) is full; nothing was registered."""


class ArtifactDataDeletedError(NotFoundError):
    """The version's metadata exists, but prune deleted its data from the artifact store."""


class PruneError(LineageQLError):
    """A file could not be deleted (without `ignore_errors`); `.result` holds what was done."""

    def __init__(self, message: str, result: PruneResult) -> None:
        super().__init__(message)
        self.result = result


class DatabaseBusyError(LineageQLError):
    """The embedded database file is locked by another process; retry."""


class MaterializerError(LineageQLError):
    """A value could not be saved or loaded by its materializer."""


class UntrustedArtifactError(MaterializerError):
    """Stored data was refused before loading: loading it could run code, and its origin
    (signature) or the Python it needs could not be verified."""


# Errors defined next to the code that raises them, importable from here too (loaded on first
# use, so that importing sdk.errors stays free of those modules).
_DEFINED_ELSEWHERE = {
    "StoreSecretError": "sdk.artifacts.secret",
    "StepOutputError": "sdk.pipeline.execution",  # a TypeError too
}


def __getattr__(name: str) -> Any:
    module = _DEFINED_ELSEWHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


class AliasConflictError(LineageQLError):
    """An alias was not moved: another client moved it first (the message names where it
    points now), or it is protected and `force` was not given."""
