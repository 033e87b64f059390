"""Errors the SDK raises. Every message says what was wrong and how to fix it."""

from __future__ import annotations

from typing import Any


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

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.errors: list[dict[str, Any]] = errors or []
        first = self.errors[0] if self.errors else {}
        self.code: str | None = (first.get("extensions") or {}).get("code")
