"""Domain errors of the API. Each carries the `extensions.code` the GraphQL layer reports."""

from __future__ import annotations

from typing import Any, ClassVar


class ApiError(Exception):
    """An error meant for the caller: its message is shown, its code set in `extensions.code`."""

    code: ClassVar[str] = "BAD_USER_INPUT"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, **self.details}


class NotFound(ApiError):
    code = "NOT_FOUND"


class Conflict(ApiError):
    code = "CONFLICT"


class BadUserInput(ApiError):
    code = "BAD_USER_INPUT"


class Unauthenticated(ApiError):
    code = "UNAUTHENTICATED"


class Forbidden(ApiError):
    code = "FORBIDDEN"


class LimitExceeded(ApiError):
    code = "LIMIT_EXCEEDED"


class DatabaseBusy(ApiError):
    """The database is locked by another process; the request changed nothing: retry."""

    code = "DATABASE_BUSY"


class BadRequest(ApiError):
    """A request that is not a GraphQL request this server can run: a body that is not a JSON
    object, no query, an operation to run that is not clear. HTTP 400."""

    code = "BAD_REQUEST"
