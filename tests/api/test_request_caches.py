"""What the schema works out once per document text (parsing, validation, the document's cost)
never changes an answer: the verdicts follow the request's settings and validation rules, and
the caches stay bounded."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import strawberry
from graphql import GraphQLError, ValidationRule
from strawberry.extensions import SchemaExtension

import api
from api.graphql import extensions
from api.graphql.context import build_context
from api.graphql.extensions import RequestPipeline
from api.graphql.schema import schema


def settings(tmp_path: Path, **limits: Any) -> api.Settings:
    return api.Settings(
        home=tmp_path, database_url="sqlite://", artifact_store=str(tmp_path), **limits
    )


def run(document: str, config: api.Settings, target: Any = schema) -> dict[str, Any]:
    async def execute() -> Any:
        context = build_context(None, config, embedded=True)  # type: ignore[arg-type]
        return await target.execute(document, context_value=context)

    result = asyncio.run(execute())
    answer: dict[str, Any] = {"data": result.data}
    if result.errors:
        answer["errors"] = [error.formatted for error in result.errors]
    return answer


def codes(answer: dict[str, Any]) -> list[Any]:
    return [(e["extensions"].get("code"), e["extensions"].get("limit")) for e in answer["errors"]]


def test_limits_follow_the_settings_of_each_request(tmp_path: Path) -> None:
    document = "{ a: __typename b: __typename c: __typename }"
    loose, tight = settings(tmp_path), settings(tmp_path, max_fields=2, max_aliases=2)
    assert run(document, loose) == {"data": {"a": "Query", "b": "Query", "c": "Query"}}
    assert codes(run(document, tight)) == [("LIMIT_EXCEEDED", "maxFields")]
    assert run(document, loose)["data"] == {"a": "Query", "b": "Query", "c": "Query"}
    few_aliases = settings(tmp_path, max_aliases=2)
    assert codes(run(document, few_aliases)) == [("LIMIT_EXCEEDED", "maxAliases")]
    nested = "{ artifacts { edges { cursor } } }"  # 2 deep
    for _ in range(2):
        shallow = run(nested, settings(tmp_path, max_query_depth=1))
        assert codes(shallow) == [("LIMIT_EXCEEDED", "maxQueryDepth")]
        deep_enough = run(nested, settings(tmp_path, max_query_depth=2))
        # No database behind this context: the resolver fails, but past the limits.
        assert ("LIMIT_EXCEEDED", "maxQueryDepth") not in codes(deep_enough)


def test_the_token_limit_follows_the_settings_of_each_request(tmp_path: Path) -> None:
    document = "{ __typename a: __typename b: __typename }"  # 10 tokens
    assert "errors" not in run(document, settings(tmp_path))
    assert codes(run(document, settings(tmp_path, max_tokens=5))) == [
        ("LIMIT_EXCEEDED", "maxTokens")
    ]
    assert "errors" not in run(document, settings(tmp_path))
    assert codes(run(document, settings(tmp_path, max_tokens=5))) == [
        ("LIMIT_EXCEEDED", "maxTokens")
    ]


def test_introspection_follows_the_settings_of_each_request(tmp_path: Path) -> None:
    document = "{ __schema { queryType { name } } }"
    closed, open_ = settings(tmp_path, introspection=False), settings(tmp_path)
    for _ in range(2):
        assert run(document, open_) == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
        refused = codes(run(document, closed))
        assert refused and set(refused) == {("GRAPHQL_VALIDATION_FAILED", None)}


def test_invalid_documents_answer_the_same_errors_every_time(tmp_path: Path) -> None:
    config = settings(tmp_path)
    first = run("{ noSuchField }", config)
    again = run("{ noSuchField }", config)
    assert first["data"] is None and codes(first) == [("GRAPHQL_VALIDATION_FAILED", None)]
    assert [e["message"] for e in again["errors"]] == [e["message"] for e in first["errors"]]
    assert (
        again["errors"][0]["extensions"]["requestId"]
        != first["errors"][0]["extensions"]["requestId"]
    )
    syntax = [run("{ broken", config) for _ in range(2)]
    assert [codes(answer) for answer in syntax] == [[("GRAPHQL_PARSE_FAILED", None)]] * 2


class NoNames(ValidationRule):
    """A custom rule: refuses any field called `name`; counts the documents it validated."""

    documents = 0

    def enter_document(self, *_: Any) -> None:
        NoNames.documents += 1

    def enter_field(self, node: Any, *_: Any) -> None:
        if node.name.value == "name":
            self.report_error(GraphQLError("no names here", node))


class StrictRequests(SchemaExtension):
    """Adds NoNames to the request's rules when the context asks for it."""

    def on_operation(self) -> Iterator[None]:
        if getattr(self.execution_context.context, "strict", False):
            rules = self.execution_context.validation_rules
            self.execution_context.validation_rules = (*rules, NoNames)
        yield


