"""The `lineageql` fixture's HTTP mode: the API served in this process (`InProcessServer`) is
reached over HTTP by everything that would reach a `lineageql serve` at LINEAGEQL_URL, and
answers as that server does."""

from __future__ import annotations

import json
import os
import threading

import httpx
import pytest
from typer.testing import CliRunner

import api
from sdk import Client, save_artifact
from sdk.cli import app
from sdk.client.transport import HttpTransport
from sdk.errors import TransportError
from tests.conftest import InProcessServer

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

COUNT = "{ artifacts { totalCount } }"


@pytest.mark.parametrize("lineageql", ["http"], indirect=True)
def test_every_client_of_the_url_reaches_the_server_in_this_process(lineageql: str) -> None:
    url = os.environ["LINEAGEQL_URL"]
    assert "LINEAGEQL_DATABASE_URL" not in os.environ
    save_artifact([1, 2], "numbers")

    client = Client()
    assert isinstance(client.transport, HttpTransport) and client.transport.url == url
    from_thread: list[int] = []
    thread = threading.Thread(
        target=lambda: from_thread.append(Client().graphql(COUNT)["artifacts"]["totalCount"])
    )
    thread.start()
    thread.join()
    listed = CliRunner().invoke(app, ["artifacts", "list", "--json", "--url", url])

    assert from_thread == [1]
    assert listed.exit_code == 0, listed.output
    assert [a["name"] for a in json.loads(listed.stdout)] == ["numbers"]
    with pytest.raises(httpx.ConnectError):  # nothing listens on the URL's port
        httpx.post(url, json={"query": COUNT}, timeout=5)


def test_answers_keep_the_servers_http_semantics(store_env: dict[str, str]) -> None:
    server = InProcessServer(store_env)
    try:
        http = server.http
        ok = http.post("/graphql", json={"query": COUNT})
        not_json = http.post("/graphql", content=b"{", headers={"content-type": "application/json"})
        other_host = http.post("/graphql", json={"query": COUNT}, headers={"host": "evil.test"})
        health = http.get("/healthz")
    finally:
        server.stop()

    assert ok.status_code == 200 and ok.json() == {"data": {"artifacts": {"totalCount": 0}}}
    assert "x-request-id" in ok.headers
    assert not_json.status_code == 400
    assert not_json.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert other_host.status_code == 400  # the Host check of a server bound to loopback
    assert "Host header" in other_host.json()["errors"][0]["message"]
    assert health.json() == {"status": "ok"}


def test_tokens_are_required_once_configured(store_env: dict[str, str]) -> None:
    settings = api.Settings.from_env(store_env)
    token, _ = api.create_token(settings, "read")
    server = InProcessServer(store_env)
    try:
        anonymous = server.http.post("/graphql", json={"query": COUNT})
        reader = HttpTransport(server.url, token)
        answered = reader.execute(COUNT)
    finally:
        server.stop()

    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert answered == {"artifacts": {"totalCount": 0}}


def test_an_unhandled_error_is_http_500_and_logged(
    store_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from api import app as app_module

    async def broken(request: object) -> None:
        raise RuntimeError("the health check broke")

    monkeypatch.setattr(app_module, "healthz", broken)
    server = InProcessServer(store_env)
    try:
        response = server.http.get("/healthz")
    finally:
        server.stop()

    assert response.status_code == 500
    logged = [r.exc_info[1] for r in caplog.records if r.exc_info and r.exc_info[1]]
    assert any("the health check broke" in str(exc) for exc in logged)


def test_stopping_the_server_ends_the_routing(store_env: dict[str, str]) -> None:
    server = InProcessServer(store_env)
    try:
        answered = HttpTransport(server.url).execute(COUNT)
    finally:
        server.stop()
    after = HttpTransport(server.url, retries=0)

    assert answered == {"artifacts": {"totalCount": 0}}
    with pytest.raises(TransportError, match="cannot reach"):
        after.execute(COUNT)  # over the network now, where nothing listens
    after.close()
