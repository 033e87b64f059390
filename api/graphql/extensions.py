"""Schema extensions: error codes and masking, the operation's scope, and request limits.

Error reporting: domain errors keep their message and get `extensions.code`; anything
unexpected is logged with the request id and masked, so no trace or SQL reaches a client.
Limits and scopes come from the per-request context (its `settings` and `principal`), so one
schema serves servers and embedded stores with different configurations."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    ValidationRule,
    validate,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension
from strawberry.extensions.max_aliases import count_fields_with_alias
from strawberry.extensions.query_depth_limiter import create_validator
from strawberry.types.graphql import OperationType

from api.auth import Principal, Scope, forbidden
from api.errors import ApiError, LimitExceeded
from api.settings import Settings

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
        result.errors = [convert_error(error, request_id) for error in result.errors]


def convert_error(error: GraphQLError, request_id: str | None) -> GraphQLError:
    """`error` with its code; an unexpected one logged under `request_id` and masked.
    Idempotent: a converted error converts to itself."""
    original = error.original_error
    if isinstance(original, ApiError):
        return _with_extensions(error, original.extensions)
    if original is None or isinstance(original, GraphQLError):
        return limit_error(error) or ensure_code(error)
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


REQUIRED_SCOPE: dict[OperationType, Scope] = {
    OperationType.QUERY: "read",
    OperationType.MUTATION: "write",
    OperationType.SUBSCRIPTION: "read",
}


class OperationScope(SchemaExtension):
    """Refuse an operation the request's token may not run: mutations need `write`.

    The principal is the context's `principal`: set by the HTTP server, absent in-process
    (whoever runs the schema in-process holds the database anyway). A refusal also sets
    HTTP 403 when the context has the HTTP `response`."""

    def on_validate(self) -> Iterator[None]:
        # Before the yield: Strawberry reads the errors before the hooks' after-yield parts
        # run. ValidationCache, earlier in the list, has validated the document by now.
        self._check()
        yield

    def _check(self) -> None:
        context = self.execution_context.context
        principal: Principal | None = getattr(context, "principal", None)
        if principal is None or self.execution_context.pre_execution_errors:
            return
        operation = self.execution_context.operation_type
        scope = REQUIRED_SCOPE[operation]
        if principal.allows(scope):
            return
        error = forbidden(principal, scope, f"a {operation.value}")
        self.execution_context.pre_execution_errors = [
            GraphQLError(error.message, original_error=error, extensions=error.extensions)
        ]
        response = getattr(context, "response", None)
        if response is not None:
            response.status_code = 403


class RequestLimits(SchemaExtension):
    """The document limits of the context's settings: tokens (while parsing), then, once the
    document is valid and before it runs, query depth, aliases, and introspection when it is
    disabled."""

    def on_operation(self) -> Iterator[None]:
        settings = _settings(self.execution_context.context)
        if settings is not None:
            self.execution_context.parse_options["max_tokens"] = settings.max_tokens
        yield

    def on_validate(self) -> Iterator[None]:
        # Before the yield, as in OperationScope; after ValidationCache in the list.
        self._check()
        yield

    def _check(self) -> None:
        settings = _settings(self.execution_context.context)
        document = self.execution_context.graphql_document
        if settings is None or document is None or self.execution_context.pre_execution_errors:
            return  # an invalid document is refused already, and the limits assume a valid one
        query = self.execution_context.query or ""
        key = (query, settings.max_aliases, settings.max_query_depth, settings.introspection)
        if query and key in _ACCEPTED:
            return  # the SDK sends the same few documents again and again
        schema = self.execution_context.schema._schema
        errors = document_limit_errors(schema, document, settings)
        if errors:
            self.execution_context.pre_execution_errors = errors
        elif query:
            if len(_ACCEPTED) >= ACCEPTED_CACHE_SIZE:
                _ACCEPTED.clear()
            _ACCEPTED.add(key)


# Documents found within the limits, with the limits they were checked against (walking a
# document for its depth costs about as much as validating it again).
ACCEPTED_CACHE_SIZE = 1_000
_ACCEPTED: set[tuple[str, int, int, bool]] = set()


def _settings(context: object) -> Settings | None:
    settings = getattr(context, "settings", None)
    return settings if isinstance(settings, Settings) else None


def document_limit_errors(
    schema: GraphQLSchema, document: DocumentNode, settings: Settings
) -> list[GraphQLError]:
    """LIMIT_EXCEEDED errors for a document too deep or with too many aliases; a validation
    error for introspection where it is disabled."""
    aliases = _alias_count(document)
    if aliases > settings.max_aliases:
        return [
            _limit(
                f"alias limit exceeded: the document has {aliases} aliases, the maximum is "
                f"{settings.max_aliases} (LINEAGEQL_MAX_ALIASES); split it into several requests",
                "maxAliases",
                settings.max_aliases,
            )
        ]
    depths: dict[str, int] = {}
    validate(schema, document, [_depth_rule(settings.max_query_depth, depths.update)])
    deepest = max(depths.values(), default=0)
    if deepest > settings.max_query_depth:
        return [
            _limit(
                "query depth limit exceeded: the document nests fields deeper than the maximum "
                f"of {settings.max_query_depth} (LINEAGEQL_MAX_QUERY_DEPTH); ask for "
                "less at once and follow ids with further queries",
                "maxQueryDepth",
                settings.max_query_depth,
            )
        ]
    if not settings.introspection:
        errors = validate(schema, document, [NoSchemaIntrospectionCustomRule])
        return [
            GraphQLError(
                f"{error.message} Introspection is disabled on this server "
                "(LINEAGEQL_INTROSPECTION=false); the schema is published as schema.graphql.",
                nodes=error.nodes,
                extensions={"code": VALIDATION_FAILED},
            )
            for error in errors
        ]
    return []


def _depth_rule(max_depth: int, report: Callable[[dict[str, int]], None]) -> type[ValidationRule]:
    """Strawberry's depth rule (fragment-aware); its callback reports each operation's depth,
    which stops counting once past `max_depth`."""
    return create_validator(max_depth, None, report)


def _alias_count(document: DocumentNode) -> int:
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return sum(
        count_fields_with_alias(d, fragments)
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    )


def _limit(message: str, limit: str, maximum: int) -> GraphQLError:
    error = LimitExceeded(message, limit=limit, maximum=maximum)
    return GraphQLError(message, original_error=error, extensions=error.extensions)


_TOO_MANY_TOKENS = re.compile(r"Document contains more than (\d+) tokens")


def limit_error(error: GraphQLError) -> GraphQLError | None:
    """The parser's "too many tokens" syntax error as a LIMIT_EXCEEDED error, else None."""
    match = _TOO_MANY_TOKENS.search(error.message)
    if match is None:
        return None
    maximum = int(match.group(1))
    message = (
        f"token limit exceeded: the document has more than {maximum} tokens, the maximum "
        "(LINEAGEQL_MAX_TOKENS); send a smaller document"
    )
    return GraphQLError(
        message,
        extensions={"code": LimitExceeded.code, "limit": "maxTokens", "maximum": maximum},
    )
