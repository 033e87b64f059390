"""The schema's lean execution answers exactly what Strawberry's stock execution answers:

- fields without arguments calling their resolver directly (`install_lean_resolvers`);
- the plain fields of every object read and serialized in one loop (`execute_fields`);
- relations the request's loaders hold answered at once, and a run's steps read with the
  relations their selection needs in one session (`steps_with_relations`).

The reference is a second schema built from the same types with Strawberry's own resolvers and
execution context; the prefetch is compared with the loaders' field-by-field path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import strawberry
from sqlalchemy import event

import api
from api.graphql import execution, types
from api.graphql.context import build_context
from api.graphql.extensions import RequestPipeline
from api.graphql.mutation import Mutation
from api.graphql.query import Query
from api.graphql.schema import schema
from api.storage.engine import Database
from sdk.client import operations as ops
from tests.api.client import Api, output

reference = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    extensions=[RequestPipeline],
    config=schema.config,
)

STEPS = """
query ($id: ID!) { pipelineRun(id: $id) { name
  steps { __typename name status cacheReason
    originalStepRun { id name run { name } }
    inputs { name artifactVersion { id version tags artifact { name } producer { name } } }
    outputs { n: name artifactVersion { version producer { id } run { name } consumers { name } }
    }
  }
  s: steps { id inputs { name } }
  step(name: "train") { id outputs { artifactVersion { tags } } }
} }
"""
RUNS = """
{ pipelineRuns { edges { node { name pipeline { name lastRun { name } }
  steps { name outputs { artifactVersion { name tags } } } } } } }
"""
ARTIFACTS = """
{ artifacts { edges { node { name tags versionCount hasCustomName
  latestVersion { version storePath uri visualizations { type } }
  versions { edges { node { id aliases } } } } } } }
"""
ERRORS = """
query ($id: ID!) { a: artifactVersion(id: "no-such-version") { id }
  b: pipelineRun(id: $id) { steps { name } }
  c: artifactVersion(name: "model") { upstream(depth: -1) { totalCount } } }
"""


@pytest.fixture
def filled(gql: Api, tmp_path: Path) -> dict[str, str]:
    """Two runs of a two-step pipeline, the second one's first step a cache hit."""
    raw = gql.create_version("raw", tags=["source"], metadata={"rows": 3})
    ids: dict[str, str] = {"raw": raw}
    for index in range(2):
        run = gql.start_run(pipeline="lean", run_name=f"run-{index}")
        start = {
            "runId": run,
            "name": "clean",
            "inputs": [{"name": "data", "artifactVersionId": raw}],
            "cacheKey": "clean-key",
            "useCache": True,
        }
        started = gql.data(ops.START_STEP_RUN, input=start)["startStepRun"]
        if started["status"] == "RUNNING":
            (tmp_path / "store" / "clean" / "auto").mkdir(parents=True)
            done = gql.finish_step(started["id"], [output("out", "clean", tags=["t"])])
            cleaned = done["outputs"][0]["artifactVersion"]["id"]
        else:
            cleaned = started["outputs"][0]["artifactVersion"]["id"]
        step = gql.start_step(run, "train", inputs=[("data", cleaned)])
        gql.finish_step(step, [output("model", "model", metadata={"acc": 0.9})])
        gql.finish_run(run)
        ids[f"run-{index}"] = run
        ids["model"] = gql.data(ops.GET_VERSION, name="model")["artifactVersion"]["id"]
    assert started["status"] == "CACHED"
    return ids


@pytest.fixture
def settings(gql: Api, database_url: str, tmp_path: Path) -> Iterator[api.Settings]:
    yield api.Settings(
        home=tmp_path / "home", database_url=database_url, artifact_store=str(tmp_path / "store")
    )


