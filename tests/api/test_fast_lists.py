"""Lists of plain objects completed in one loop (api/graphql/execution.py) answer exactly what
graphql-core's general completion answers, and the fast path is really taken."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

import api
from api.graphql import execution
from api.graphql.context import build_context
from api.graphql.schema import schema
from api.storage.engine import Database
from tests.api.client import Api, output

DOCUMENTS = [
    """query ($id: ID!) { lineage(id: $id, direction: BOTH, depth: 5) {
        nodes { __typename
          ... on ArtifactVersion { id name version isCustomVersion uri createdAt sizeBytes
                                   metadata source tags producer { id } }
          ... on StepRun { id name status startedAt endedAt parameters cacheReason } }
        edges { source target kind name } truncated totalCount
        pageInfo { hasNextPage endCursor } } }""",
    """query ($id: ID!) { lineage(id: $id, direction: UPSTREAM, depth: 2, first: 3) {
        nodes { ... on ArtifactVersion { v: version n: name } ... on StepRun { s: status } }
        edges { kind, source } } }""",
    """query ($skip: Boolean!) { pipelineRuns { edges { node { name status
        steps { name status @skip(if: $skip) parameters
                inputs { name artifactVersion { name version } }
                outputs { name artifactVersion { id tags } } } } } } }""",
    """{ artifacts { edges { node { name tags versionCount
        versions { edges { node { version tags metadata } } } } } } }""",
    "{ __schema { types { name kind fields { name type { name kind ofType { name } } } } } }",
]


@pytest.fixture
def filled(gql: Api) -> str:
    """A few runs with tagged, nested outputs; returns a middle version's id."""
    raw = gql.create_version("raw", tags=["source"], metadata={"rows": 3})
    middle = ""
    for index in range(3):
        run = gql.start_run(run_name=f"run-{index}")
        step = gql.start_step(run, "clean", inputs=[("data", raw)])
        cleaned = gql.finish_step(step, [output("out", "clean", tags=["t"], size_bytes=7)])
        cleaned_id = cleaned["outputs"][0]["artifactVersion"]["id"]
        middle = middle or cleaned_id
        step = gql.start_step(run, "train", inputs=[("data", cleaned_id)])
        gql.finish_step(step, [output("model", "model", metadata={"acc": 0.9})])
        gql.finish_run(run)
    return middle


def _answers(
    settings: api.Settings, variables: dict[str, Any], context_class: type[Any]
) -> list[Any]:
    async def run() -> list[Any]:
        db = Database.from_settings(settings)
        previous = schema.execution_context_class
        schema.execution_context_class = context_class
        try:
            found = []
            for document in DOCUMENTS:
                result = await schema.execute(
                    document, variable_values=variables, context_value=build_context(db, settings)
                )
                found.append((result.data, [e.formatted for e in result.errors or []]))
            return found
        finally:
            schema.execution_context_class = previous
            await db.dispose()

    return anyio.run(run)


@pytest.fixture
def settings(gql: Api, database_url: str, tmp_path: Path) -> Iterator[api.Settings]:
    yield api.Settings(
        home=tmp_path / "home", database_url=database_url, artifact_store=str(tmp_path / "store")
    )


def test_fast_lists_answer_what_the_general_path_answers(
    filled: str, settings: api.Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[int] = []
    plain = execution.FastListExecutionContext._complete_plain

    def counting(self: Any, item_type: Any, details: Any, items: Any) -> list[Any]:
        answer = plain(self, item_type, details, items)
        taken.append(len(items))
        return answer

    monkeypatch.setattr(execution.FastListExecutionContext, "_complete_plain", counting)
    for skip in (False, True):
        variables = {"id": filled, "skip": skip}
        general = _answers(settings, variables, StrawberryGraphQLCoreExecutionContext)
        fast = _answers(settings, variables, execution.FastListExecutionContext)
        assert fast == general
        assert all(not errors for _, errors in general[:4])
    # The second document's nodes and edges are plain (the first one's select resolvers such
    # as tags and producer, so those lists take the general path).
    assert taken and max(taken) >= 3


def test_enum_fields_serialize_as_strawberry_does() -> None:
    """The enum serializer of the plain path (one lookup) answers what the enum type's own
    `serialize` answers: for members, for their values, and by the same error otherwise."""
    for name in ("RunStatus", "EdgeKind", "ArtifactSource"):
        enum_type = schema._schema.type_map[name]
        fast = execution._enum_serializer(enum_type)
        members = list(enum_type.wrapped_cls)
        assert members
        for member in members:
            assert fast(member) == enum_type.serialize(member)
            assert fast(member.value) == enum_type.serialize(member.value)
        for bogus in ("NO_SUCH_VALUE", ["unhashable"]):
            with pytest.raises(Exception) as general:
                enum_type.serialize(bogus)
            with pytest.raises(type(general.value)):
                fast(bogus)


class _Item:
    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


def test_a_compiled_plan_falls_back_where_the_general_path_must_answer() -> None:
    def refuse(value: Any) -> Any:
        return None if value == "refused" else f"<{value}>"

    fields = (
        execution._Field("__typename", None, None, True, "Thing"),
        execution._Field("id", "id", execution.GraphQLID.serialize, True),
        execution._Field("label", "name", refuse, False),
    )
    complete = execution._compile((_Item,), fields)
    assert complete(_Item(id="a", name="x")) == {"__typename": "Thing", "id": "a", "label": "<x>"}
    assert complete(_Item(id=7, name=None)) == {"__typename": "Thing", "id": "7", "label": None}
    assert list(complete(_Item(id="a", name="x"))) == ["__typename", "id", "label"]
    for falls_back in (
        _Item(id=None, name="x"),  # a null in a non-null field
        _Item(id="a", name="refused"),  # serialize turned the value into null
        object(),  # another class
    ):
        with pytest.raises(execution._Fallback):
            complete(falls_back)


def test_the_store_edge_stands_in_for_lineage_edge() -> None:
    """A lineage page's edges are the store's named tuples (`stand_in`): they have every field
    of LineageEdge by the same name, and a plan for LineageEdge completes them without falling
    back (the documents above compare them with the general path)."""
    from api.graphql.lineage import LineageEdge
    from api.storage import lineage as store

    assert store.Edge._fields == tuple(LineageEdge.__annotations__)
    assert store.Edge in execution._STAND_INS[LineageEdge]
    object_type = schema._schema.get_type("LineageEdge")
    fields = tuple(
        execution._Field(name, name, object_type.fields[name].type.of_type.serialize, True)
        for name in ("source", "target", "name")
    )
    complete = execution._compile((LineageEdge, *execution._STAND_INS[LineageEdge]), fields)
    edge = store.Edge("a", "b", store.EdgeKind.PRODUCED, "out")
    assert complete(edge) == {"source": "a", "target": "b", "name": "out"}
