"""Generated artifacts are checked: the committed SDL, the CLI export and the SDK's documents."""

from __future__ import annotations

import subprocess
import sys

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    get_named_type,
    parse,
    validate,
)

import api
from sdk.client import operations
from tests.conftest import ROOT

SDL_PATH = ROOT / "schema.graphql"

QUERY_FIELDS = [
    "artifact",
    "artifacts",
    "artifactVersion",
    "artifactVersions",
    "pipeline",
    "pipelines",
    "pipelineRun",
    "pipelineRuns",
    "stepRun",
]

TYPE_FIELDS = {
    "Artifact": "id name tags createdAt latestVersion versions versionCount",
    "ArtifactVersion": (
        "id name version isCustomVersion uri dataType materializer contentHash sizeBytes "
        "metadata tags createdAt source producer consumers run"
    ),
    "Pipeline": "id name runs lastRun",
    "PipelineRun": "id name pipeline status startedAt endedAt steps step",
    "StepRun": (
        "id name status cacheKey parameters inputs outputs originalStepRun startedAt endedAt "
        "error run"
    ),
}

CONNECTIONS = {
    "artifacts": "ArtifactConnection",
    "artifactVersions": "ArtifactVersionConnection",
    "pipelines": "PipelineConnection",
    "pipelineRuns": "PipelineRunConnection",
}


def _documents() -> dict[str, str]:
    """Every module-level string constant of sdk.client.operations that holds an operation."""
    return {
        name: value
        for name, value in vars(operations).items()
        if not name.startswith("_")
        and isinstance(value, str)
        and ("query " in value or "mutation " in value)
    }


@pytest.fixture(scope="module")
def graphql_schema() -> GraphQLSchema:
    return build_schema(SDL_PATH.read_text())


def _object(schema: GraphQLSchema, name: str) -> GraphQLObjectType:
    found = schema.get_type(name)
    assert isinstance(found, GraphQLObjectType), f"{name} is not an object type"
    return found


def test_committed_schema_matches_code() -> None:
    assert SDL_PATH.read_text() == api.export_schema(), "schema.graphql is stale: run `make schema`"


def test_export_schema_cli_prints_the_sdl() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sdk.cli", "export-schema"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == api.export_schema()


def test_operations_module_has_documents() -> None:
    names = _documents()
    assert {"START_PIPELINE_RUN", "FINISH_STEP_RUN", "GET_VERSION", "PIPELINE_RUNS"} <= set(names)


@pytest.mark.parametrize("name", sorted(_documents()))
def test_sdk_document_validates(name: str, graphql_schema: GraphQLSchema) -> None:
    document = parse(_documents()[name])
    errors = validate(graphql_schema, document)
    assert not errors, f"sdk.client.operations.{name}: {[e.message for e in errors]}"


def test_sdk_documents_validate_against_live_schema() -> None:
    from api.graphql.schema import schema

    live = schema._schema
    for name, text in _documents().items():
        errors = validate(live, parse(text))
        assert not errors, f"sdk.client.operations.{name}: {[e.message for e in errors]}"


def test_contract_query_fields_exist(graphql_schema: GraphQLSchema) -> None:
    query = graphql_schema.query_type
    assert query is not None
    missing = [name for name in QUERY_FIELDS if name not in query.fields]
    assert not missing


@pytest.mark.parametrize("type_name", sorted(TYPE_FIELDS))
def test_contract_type_fields_exist(type_name: str, graphql_schema: GraphQLSchema) -> None:
    fields = _object(graphql_schema, type_name).fields
    missing = [name for name in TYPE_FIELDS[type_name].split() if name not in fields]
    assert not missing, f"{type_name} lacks {missing}"


def test_step_edges_have_name_and_artifact_version(graphql_schema: GraphQLSchema) -> None:
    step_run = _object(graphql_schema, "StepRun")
    for field in ("inputs", "outputs"):
        edge = get_named_type(step_run.fields[field].type)
        assert isinstance(edge, GraphQLObjectType)
        assert {"name", "artifactVersion"} <= set(edge.fields)


def test_run_status_enum_values(graphql_schema: GraphQLSchema) -> None:
    enum = graphql_schema.get_type("RunStatus")
    assert isinstance(enum, GraphQLEnumType)
    assert set(enum.values) == {"RUNNING", "COMPLETED", "FAILED", "CACHED", "ABANDONED"}


def test_artifact_source_enum_values(graphql_schema: GraphQLSchema) -> None:
    enum = graphql_schema.get_type("ArtifactSource")
    assert isinstance(enum, GraphQLEnumType)
    assert set(enum.values) == {"STEP_OUTPUT", "SAVED", "REGISTERED", "EXTERNAL"}
    assert get_named_type(_object(graphql_schema, "ArtifactVersion").fields["source"].type) is enum


def test_id_fields_are_ids(graphql_schema: GraphQLSchema) -> None:
    for type_name in TYPE_FIELDS:
        field_type = _object(graphql_schema, type_name).fields["id"].type
        assert isinstance(field_type, GraphQLNonNull)
        assert get_named_type(field_type).name == "ID"


@pytest.mark.parametrize("field", sorted(CONNECTIONS))
def test_query_connections_are_relay_shaped(field: str, graphql_schema: GraphQLSchema) -> None:
    query = graphql_schema.query_type
    assert query is not None
    root_field = query.fields[field]
    assert {"first", "after"} <= set(root_field.args)
    conn = get_named_type(root_field.type)
    assert conn.name == CONNECTIONS[field]
    _assert_connection(graphql_schema, conn.name)


@pytest.mark.parametrize(("type_name", "field"), [("Artifact", "versions"), ("Pipeline", "runs")])
def test_nested_connections_are_relay_shaped(
    type_name: str, field: str, graphql_schema: GraphQLSchema
) -> None:
    nested = _object(graphql_schema, type_name).fields[field]
    assert {"first", "after"} <= set(nested.args)
    _assert_connection(graphql_schema, get_named_type(nested.type).name)


def _assert_connection(schema: GraphQLSchema, name: str) -> None:
    conn = _object(schema, name)
    assert {"edges", "pageInfo", "totalCount"} <= set(conn.fields)
    edge = get_named_type(conn.fields["edges"].type)
    assert isinstance(edge, GraphQLObjectType)
    assert {"node", "cursor"} <= set(edge.fields)
    page_info = get_named_type(conn.fields["pageInfo"].type)
    assert isinstance(page_info, GraphQLObjectType)
    assert {"hasNextPage", "endCursor"} <= set(page_info.fields)
