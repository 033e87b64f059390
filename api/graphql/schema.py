"""The one schema, served over HTTP and executed in-process alike."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext as StrawberryExecutionContext
from strawberry.types import ExecutionResult

from api.errors import ApiError
from api.graphql.execution import FastListExecutionContext, install_lean_resolvers
from api.graphql.extensions import INTERNAL, RequestPipeline, convert_error
from api.graphql.hooks import LeanExtensionsRunner
from api.graphql.inputs import AWARE_DATETIME, BIG_INT, BigInt
from api.graphql.mutation import Mutation
from api.graphql.query import Query

BATCH_CEILING = 2**31 - 1


class Schema(strawberry.Schema):
    async def execute(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        """Every error gets a code and unexpected ones are masked, also those raised before
        the operation's extensions run (a syntax error is raised inside RequestPipeline's parsing
        hook, the parser's token limit too) or by an extension."""
        result = await super().execute(*args, **kwargs)
        if result.errors:
            context = kwargs.get("context_value")
            request_id = getattr(context, "request_id", None)
            embedded = bool(getattr(context, "embedded", False))
            result.errors = [convert_error(e, request_id, embedded) for e in result.errors]
        return result

    def create_extensions_runner(
        self, execution_context: StrawberryExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        """Strawberry's runner with the hooks looked up once per extension class (hooks.py)."""
        return LeanExtensionsRunner(execution_context=execution_context, extensions=extensions)

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Log only server faults: not caller errors (domain errors, syntax, validation)."""
        if getattr(getattr(execution_context, "context", None), "embedded", False):
            return  # in-process, the caller gets the exception itself (see convert_error)
        unexpected = [
            e
            for e in errors
            if e.original_error is not None
            and not isinstance(e.original_error, ApiError)
            and (e.extensions or {}).get("code") != INTERNAL  # converted: logged already
        ]
        if unexpected:
            super().process_errors(unexpected, execution_context)


schema = Schema(
    query=Query,
    mutation=Mutation,
    # Error codes, parsing and validation cached by text, request limits, operation scope.
    extensions=[RequestPipeline],
    config=StrawberryConfig(
        # DateTime arguments (asOf) must name their time zone; BigInt is a size in bytes.
        scalar_map={BigInt: BIG_INT, datetime: AWARE_DATETIME},
        # The server caps operations per batch with Settings.max_batch_operations (api.limits).
        batching_config={"max_operations": BATCH_CEILING},
    ),
    # Lists of plain objects (lineage nodes and edges, steps, ...) completed in one loop.
    execution_context_class=FastListExecutionContext,
)


# Fields without arguments, extensions or permissions call their resolver (or read their
# attribute) directly, rather than through Strawberry's general wrapper.
install_lean_resolvers(schema)


def print_sdl() -> str:
    return schema.as_str() + "\n"
