"""Access: bearer tokens with read/write scopes on a real server, and the bind-address guard."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import api
from api.auth import (
    InsecureBindError,
    Tokens,
    TokensFileError,
    add_token,
    check_bind,
    hash_token,
    is_loopback,
)
from sdk.client.client import Client
from sdk.client.transport import HttpTransport
from sdk.errors import GraphQLError
from tests.conftest import ROOT, LiveServer, free_port

QUERY = "query { artifacts { totalCount } }"
START_RUN = 'mutation { startPipelineRun(input: {pipelineName: "guarded"}) { id } }'
PIPELINE = 'query { pipeline(name: "guarded") { name } }'


@dataclass
class AuthServer:
    live: LiveServer
    home: Path
    read: str
    write: str
    env_token: str

    @property
    def url(self) -> str:
        return self.live.url


def base_env(home: Path, database: Path, store: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "LINEAGEQL_HOME": str(home),
        "LINEAGEQL_DATABASE_URL": f"sqlite:///{database}",
        "LINEAGEQL_ARTIFACT_STORE": str(store),
    }
    for key in ("LINEAGEQL_URL", "LINEAGEQL_TOKEN", "LINEAGEQL_TOKENS", "LINEAGEQL_TOKENS_FILE"):
        env.pop(key, None)
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[AuthServer]:
    """A server with a read token and a write token in its tokens file, one more token from
    LINEAGEQL_TOKENS, bound to all addresses (allowed because tokens exist)."""
    root = tmp_path_factory.mktemp("auth")
    home = root / "home"
    shutil.copyfile(sqlite_template, root / "metadata.db")
    read, _ = add_token(home / "tokens.json", "read", "reader")
    write, _ = add_token(home / "tokens.json", "write", "writer")
    env_token = "lqt_from-the-environment-" + "x" * 20
    env = base_env(home, root / "metadata.db", root / "store")
    env["LINEAGEQL_TOKENS"] = f"ci:read:{hash_token(env_token)}"
    live = LiveServer(env, root / "server.log", args=["--host", "0.0.0.0"])
    try:
        yield AuthServer(live, home, read, write, env_token)
    finally:
        live.stop()


def post(url: str, query: str, token: str | None = None, **headers: str) -> httpx.Response:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(url, json={"query": query}, headers=headers, timeout=30)


def only_error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert "data" not in body or body["data"] is None, body
    [error] = body["errors"]
    assert isinstance(error, dict)
    return error


def test_no_token_is_401_unauthenticated(server: AuthServer) -> None:
    response = post(server.url, QUERY)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    error = only_error(response)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "Authorization: Bearer" in error["message"]
    assert "lineageql tokens create" in error["message"]


@pytest.mark.parametrize(
    "header",
    ["Bearer lqt_not-a-real-token", "Bearer", "Basic dXNlcjpwYXNz", "lqt_without_scheme"],
)
def test_wrong_or_malformed_token_is_401(server: AuthServer, header: str) -> None:
    response = httpx.post(
        server.url, json={"query": QUERY}, headers={"Authorization": header}, timeout=30
    )
    assert response.status_code == 401
    assert only_error(response)["extensions"]["code"] == "UNAUTHENTICATED"
    assert "totalCount" not in response.text


def test_read_token_runs_queries(server: AuthServer) -> None:
    response = post(server.url, QUERY, server.read)
    assert response.status_code == 200
    assert response.json() == {"data": {"artifacts": {"totalCount": 0}}}


def test_read_token_may_not_run_mutations(server: AuthServer) -> None:
    response = post(server.url, START_RUN, server.read)
    assert response.status_code == 403
    error = only_error(response)
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert "'reader'" in error["message"] and "write" in error["message"]
    # Nothing was written.
    assert post(server.url, PIPELINE, server.write).json() == {"data": {"pipeline": None}}


def test_write_token_runs_mutations_and_queries(server: AuthServer) -> None:
    response = post(server.url, START_RUN, server.write)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["startPipelineRun"]["id"]
    assert post(server.url, PIPELINE, server.write).json() == {
        "data": {"pipeline": {"name": "guarded"}}
    }


def test_token_from_the_environment_is_accepted_with_its_scope(server: AuthServer) -> None:
    assert post(server.url, QUERY, server.env_token).status_code == 200
    response = post(server.url, START_RUN, server.env_token)
    assert response.status_code == 403
    assert only_error(response)["extensions"]["code"] == "FORBIDDEN"


def test_a_read_token_cannot_smuggle_a_mutation_into_a_batch(server: AuthServer) -> None:
    batch = [{"query": QUERY}, {"query": START_RUN.replace("guarded", "smuggled")}]
    headers = {"Authorization": f"Bearer {server.read}"}
    response = httpx.post(server.url, json=batch, headers=headers, timeout=30)
    assert response.status_code == 403
    first, second = response.json()
    assert first["data"] == {"artifacts": {"totalCount": 0}}
    assert second["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    smuggled = 'query { pipeline(name: "smuggled") { name } }'
    assert post(server.url, smuggled, server.write).json() == {"data": {"pipeline": None}}


def test_graphiql_page_and_healthz_stay_open(server: AuthServer) -> None:
    page = httpx.get(server.url, headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 200
    assert 'data-testid="token-input"' in page.text  # where the token goes in GraphiQL
    assert "://" not in page.text.split("<body", 1)[0]  # every file from this server
    health = httpx.get(f"http://127.0.0.1:{server.live.port}/healthz", timeout=10)
    assert health.json() == {"status": "ok"}


def test_query_via_get_stays_refused_without_a_token(server: AuthServer) -> None:
    response = httpx.get(
        server.url, params={"query": QUERY}, headers={"Accept": "application/json"}, timeout=10
    )
    assert 400 <= response.status_code < 500
    assert "totalCount" not in response.text


def test_a_token_created_while_the_server_runs_is_accepted(server: AuthServer) -> None:
    late, _ = add_token(server.home / "tokens.json", "read", "late")
    assert post(server.url, QUERY, late).status_code == 200


def test_sdk_sends_its_token_as_bearer(server: AuthServer) -> None:
    with_token = Client(HttpTransport(server.url, server.read))
    assert with_token.graphql(QUERY) == {"artifacts": {"totalCount": 0}}
    without = Client(HttpTransport(server.url))
    with pytest.raises(GraphQLError, match="requires a bearer token") as raised:
        without.graphql(QUERY)
    assert raised.value.code == "UNAUTHENTICATED"


# --- start-up: the bind address -----------------------------------------------------------


def serve_args(*args: str) -> list[str]:
    return [sys.executable, "-m", "sdk.cli", "serve", "--port", str(free_port()), *args]


def test_non_loopback_without_tokens_is_refused_at_start_up(
    tmp_path: Path, sqlite_template: Path
) -> None:
    shutil.copyfile(sqlite_template, tmp_path / "metadata.db")
    env = base_env(tmp_path / "home", tmp_path / "metadata.db", tmp_path / "store")
    result = subprocess.run(
        serve_args("--host", "0.0.0.0"),
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "refusing to serve on 0.0.0.0 without access tokens" in result.stderr
    assert "lineageql tokens create --scope read|write" in result.stderr
    assert "--insecure-no-auth" in result.stderr
    assert "Uvicorn running" not in result.stdout + result.stderr


def test_insecure_no_auth_serves_openly_with_a_loud_warning(
    tmp_path: Path, sqlite_template: Path
) -> None:
    shutil.copyfile(sqlite_template, tmp_path / "metadata.db")
    env = base_env(tmp_path / "home", tmp_path / "metadata.db", tmp_path / "store")
    live = LiveServer(
        env, tmp_path / "server.log", args=["--host", "0.0.0.0", "--insecure-no-auth"]
    )
    try:
        assert post(live.url, QUERY).status_code == 200
    finally:
        live.stop()
    assert "WITHOUT AUTHENTICATION (--insecure-no-auth)" in live.log_path.read_text()


def settings_in(home: Path, **overrides: Any) -> api.Settings:
    return api.Settings(home=home, database_url="sqlite://", artifact_store=str(home), **overrides)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_hosts_need_no_token(tmp_path: Path, host: str) -> None:
    assert is_loopback(host)
    assert check_bind(settings_in(tmp_path), host, insecure_no_auth=False) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "lineageql.example.com"])
def test_other_hosts_need_a_token(tmp_path: Path, host: str) -> None:
    assert not is_loopback(host)
    with pytest.raises(InsecureBindError, match=f"refusing to serve on {host}"):
        check_bind(settings_in(tmp_path), host, insecure_no_auth=False)
    add_token(tmp_path / "tokens.json", "read")
    assert check_bind(settings_in(tmp_path), host, insecure_no_auth=False) is None


# --- configuration errors -------------------------------------------------------------------


def test_a_broken_tokens_file_stops_the_app_from_being_built(tmp_path: Path) -> None:
    (tmp_path / "tokens.json").write_text('{"tokens": [{"name": "x", "scope": "admin"}]}')
    with pytest.raises(TokensFileError, match=r"tokens\.json.*lineageql tokens create"):
        api.create_app(settings_in(tmp_path))


@pytest.mark.parametrize(
    ("entry", "problem"),
    [("read", "is not `scope:sha256hex`"), ("admin:" + "a" * 64, "unknown scope 'admin'")],
)
def test_bad_tokens_from_the_environment_are_named(
    tmp_path: Path, entry: str, problem: str
) -> None:
    with pytest.raises(ValueError, match=f"LINEAGEQL_TOKENS entry 1.*{problem}"):
        Tokens(settings_in(tmp_path, env_tokens=(entry,)))


def test_tokens_file_stores_only_hashes(tmp_path: Path) -> None:
    token, entry = add_token(tmp_path / "tokens.json", "write", "ci")
    text = (tmp_path / "tokens.json").read_text()
    assert token not in text
    assert entry.sha256 in text
    assert (tmp_path / "tokens.json").stat().st_mode & 0o777 == 0o600
    tokens = Tokens(settings_in(tmp_path))
    principal = tokens.authenticate(token)
    assert principal is not None and (principal.name, principal.scope) == ("ci", "write")
    assert tokens.authenticate(token + "x") is None