def documents(ids: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    run = ids["run-1"]
    return [
        (ops.GET_PIPELINE_RUN, {"id": run}),
        (ops.GET_PIPELINE_RUN, {"id": ids["run-0"]}),
        (ops.PIPELINE_RUNS, {}),
        (ops.GET_VERSION, {"id": ids["model"]}),
        (ops.GET_ARTIFACT, {"name": "clean"}),
        (ops.LIST_VERSIONS, {}),
        (ops.LINEAGE, {"id": ids["model"], "direction": "BOTH", "depth": 3}),
        (STEPS, {"id": run}),
        (RUNS, {}),
        (ARTIFACTS, {}),
        (ERRORS, {"id": run}),
    ]


def answers(target: Any, settings: api.Settings, asked: list[tuple[str, dict[str, Any]]]) -> Any:
    async def run() -> list[Any]:
        db = Database.from_settings(settings)
        try:
            found = []
            for document, variables in asked:
                context = build_context(db, settings, embedded=True)
                result = await target.execute(
                    document, variable_values=variables, context_value=context
                )
                errors = [
                    {k: v for k, v in e.formatted.items() if k != "extensions"}
                    | {"code": (e.extensions or {}).get("code")}
                    for e in result.errors or []
                ]
                found.append((result.data, errors))
            return found
        finally:
            await db.dispose()

    return anyio.run(run)


def test_lean_execution_answers_what_strawberry_answers(
    filled: dict[str, str], settings: api.Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = documents(filled)
    plain_objects: list[int] = []
    compile_plan = execution._compile

    def counting(origin: type[Any], fields: Any) -> Any:
        complete = compile_plan(origin, fields)

        def counted(item: Any) -> dict[str, Any]:
            plain_objects.append(1)
            return complete(item)

        return counted

    monkeypatch.setattr(execution, "_compile", counting)
    monkeypatch.setattr(execution, "_COMPILED", {})  # every plan compiled (and counted) anew
    lean = answers(schema, settings, asked)
    stock = answers(reference, settings, asked)
    assert lean == stock
    assert all(not errors for _, errors in lean[:-1])
    assert [error["code"] for error in lean[-1][1]] == ["BAD_USER_INPUT"]
    assert lean[0][0]["pipelineRun"]["steps"][0]["status"] == "CACHED"
    assert len(plain_objects) > 50  # the fast path was taken


def test_prefetched_steps_answer_what_the_loaders_answer(
    filled: dict[str, str], settings: api.Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = documents(filled)
    prefetched = answers(schema, settings, asked)
    monkeypatch.setattr(types, "step_needs", lambda *_: types.NO_NEEDS)
    one_by_one = answers(schema, settings, asked)
    assert prefetched == one_by_one


def test_a_run_with_its_steps_reads_in_few_sessions(
    filled: dict[str, str], settings: api.Settings
) -> None:
    async def count() -> list[str]:
        db = Database.from_settings(settings)
        statements: list[str] = []

        def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement.split()[0].upper())

        event.listen(db.read_engine.sync_engine, "before_cursor_execute", record)
        try:
            context = build_context(db, settings, embedded=True)
            result = await schema.execute(
                ops.GET_PIPELINE_RUN, variable_values={"id": filled["run-1"]}, context_value=context
            )
            assert not result.errors
        finally:
            await db.dispose()
        return statements

    statements = anyio.run(count)
    # The abandoned-run check, the run, its pipeline, then steps, inputs and outputs (one
    # statement), versions, tags, producers and originals, and the originals' runs in one
    # session (SQLite counts each session's BEGIN).
    assert statements.count("SELECT") == 9
    assert statements.count("BEGIN") <= 4


def test_primed_relations_resolve_without_awaiting() -> None:
    from strawberry.dataloader import DataLoader

    async def check() -> None:
        calls: list[list[str]] = []

        async def fetch(keys: list[str]) -> list[str]:
            calls.append(keys)
            return [key.upper() for key in keys]

        loader: DataLoader[str, str] = DataLoader(load_fn=fetch)
        loader.prime("a", "primed")
        assert types.load(loader, "a", str.title) == "Primed"
        pending = types.load(loader, "b", str.title)
        assert await pending == "B"  # type: ignore[misc]
        assert types.load(loader, "b", str.title) == "B"  # loaded: now at once
        assert calls == [["b"]]

    anyio.run(check)


def _sample(graphql_type: Any, variant: str) -> Any:
    """A value of `graphql_type` as graphql-core hands it to a resolver; `variant` "full"
    gives every input field, "nulls" null for each nullable one, "required" omits them."""
    from datetime import UTC, datetime

    from graphql import (
        GraphQLEnumType,
        GraphQLInputObjectType,
        GraphQLList,
        GraphQLNonNull,
        GraphQLScalarType,
    )

    if isinstance(graphql_type, GraphQLNonNull):
        return _sample(graphql_type.of_type, variant)
    if isinstance(graphql_type, GraphQLList):
        return [_sample(graphql_type.of_type, variant), _sample(graphql_type.of_type, "nulls")]
    if isinstance(graphql_type, GraphQLEnumType):
        return next(iter(graphql_type.values.values())).value
    if isinstance(graphql_type, GraphQLInputObjectType):
        value = {}
        for name, field in graphql_type.fields.items():
            required = isinstance(field.type, GraphQLNonNull)
            if required or variant == "full":
                value[name] = _sample(field.type, variant)
            elif variant == "nulls":
                value[name] = None
        return value
    assert isinstance(graphql_type, GraphQLScalarType)
    return {
        "String": "text",
        "ID": "an-id",
        "Int": 3,
        "Float": 1.5,
        "Boolean": True,
        "JSON": {"a": [1, {"b": None}]},
        "DateTime": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    }.get(graphql_type.name, 7)


def test_compiled_argument_conversion_matches_strawberry() -> None:
    from graphql import GraphQLObjectType
    from strawberry.types.arguments import convert_argument

    registry = schema.schema_converter.scalar_registry
    compared = 0
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type.name.startswith("__"):
            continue
        for field_def in graphql_type.fields.values():
            field = field_def.extensions.get("strawberry-definition")
            for argument in getattr(field, "arguments", None) or []:
                name = schema.config.name_converter.from_argument(argument)
                convert = execution.input_converter(argument.type, schema)
                assert convert is not None, (graphql_type.name, name)
                for variant in ("full", "nulls", "required"):
                    value = _sample(field_def.args[name].type, variant)
                    expected = convert_argument(value, argument.type, registry, schema.config)
                    assert convert(value) == expected, (graphql_type.name, name, variant)
                    compared += 1
    assert compared > 60
