"""Requests no client should be able to freeze or open a server with, on real `lineageql serve`
processes over loopback: documents whose fragments fan out, revoked tokens, malformed bodies
and values, and Host headers naming other hosts."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import parse

import api
from api.auth import add_token
from api.graphql.extensions import DocumentCost, document_cost
from tests.conftest import LiveServer

QUERY = "{ artifacts { totalCount } }"


def fan_out(levels: int) -> str:
    """Each fragment spreads the one below twice: 2^levels fields once expanded, ~45 bytes a
    level (21 levels took 25 s of CPU to check before the costs were memoized)."""
    lines = [f"query {{ artifacts {{ edges {{ node {{ ...F{levels} }} }} }} }}"]
    lines.append("fragment F0 on Artifact { name }")
    lines += [
        f"fragment F{i} on Artifact {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)
    ]
    return "\n".join(lines)


REPEATED = "{ artifacts { edges { node { " + "versions { totalCount } " * 600 + "} } } }"
HOSTILE = {"fan-out 21": fan_out(21), "fan-out 39": fan_out(39), "1,200 fields": REPEATED}


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
    for key in ("LINEAGEQL_ALLOWED_HOSTS", "LINEAGEQL_BIND_HOST", "LINEAGEQL_INSECURE_NO_AUTH"):
        env.pop(key, None)
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("hardening")
    live = LiveServer(server_env(root, sqlite_template), root / "server.log")
    try:
        yield live
    finally:
        live.stop()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def post(url: str, body: Any, **headers: str) -> httpx.Response:
    return httpx.post(url, json=body, headers=headers, timeout=30)


def only_error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert isinstance(body, dict), body
    assert body.get("data") is None, body
    [error] = body["errors"]
    assert isinstance(error, dict)
    return error


# --- documents: refused in linear time -------------------------------------------------------


@pytest.mark.parametrize("name", list(HOSTILE))
def test_fan_out_and_repeated_fields_are_refused_fast(server: LiveServer, name: str) -> None:
    if not Path(f"/proc/{server.process.pid}/stat").exists():
        pytest.skip("no /proc to read the server's CPU time")
    document = HOSTILE[name]
    assert len(document) < 16_000  # far below the body limit
    before = cpu_seconds(server.process.pid)
    started = time.monotonic()
    response = post(server.url, {"query": document})
    elapsed = time.monotonic() - started
    used = cpu_seconds(server.process.pid) - before
    assert response.status_code == 400
    error = only_error(response)
    assert error["extensions"] == {"code": "LIMIT_EXCEEDED", "limit": "maxFields", "maximum": 500}
    assert "LINEAGEQL_MAX_FIELDS" in error["message"]
    assert response.headers["x-request-id"]
    assert elapsed < 1.0, elapsed
    # The server refuses it with ~0 CPU; 0.1 s plus two clock ticks of slack for the reading.
    assert used <= 0.1 + 2 / os.sysconf("SC_CLK_TCK"), used


def test_healthz_answers_while_hostile_documents_arrive(server: LiveServer) -> None:
    stop = threading.Event()
    sent: list[int] = []

    def flood() -> None:
        with httpx.Client(timeout=30) as client:
            while not stop.is_set():
                for document in HOSTILE.values():
                    client.post(server.url, json={"query": document})
                    sent.append(1)

    senders = [threading.Thread(target=flood) for _ in range(4)]
    for sender in senders:
        sender.start()
    try:
        time.sleep(0.2)
        for _ in range(10):
            started = time.monotonic()
            health = httpx.get(f"http://127.0.0.1:{server.port}/healthz", timeout=5)
            assert health.status_code == 200
            assert time.monotonic() - started < 1.0
            time.sleep(0.05)
    finally:
        stop.set()
        for sender in senders:
            sender.join(timeout=30)
    assert len(sent) > 20  # the documents were sent meanwhile


def test_the_field_limit_is_configurable(tmp_path: Path, sqlite_template: Path) -> None:
    env = server_env(tmp_path, sqlite_template, LINEAGEQL_MAX_FIELDS="3")
    live = LiveServer(env, tmp_path / "server.log")
    try:
        three = post(live.url, {"query": "{ artifacts { edges { cursor } } }"})
        four = post(live.url, {"query": "{ artifacts { totalCount edges { cursor } } }"})
    finally:
        live.stop()
    assert three.json() == {"data": {"artifacts": {"edges": []}}}
    error = only_error(four)
    assert error["extensions"] == {"code": "LIMIT_EXCEEDED", "limit": "maxFields", "maximum": 3}
    assert "4 fields" in error["message"]


def test_document_cost_counts_each_fragment_once() -> None:
    started = time.process_time()
    cost = document_cost(parse(fan_out(300), max_tokens=None))
    # Expanding the 2**300 fields one by one would never end: any bound tells the two apart,
    # and a generous one does not fail on a busy machine (it takes milliseconds).
    assert time.process_time() - started < 10
    assert cost.fields == 3 + 2**300  # artifacts, edges, node and the expanded names
    assert cost.depth == 3


def test_document_cost_matches_the_depth_and_aliases_of_plain_documents() -> None:
    document = parse(
        "query { a: artifacts { edges { node { ...V } } } __schema { types { name } } }"
        " fragment V on Artifact { b: name versions { totalCount } }"
    )
    assert document_cost(document) == DocumentCost(depth=4, aliases=2, fields=9)


def test_cycles_and_unknown_fragments_do_not_hang_and_are_reported(tmp_path: Path) -> None:
    settings = api.Settings(home=tmp_path, database_url="sqlite://", artifact_store=str(tmp_path))
    cyclic = "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A ...C }"
    assert document_cost(parse(cyclic)).fields == 0
    from api.graphql.extensions import document_limit_errors
    from api.graphql.schema import schema

    assert document_limit_errors(schema._schema, parse(cyclic), settings) == []


# --- tokens: revoking the last one closes the server -----------------------------------------


def test_revoking_every_token_while_serving_refuses_every_request(
    tmp_path: Path, sqlite_template: Path
) -> None:
    env = server_env(tmp_path, sqlite_template)
    tokens_file = tmp_path / "home" / "tokens.json"
    token, _ = add_token(tokens_file, "write", "ci")
    live = LiveServer(env, tmp_path / "server.log")

    def refused(expected_status: int) -> None:
        for headers in ({"Authorization": f"Bearer {token}"}, {}):
            response = post(live.url, {"query": QUERY}, **headers)
            assert response.status_code == expected_status, response.text
            assert "totalCount" not in response.text
            error = only_error(response)
            assert error["extensions"]["code"] == "UNAUTHENTICATED"
            assert error["extensions"]["requestId"] == response.headers["x-request-id"]

    try:
        assert post(live.url, {"query": QUERY}, Authorization=f"Bearer {token}").status_code == 200
        tokens_file.write_text('{"tokens": []}\n')  # emptied
        refused(401)
        tokens_file.unlink()  # removed
        refused(401)
        tokens_file.write_text('{"tokens": [{"name": "x"')  # broken
        refused(503)
        tokens_file.write_text("")  # truncated to nothing
        refused(503)
        token, _ = add_token(tmp_path / "home" / "fresh.json", "read", "again")
        os.replace(tmp_path / "home" / "fresh.json", tokens_file)  # a token again
        assert post(live.url, {"query": QUERY}).status_code == 401
        ok = post(live.url, {"query": QUERY}, Authorization=f"Bearer {token}")
        assert ok.json() == {"data": {"artifacts": {"totalCount": 0}}}
    finally:
        live.stop()
    log = live.log_path.read_text()
    assert "refusing every request: no token is configured any more" in log
    assert "refusing every request: cannot read the tokens file" in log
    assert "tokens are configured again" in log


def test_an_exposed_server_never_falls_back_to_open_access(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """On a non-loopback address (where `serve` insists on tokens), removing the tokens
    file leaves a server that refuses every request, not an open one."""
    env = server_env(tmp_path, sqlite_template)
    tokens_file = tmp_path / "home" / "tokens.json"
    token, _ = add_token(tokens_file, "read", "ci")
    live = LiveServer(env, tmp_path / "server.log", args=["--host", "0.0.0.0"])
    try:
        assert post(live.url, {"query": QUERY}, Authorization=f"Bearer {token}").status_code == 200
        tokens_file.unlink()
        for headers in ({"Authorization": f"Bearer {token}"}, {}):
            response = post(live.url, {"query": QUERY}, **headers)
            assert response.status_code == 401
            assert only_error(response)["extensions"]["code"] == "UNAUTHENTICATED"
    finally:
        live.stop()


# --- malformed requests: 4xx, a code, the request id -----------------------------------------

CREATE = """
mutation ($input: ArtifactVersionInput!) { createArtifactVersion(input: $input) { id } }
"""
AS_OF = 'query ($t: DateTime) { artifact(name: "a") { latestVersion(asOf: $t) { id } } }'


def version(size: Any) -> dict[str, Any]:
    return {
        "input": {
            "name": "sized",
            "uri": "sized/1",
            "dataType": "builtins.bytes",
            "materializer": "builtin",
            "sizeBytes": size,
        }
    }


MALFORMED: dict[str, tuple[bytes, str, str]] = {  # body, code, a word of the message
    "array body": (b"[1]", "BAD_REQUEST", "batch"),
    "null body": (b"null", "BAD_REQUEST", "not an object"),
    "string body": (b'"hello"', "BAD_REQUEST", "not an object"),
    "empty batch": (b"[]", "BAD_REQUEST", "batch"),
    "not JSON": (b'{"query": ', "BAD_REQUEST", "not JSON"),
    "not UTF-8": (b'{"query": "\xff"}', "BAD_REQUEST", "not JSON"),
    "variables nested 3,000 deep": (
        b'{"query": "{ __typename }", "variables": {"v": ' + b"[" * 3000 + b"]" * 3000 + b"}}",
        "LIMIT_EXCEEDED",
        "LINEAGEQL_MAX_JSON_DEPTH",
    ),
    "variables nested 100 deep": (
        b'{"query": "{ __typename }", "variables": {"v": ' + b"[" * 100 + b"]" * 100 + b"}}",
        "LIMIT_EXCEEDED",
        "LINEAGEQL_MAX_JSON_DEPTH",
    ),
    "naive asOf": (
        json.dumps({"query": AS_OF, "variables": {"t": "2026-11-30T00:00:00"}}).encode(),
        "BAD_USER_INPUT",
        "asOf",
    ),
    "date asOf": (
        json.dumps({"query": AS_OF, "variables": {"t": "2026-11-30"}}).encode(),
        "BAD_USER_INPUT",
        "asOf",
    ),
    "naive asOf literal": (
        json.dumps(
            {"query": 'query { artifactVersion(name: "a", asOf: "2026-11-30T00:00:00") { id } }'}
        ).encode(),
        "BAD_USER_INPUT",
        "asOf",
    ),
    "sizeBytes 2^63": (
        json.dumps({"query": CREATE, "variables": version(2**63)}).encode(),
        "BAD_USER_INPUT",
        "sizeBytes",
    ),
    "sizeBytes -5": (
        json.dumps({"query": CREATE, "variables": version(-5)}).encode(),
        "BAD_USER_INPUT",
        "sizeBytes",
    ),
    "sizeBytes 1.5": (
        json.dumps({"query": CREATE, "variables": version(1.5)}).encode(),
        "BAD_USER_INPUT",
        "sizeBytes",
    ),
    "lone surrogate": (
        b'{"query": "query ($n: String!) { artifact(name: $n) { id } }",'
        b' "variables": {"n": "\\ud800"}}',
        "BAD_USER_INPUT",
        "variables.n",
    ),
    "two operations, no operationName": (
        json.dumps(
            {"query": "query A { __typename } query B { artifacts { totalCount } }"}
        ).encode(),
        "BAD_REQUEST",
        "operationName",
    ),
    "unknown operationName": (
        json.dumps({"query": "query A { __typename }", "operationName": "B"}).encode(),
        "BAD_REQUEST",
        "operationName",
    ),
    "query not a string": (json.dumps({"query": 5}).encode(), "BAD_REQUEST", "query"),
    "no query": (json.dumps({"variables": {}}).encode(), "BAD_REQUEST", "query"),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_requests_get_4xx_with_a_code_and_the_request_id(
    server: LiveServer, name: str
) -> None:
    body, code, word = MALFORMED[name]
    response = httpx.post(
        server.url, content=body, headers={"Content-Type": "application/json"}, timeout=30
    )
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = only_error(response)
    assert error["extensions"]["code"] == code, error
    assert word in error["message"], error["message"]
    request_id = response.headers["x-request-id"]
    assert len(request_id) == 32
    if code != "LIMIT_EXCEEDED":  # limit errors name their limit and maximum only
        assert error["extensions"]["requestId"] == request_id
    assert "Traceback" not in response.text
    assert "Unexpected error" not in response.text


def test_values_within_bounds_are_accepted(server: LiveServer) -> None:
    aware = post(server.url, {"query": AS_OF, "variables": {"t": "2026-11-30T00:00:00Z"}})
    assert aware.json() == {"data": {"artifact": None}}
    offset = post(server.url, {"query": AS_OF, "variables": {"t": "2026-11-30T00:00:00+01:00"}})
    assert offset.json() == {"data": {"artifact": None}}
    named = post(
        server.url,
        {
            "query": "query A { __typename } query B { artifacts { totalCount } }",
            "operationName": "B",
        },
    )
    assert named.json() == {"data": {"artifacts": {"totalCount": 0}}}
    nested = {"v": [[[[{"a": [1, 2, {"b": "c"}]}]]]]}
    flat = post(server.url, {"query": "{ __typename }", "variables": nested})
    assert flat.json() == {"data": {"__typename": "Query"}}


# --- the Host header -------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]"])
def test_loopback_host_names_are_accepted_with_any_port(server: LiveServer, host: str) -> None:
    for value in (host, f"{host}:{server.port}", f"{host}:1"):
        response = post(server.url, {"query": QUERY}, Host=value)
        assert response.status_code == 200, (value, response.text)


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example", ""])
def test_other_host_names_are_refused_on_loopback(server: LiveServer, host: str) -> None:
    response = post(server.url, {"query": QUERY}, Host=host)
    assert response.status_code == 400
    error = only_error(response)
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "--allowed-hosts" in error["message"]
    assert "totalCount" not in response.text
    page = httpx.get(server.url, headers={"Accept": "text/html", "Host": host}, timeout=10)
    assert page.status_code == 400


def test_allowed_hosts_add_names(tmp_path: Path, sqlite_template: Path) -> None:
    env = server_env(tmp_path, sqlite_template, LINEAGEQL_ALLOWED_HOSTS="*.example.org")
    live = LiveServer(env, tmp_path / "server.log", args=["--allowed-hosts", "lineageql.internal"])
    try:
        named = post(live.url, {"query": QUERY}, Host="lineageql.internal:8000")
        other = post(live.url, {"query": QUERY}, Host="lineageql.example.org")
        loopback = post(live.url, {"query": QUERY}, Host="localhost")
    finally:
        live.stop()
    assert named.status_code == 200
    assert other.status_code == 400  # the flag replaces the variable
    assert loopback.status_code == 200
