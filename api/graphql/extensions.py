"""Error reporting: domain errors keep their message and get `extensions.code`; anything
unexpected is logged with the request id and masked, so no trace or SQL reaches a client."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from api.errors import ApiError

log = logging.getLogger("lineageql.api")

VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
INTERNAL = "INTERNAL_SERVER_ERROR"


class ErrorCodes(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        request_id = getattr(self.execution_context.context, "request_id", None)
        result.errors = [self._convert(error, request_id) for error in result.errors]

    @staticmethod
    def _convert(error: GraphQLError, request_id: str | None) -> GraphQLError:
        original = error.original_error
        if isinstance(original, ApiError):
            return _with_extensions(error, original.extensions)
        if original is None or isinstance(original, GraphQLError):
            return ensure_code(error)
        log.error("unexpected error in request %s at %s", request_id, error.path, exc_info=original)
        return GraphQLError(
            "Unexpected error; the server log has the details under this request id.",
            nodes=error.nodes,
            path=error.path,
            extensions={"code": INTERNAL, "requestId": request_id},
        )


def ensure_code(error: GraphQLError) -> GraphQLError:
    """`error` if it has a code; else the same error coded as a syntax or validation error."""
    if error.extensions and "code" in error.extensions:
        return error
    code = PARSE_FAILED if error.message.startswith("Syntax Error") else VALIDATION_FAILED
    return _with_extensions(error, {**(error.extensions or {}), "code": code})


def _with_extensions(error: GraphQLError, extensions: dict[str, Any]) -> GraphQLError:
    return GraphQLError(
        error.message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions=extensions,
    )
