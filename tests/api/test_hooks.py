"""Extension hooks looked up once per extension class (api/graphql/hooks.py): the same hooks
run in the same order, around the same phases, as with Strawberry's own runner."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest
import strawberry
from strawberry.extensions import SchemaExtension

from api.graphql import hooks
from api.graphql.schema import Schema
from tests.api.client import Api


class Recording(SchemaExtension):
    """One hook of each kind Strawberry takes: async generator, function, generator,
    coroutine."""

    calls: list[str] = []

    async def on_operation(self) -> AsyncIterator[None]:
        self.calls.append("operation:start")
        yield
        self.calls.append("operation:end")

    def on_parse(self) -> None:
        self.calls.append(f"parse:{self.execution_context.query is not None}")

    def on_validate(self) -> Iterator[None]:
        self.calls.append("validate:start")
        yield
        self.calls.append(f"validate:end:{len(self.execution_context.pre_execution_errors or [])}")

    async def on_execute(self) -> None:
        self.calls.append("execute")


@strawberry.type
class Small:
    @strawberry.field
    def hello(self, name: str) -> str:
        return f"hello {name}"


def run(schema: strawberry.Schema, document: str) -> tuple[Any, list[str]]:
    Recording.calls = []
    result = anyio.run(lambda: schema.execute(document))
    errors = [error.message for error in result.errors or []]
    return (result.data, errors), list(Recording.calls)


@pytest.mark.parametrize(
    "document", ['{ hello(name: "a") }', "{ hello }", "{ nope", '{ hello(name: "b") }']
)
def test_hooks_run_as_with_strawberrys_runner(document: str) -> None:
    lean = Schema(query=Small, extensions=[Recording])
    stock = strawberry.Schema(query=Small, extensions=[Recording])
    assert type(lean.create_extensions_runner(None, [])) is hooks.LeanExtensionsRunner  # type: ignore[arg-type]
    assert run(lean, document) == run(stock, document)


def test_each_hook_is_looked_up_once_per_class(gql: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    looked_up: list[tuple[str, str]] = []
    discover = hooks._discover

    def counting(cls: type[Any], name: str) -> Any:
        looked_up.append((cls.__name__, name))
        return discover(cls, name)

    monkeypatch.setattr(hooks, "_discover", counting)
    monkeypatch.setattr(hooks, "_HOOKS", {})
    for _ in range(3):
        gql.data("{ artifacts(first: 1) { totalCount } }")
    phases = ["on_operation", "on_parse", "on_validate", "on_execute"]
    assert sorted(looked_up) == sorted(("RequestPipeline", phase) for phase in phases)
