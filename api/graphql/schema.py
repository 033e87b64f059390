"""The one schema, served over HTTP and executed in-process alike."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig

from api.errors import ApiError
from api.graphql.extensions import ErrorCodes
from api.graphql.inputs import BIG_INT, BigInt
from api.graphql.mutation import Mutation
from api.graphql.query import Query


class Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Log only what is unexpected; errors meant for the caller are not server faults."""
        unexpected = [e for e in errors if not isinstance(e.original_error, ApiError)]
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