@strawberry.type
class Thing:
    name: str = "thing"


@strawberry.type
class Things:
    @strawberry.field
    def thing(self) -> Thing:
        return Thing()


def test_custom_validation_rules_apply_whatever_was_cached(tmp_path: Path) -> None:
    custom = strawberry.Schema(Things, extensions=[RequestPipeline, StrictRequests])
    config = settings(tmp_path)

    async def execute(document: str, strict: bool) -> Any:
        context = build_context(None, config, embedded=True)  # type: ignore[arg-type]
        context.strict = strict  # type: ignore[attr-defined]
        return await custom.execute(document, context_value=context)

    document = "{ thing { name } }"
    before = NoNames.documents
    assert asyncio.run(execute(document, strict=False)).data == {"thing": {"name": "thing"}}
    refused = asyncio.run(execute(document, strict=True))
    assert [e.message for e in refused.errors or []] == ["no names here"]
    assert NoNames.documents == before + 1
    # Cached per rule set: the rule ran once for this text, and still refuses it.
    refused = asyncio.run(execute(document, strict=True))
    assert [e.message for e in refused.errors or []] == ["no names here"]
    assert NoNames.documents == before + 1
    assert asyncio.run(execute(document, strict=False)).data == {"thing": {"name": "thing"}}
    other = "{ thing { __typename name } }"
    assert asyncio.run(execute(other, strict=True)).errors
    assert NoNames.documents == before + 2


def test_validation_runs_once_per_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    validate = extensions.validate_document

    def counted(schema: Any, document: Any, rules: Any) -> list[GraphQLError]:
        calls.append("validate")
        return validate(schema, document, rules)

    monkeypatch.setattr(extensions, "validate_document", counted)
    document = "{ __typename first: __typename }"
    for _ in range(3):
        assert "errors" not in run(document, settings(tmp_path))
    assert calls == ["validate"]


def test_the_caches_are_bounded(tmp_path: Path) -> None:
    config = settings(tmp_path)
    for i in range(extensions.TEXT_CACHE_SIZE + 50):
        assert "errors" not in run(f"{{ __typename a{i}: __typename }}", config)
    for cache in (extensions._DOCUMENTS, extensions._VALIDATIONS, extensions._COSTS):
        assert len(cache) <= extensions.TEXT_CACHE_SIZE
    long = "{ __typename " + " " * extensions.TEXT_CACHE_MAX_CHARS + "}"
    size = len(extensions._COSTS)
    assert run(long, config) == {"data": {"__typename": "Query"}}
    assert long not in extensions._COSTS._entries
    assert len(extensions._COSTS) <= max(size, extensions.TEXT_CACHE_SIZE)


def test_the_cache_is_safe_to_share_between_threads() -> None:
    cache: extensions.BoundedCache[int, int] = extensions.BoundedCache(8)
    failures: list[BaseException] = []

    def hammer(offset: int) -> None:
        try:
            for i in range(2000):
                key = (i + offset) % 20
                assert cache.get_or_compute(key, lambda key=key: key * 2) == key * 2
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [] and len(cache) <= 8
