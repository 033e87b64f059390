"""The HTTP server: `lineageql serve` in a subprocess, reached over loopback with httpx."""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from sdk import cli
from tests.api.client import CREATE_VERSION, version_input
from tests.conftest import LiveServer

START_RUN = """
mutation ($input: StartPipelineRunInput!) { startPipelineRun(input: $input) { id name status } }
"""
START_STEP = "mutation ($input: StartStepRunInput!) { startStepRun(input: $input) { id } }"
FINISH_STEP = """
mutation ($input: FinishStepRunInput!) {
  finishStepRun(input: $input) { status outputs { artifactVersion { id version sizeBytes } } }
}
"""
RUN = """
query ($id: ID!) {
  pipelineRun(id: $id) {
    name status steps { name outputs { name artifactVersion { name version sizeBytes } } }
  }
}
"""
BIG_SIZE = 2**40


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    env = {
        **os.environ,
        "LINEAGEQL_HOME": str(tmp_path / "home"),
        "LINEAGEQL_DATABASE_URL": database_url,
        "LINEAGEQL_ARTIFACT_STORE": str(tmp_path / "store"),
    }
    for key in ("LINEAGEQL_URL", "LINEAGEQL_TOKEN"):
        env.pop(key, None)
    live = LiveServer(env, tmp_path / "server.log")
    try:
        yield live
    finally:
        live.stop()


def post(server: LiveServer, query: str, **variables: Any) -> httpx.Response:
    return httpx.post(server.url, json={"query": query, "variables": variables}, timeout=30)


def data(server: LiveServer, query: str, **variables: Any) -> dict[str, Any]:
    response = post(server, query, **variables)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]
    return result


def test_healthz_reports_ok(server: LiveServer) -> None:
    response = httpx.get(f"http://127.0.0.1:{server.port}/healthz", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_get_with_html_accept_serves_graphiql(server: LiveServer) -> None:
    response = httpx.get(server.url, headers={"Accept": "text/html"}, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


def test_post_query_returns_json_data(server: LiveServer) -> None:
    response = post(server, "query { artifacts { totalCount edges { cursor } } }")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"data": {"artifacts": {"totalCount": 0, "edges": []}}}


def test_query_via_get_is_refused(server: LiveServer) -> None:
    response = httpx.get(
        server.url,
        params={"query": "query { artifacts { totalCount } }"},
        headers={"Accept": "application/json"},
        timeout=10,
    )
    assert 400 <= response.status_code < 500
    assert "totalCount" not in response.text


def test_mutation_via_get_is_refused(server: LiveServer) -> None:
    mutation = 'mutation { startPipelineRun(input: {pipelineName: "p"}) { id } }'
    response = httpx.get(
        server.url, params={"query": mutation}, headers={"Accept": "application/json"}, timeout=10
    )
    assert 400 <= response.status_code < 500
    assert data(server, 'query { pipeline(name: "p") { id } }') == {"pipeline": None}


def test_mutations_then_query_over_http(server: LiveServer) -> None:
    run = data(server, START_RUN, input={"pipelineName": "web", "runName": "web-1"})
    run_id = run["startPipelineRun"]["id"]
    assert run["startPipelineRun"]["status"] == "RUNNING"
    step_id = data(server, START_STEP, input={"runId": run_id, "name": "fetch"})["startStepRun"]
    outputs = [
        {
            "outputName": "page",
            "artifact": {
                "name": "page",
                "uri": "page/1/",  # store-relative
                "dataType": "builtins.bytes",
                "materializer": "builtin",
                "sizeBytes": BIG_SIZE,
                "tags": ["web"],
            },
        }
    ]
    finish = {"stepRunId": step_id["id"], "status": "COMPLETED", "outputs": outputs}
    assert data(server, FINISH_STEP, input=finish)["finishStepRun"]["status"] == "COMPLETED"
    assert data(server, RUN, id=run_id)["pipelineRun"] == {
        "name": "web-1",
        "status": "RUNNING",
        "steps": [
            {
                "name": "fetch",
                "outputs": [
                    {
                        "name": "page",
                        "artifactVersion": {"name": "page", "version": "1", "sizeBytes": BIG_SIZE},
                    }
                ],
            }
        ],
    }


def test_domain_errors_carry_code_over_http(server: LiveServer) -> None:
    unknown = "00000000-0000-0000-0000-000000000000"
    response = post(server, START_STEP, input={"runId": unknown, "name": "s"})
    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "NOT_FOUND"


def test_limit_errors_carry_code_over_http(server: LiveServer) -> None:
    response = post(server, "query { artifacts(first: 100000) { totalCount } }")
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED"


def test_validation_errors_carry_code_over_http(server: LiveServer) -> None:
    response = post(server, "query { noSuchField }")
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "Traceback" not in response.text


def test_syntax_errors_carry_code_over_http(server: LiveServer) -> None:
    response = post(server, "query { artifacts( ")
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


def test_server_listens_on_loopback(server: LiveServer) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    tcp = Path("/proc/net/tcp")
    if not tcp.exists():
        pytest.skip("no /proc/net/tcp to list listening sockets")
    listening = [
        line.split()[1]
        for line in tcp.read_text().splitlines()[1:]
        if line.split()[3] == "0A"  # LISTEN
    ]
    ours = [addr for addr in listening if int(addr.split(":")[1], 16) == server.port]
    assert ours == ["0100007F:" + f"{server.port:04X}"]


def test_serve_binds_loopback_by_default() -> None:
    assert inspect.signature(cli.serve).parameters["host"].default == "127.0.0.1"
    import api.app

    assert inspect.signature(api.app.serve).parameters["host"].default == "127.0.0.1"


def test_serve_help_shows_loopback_default() -> None:
    result = CliRunner().invoke(cli.app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "127.0.0.1" in result.output


def test_json_values_past_64_bits_survive_the_response_encoder(server: LiveServer) -> None:
    """Responses are encoded by orjson, which refuses integers past 64 bits: such an answer is
    encoded by the standard library instead, and reads back the same."""
    metadata = {"big": 2**70, "negative": -(2**65), "text": "naïve ✓", "nested": [1.5, None]}
    data(server, CREATE_VERSION, input=version_input("enc", metadata=metadata))
    response = post(server, 'query { artifactVersion(name: "enc") { version metadata } }')
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["data"]["artifactVersion"] == {"version": "1", "metadata": metadata}
