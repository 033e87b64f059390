"""The one schema, served over HTTP and executed in-process alike."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionResult

from api.errors import ApiError
from api.graphql.extensions import ErrorCodes, ensure_code
from api.graphql.inputs import BIG_INT, BigInt
from api.graphql.mutation import Mutation
from api.graphql.query import Query


class Schema(strawberry.Schema):
    async def execute(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        """Every error gets a code, also those raised before the operation's extensions run
        (a syntax error is raised inside ParserCache's own hook)."""
        result = await super().execute(*args, **kwargs)
        if result.errors:
            result.errors = [ensure_code(error) for error in result.errors]
        return result

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Log only server faults: not caller errors (domain errors, syntax, validation)."""
        unexpected = [
            e
            for e in errors
            if e.original_error is not None and not isinstance(e.original_error, ApiError)
        ]
        if unexpected:
            super().process_errors(unexpected, execution_context)


schema = Schema(
    query=Query,
    mutation=Mutation,
    extensions=[ErrorCodes, ParserCache, ValidationCache],
    config=StrawberryConfig(scalar_map={BigInt: BIG_INT}),
)


def print_sdl() -> str:
    return schema.as_str() + "\n"
