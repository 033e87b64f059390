"""Request limits and error masking on a real server: each limit is configured through its
environment variable and answered with LIMIT_EXCEEDED naming it."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import parse

import api
import sdk.client.operations as ops
from api.graphql.extensions import document_limit_errors
from api.graphql.schema import schema
from tests.conftest import LiveServer

LIMITS = {
    "LINEAGEQL_MAX_QUERY_DEPTH": "3",
    "LINEAGEQL_MAX_ALIASES": "2",
    "LINEAGEQL_MAX_TOKENS": "60",
    "LINEAGEQL_MAX_BATCH_OPERATIONS": "2",
    "LINEAGEQL_MAX_BODY_BYTES": "4000",
    "LINEAGEQL_MAX_PAGE_SIZE": "5",
    "LINEAGEQL_MAX_LINEAGE_DEPTH": "2",
    "LINEAGEQL_INTROSPECTION": "false",
}
DEPTH_3 = "{ artifacts { edges { node { name } } } }"
DEPTH_4 = "{ artifacts { edges { node { latestVersion { name } } } } }"


def server_env(root: Path, sqlite_template: Path, **extra: str) -> dict[str, str]:
    shutil.copyfile(sqlite_template, root / "metadata.db")
    env = {
        **os.environ,
        "LINEAGEQL_HOME": str(root / "home"),
        "LINEAGEQL_DATABASE_URL": f"sqlite:///{root / 'metadata.db'}",
        "LINEAGEQL_ARTIFACT_STORE": str(root / "store"),
        **extra,
    }
    for key in ("LINEAGEQL_URL", "LINEAGEQL_TOKEN", "LINEAGEQL_TOKENS", "LINEAGEQL_TOKENS_FILE"):
        env.pop(key, None)
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[str]:
    root = tmp_path_factory.mktemp("limits")
    live = LiveServer(server_env(root, sqlite_template, **LIMITS), root / "server.log")
    try:
        yield live.url
    finally:
        live.stop()


def post(url: str, query: str, **variables: Any) -> httpx.Response:
    return httpx.post(url, json={"query": query, "variables": variables}, timeout=30)


def ok(url: str, query: str, **variables: Any) -> dict[str, Any]:
    response = post(url, query, **variables)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def limit_error(
    response: httpx.Response, limit: str, maximum: int, variable: str | None = None
) -> str:
    body = response.json()
    assert not body.get("data"), body
    [error] = body["errors"]
    assert error["extensions"] == {"code": "LIMIT_EXCEEDED", "limit": limit, "maximum": maximum}
    assert variable is None or variable in error["message"]
    message: str = error["message"]
    return message


def test_query_depth(server: str) -> None:
    assert ok(server, DEPTH_3) == {"artifacts": {"edges": []}}
    message = limit_error(post(server, DEPTH_4), "maxQueryDepth", 3, "LINEAGEQL_MAX_QUERY_DEPTH")
    assert message.startswith("query depth limit exceeded")


def test_query_depth_counts_through_fragments(server: str) -> None:
    query = """
    query { ...Outer }
    fragment Outer on Query { artifacts { ...Inner } }
    fragment Inner on ArtifactConnection { edges { node { latestVersion { name } } } }
    """
    limit_error(post(server, query), "maxQueryDepth", 3, "LINEAGEQL_MAX_QUERY_DEPTH")


def test_aliases(server: str) -> None:
    two = "{ a: artifacts { totalCount } b: artifacts { totalCount } }"
    assert ok(server, two) == {"a": {"totalCount": 0}, "b": {"totalCount": 0}}
    three = "{ a: artifacts { totalCount } b: artifacts { totalCount } c: __typename }"
    message = limit_error(post(server, three), "maxAliases", 2, "LINEAGEQL_MAX_ALIASES")
    assert "3 aliases" in message


def test_aliases_count_inside_fragments(server: str) -> None:
    query = "query { x: __typename ...F } fragment F on Query { y: __typename z: __typename }"
    limit_error(post(server, query), "maxAliases", 2, "LINEAGEQL_MAX_ALIASES")


def test_tokens_per_document(server: str) -> None:
    assert ok(server, "{ " + "__typename " * 50 + "}") == {"__typename": "Query"}
    response = post(server, "{ " + "__typename " * 70 + "}")
    message = limit_error(response, "maxTokens", 60, "LINEAGEQL_MAX_TOKENS")
    assert "Syntax Error" not in message


def test_operations_per_batch(server: str) -> None:
    two = [{"query": "{ __typename }"}, {"query": "{ artifacts { totalCount } }"}]
    response = httpx.post(server, json=two, timeout=30)
    assert response.status_code == 200
    assert response.json() == [
        {"data": {"__typename": "Query"}},
        {"data": {"artifacts": {"totalCount": 0}}},
    ]
    response = httpx.post(server, json=[*two, {"query": "{ __typename }"}], timeout=30)
    assert response.status_code == 400
    message = limit_error(response, "maxBatchOperations", 2, "LINEAGEQL_MAX_BATCH_OPERATIONS")
    assert "3 operations" in message


def test_body_size_by_content_length(server: str) -> None:
    small = post(server, "query ($pad: String) { __typename }", pad="x" * 3000)
    assert small.status_code == 200
    response = post(server, "query ($pad: String) { __typename }", pad="x" * 5000)
    assert response.status_code == 413
    limit_error(response, "maxBodyBytes", 4000, "LINEAGEQL_MAX_BODY_BYTES")


def test_body_size_of_a_streamed_body(server: str) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        yield b'{"query": "{ __typename }", "variables": {"pad": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}}'

    response = httpx.post(
        server, content=chunks(), headers={"Content-Type": "application/json"}, timeout=30
    )
    assert response.status_code == 413
    limit_error(response, "maxBodyBytes", 4000, "LINEAGEQL_MAX_BODY_BYTES")


def test_page_size(server: str) -> None:
    assert ok(server, "{ artifacts(first: 5) { totalCount } }")
    response = post(server, "{ artifacts(first: 6) { totalCount } }")
    assert "`first` is 6, the maximum is 5" in limit_error(response, "maxPageSize", 5)


def test_lineage_depth(server: str) -> None:
    query = "query ($id: ID!) { lineage(id: $id, depth: 3) { truncated } }"
    response = post(server, query, id=str(uuid.uuid4()))
    assert "`depth` is 3, the maximum is 2" in limit_error(response, "maxLineageDepth", 2)


def test_introspection_can_be_disabled(server: str) -> None:
    response = post(server, "{ __schema { queryType { name } } }")
    errors = response.json()["errors"]
    assert errors
    assert "data" not in response.json() or response.json()["data"] is None
    for error in errors:
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert "LINEAGEQL_INTROSPECTION=false" in error["message"]
    assert ok(server, "{ __typename }") == {"__typename": "Query"}  # not introspection


def test_every_response_carries_a_request_id(server: str) -> None:
    first, second = post(server, "{ __typename }"), post(server, DEPTH_4)
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert ids[0] != ids[1]


# --- defaults and the embedded store --------------------------------------------------------


def test_defaults_admit_every_document_the_sdk_sends(tmp_path: Path) -> None:
    settings = api.Settings(home=tmp_path, database_url="sqlite://", artifact_store=str(tmp_path))
    documents = [
        value
        for name, value in vars(ops).items()
        if name.isupper() and isinstance(value, str) and re.search(r"\b(query|mutation)\b", value)
    ]
    assert len(documents) > 10
    for document in documents:
        assert document_limit_errors(schema._schema, parse(document), settings) == []


def test_embedded_store_applies_the_same_limits(tmp_path: Path, sqlite_template: Path) -> None:
    shutil.copyfile(sqlite_template, tmp_path / "metadata.db")
    settings = api.Settings(
        home=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'metadata.db'}",
        artifact_store=str(tmp_path / "store"),
        max_query_depth=3,
    )
    executor = api.LocalExecutor(settings)
    try:
        assert executor.execute(DEPTH_3) == {"data": {"artifacts": {"edges": []}}}
        [error] = executor.execute(DEPTH_4)["errors"]
    finally:
        executor.close()
    assert error["extensions"]["limit"] == "maxQueryDepth"


def test_a_limit_must_be_a_positive_integer() -> None:
    with pytest.raises(ValueError, match="LINEAGEQL_MAX_ALIASES must be a positive integer"):
        api.Settings.from_env({"LINEAGEQL_MAX_ALIASES": "many"})
    with pytest.raises(ValueError, match="LINEAGEQL_INTROSPECTION must be true or false"):
        api.Settings.from_env({"LINEAGEQL_INTROSPECTION": "maybe"})


# --- error masking --------------------------------------------------------------------------


def test_unexpected_errors_are_masked_and_logged_with_the_request_id(
    tmp_path: Path, sqlite_template: Path
) -> None:
    env = server_env(tmp_path, sqlite_template)
    live = LiveServer(env, tmp_path / "server.log")
    try:
        # A fault the API cannot expect: its table is gone under the running server.
        with sqlite3.connect(tmp_path / "metadata.db") as db:
            db.execute("ALTER TABLE artifacts RENAME TO artifacts_gone")
        response = post(live.url, "{ artifacts { totalCount } }")
    finally:
        live.stop()
    body = response.json()
    [error] = body["errors"]
    request_id = response.headers["x-request-id"]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
    assert error["message"].startswith("Unexpected error")
    for leak in ("Traceback", "SELECT", "artifacts_gone", "no such table", "sqlite", "File "):
        assert leak not in response.text
    log = live.log_path.read_text()
    assert f"unexpected error in request {request_id}" in log
    assert "no such table: artifacts" in log
