"""Shared fixtures: real SQLite files, a real PostgreSQL server, the API served in this process
through its HTTP interface (`InProcessServer`), and real `lineageql serve` subprocesses
(`LiveServer`) for the tests that need one."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.net import free_port
from tests.pgserver import find_pg_bin, postgres_server
from tests.s3server import s3_endpoint, s3_env, s3_store_uri  # noqa: F401 (fixtures)

REQUIRE_POSTGRES = os.environ.get("LINEAGEQL_REQUIRE_POSTGRES") == "1"
DATABASES = ["sqlite", "postgresql"]
TRANSPORTS = ["embedded", "http"]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def postgres_base_url() -> Iterator[str]:
    """A PostgreSQL server for the session, with a migrated template database."""
    url = os.environ.get("LINEAGEQL_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    if find_pg_bin() is None:
        if REQUIRE_POSTGRES:
            pytest.fail("PostgreSQL is required (LINEAGEQL_REQUIRE_POSTGRES=1) but not installed")
        pytest.skip("no PostgreSQL server binaries found (install Debian's postgresql package)")
    with postgres_server(Path(tempfile.mkdtemp(prefix="lineageql-pg-"))) as server_url:
        yield server_url


def _admin(url: str, *statements: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    conninfo = parsed.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


@pytest.fixture(scope="session")
def postgres_template(postgres_base_url: str) -> str:
    """Name of a database migrated to head, cloned for each test."""
    from sqlalchemy.engine import make_url

    from api.storage.migrate import upgrade

    name = "lineageql_template"
    _admin(postgres_base_url, f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}")
    upgrade(make_url(postgres_base_url).set(database=name).render_as_string(hide_password=False))
    return name


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head, copied for each test."""
    from api.storage.migrate import upgrade

    path = tmp_path_factory.mktemp("template") / "metadata.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty, migrated database: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path / "metadata.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    from sqlalchemy.engine import make_url

    base = request.getfixturevalue("postgres_base_url")
    template = request.getfixturevalue("postgres_template")
    name = f"t_{uuid.uuid4().hex[:16]}"
    _admin(base, f"CREATE DATABASE {name} TEMPLATE {template}")
    yield make_url(base).set(database=name).render_as_string(hide_password=False)
    _admin(base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class LiveServer:
    """`lineageql serve` in a subprocess on a free loopback port."""

    def __init__(self, env: dict[str, str], log_path: Path, *, args: Sequence[str] = ()) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/graphql"
        self._log = open(log_path, "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sdk.cli", "serve", "--port", str(self.port), *args],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        self.log_path = log_path
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"server did not start: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


class _SharedTestClient(TestClient):
    """A TestClient that several HttpTransports may hold: their `close()` leaves it open; the
    InProcessServer owning it closes it (`__exit__`, which also ends the app's lifespan)."""

    def close(self) -> None:
        pass


def _log_app_errors(app: ASGIApp) -> ASGIApp:
    """`app`, logging an exception that escapes it as uvicorn does (its client gets HTTP 500)."""
    log = logging.getLogger("uvicorn.error")

    async def logged(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await app(scope, receive, send)
        except Exception:
            log.exception("Exception in ASGI application")
            raise

    return logged


class InProcessServer:
    """The app `lineageql serve` builds on loopback (`api.app.app_factory`), run in this process
    behind Starlette's TestClient (a client of `httpx2`, the fork of httpx that Starlette's
    test client is built on, with httpx's API; it calls the app over ASGI): requests keep their
    HTTP semantics (status codes, headers, JSON bodies, the Host check, authentication, HTTP 500
    for an unhandled error) without a subprocess or a socket.

    Like `LiveServer`, it has a URL (`http://127.0.0.1:<port>/graphql`, a port nobody listens
    on). While it runs, every `HttpTransport` made in this process for that origin without a
    client of its own (the default client of LINEAGEQL_URL, in any thread; the CLI's `--url`)
    sends its requests through `self.http` instead of the network."""

    def __init__(self, env: Mapping[str, str]) -> None:
        import api
        from api.app import app_factory
        from sdk.client.transport import HttpTransport

        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.origin}/graphql"
        # Not `freeze_heap`: that is for a served process's heap, not the test session's.
        app = app_factory(api.Settings.from_env(env), "127.0.0.1")(freeze_heap=False)
        self.http = _SharedTestClient(
            _log_app_errors(app),
            base_url=self.origin,
            raise_server_exceptions=False,  # HTTP 500, as from uvicorn; the error is logged
            follow_redirects=False,  # as HttpTransport's own httpx.Client
            client=("127.0.0.1", free_port()),
        )
        self.http.__enter__()  # the lifespan: the database opened (and migrated if needed)
        self._routes = pytest.MonkeyPatch()
        make = HttpTransport.__init__
        server = self

        def route(
            transport: HttpTransport,
            url: str,
            token: str | None = None,
            client: Any = None,  # an httpx.Client; the TestClient is one of httpx2 (same API)
            **options: Any,
        ) -> None:
            if client is None and server.serves(url):
                client = server.http
            make(transport, url, token, client, **options)

        self._routes.setattr(HttpTransport, "__init__", route)

    def serves(self, url: str) -> bool:
        """Whether `url` is on this server's origin."""
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}" == self.origin

    def stop(self) -> None:
        self._routes.undo()
        self.http.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def _store_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """A store secret for every test, so that pickling tests never create one in the
    working directory's default home; tests of the secret itself unset it."""
    if not os.environ.get("LINEAGEQL_STORE_SECRET"):
        monkeypatch.setenv("LINEAGEQL_STORE_SECRET", "test-store-secret-" + "0" * 32)


def _close_transports() -> None:
    """Close the default client of the test's environment (its database or connections)."""
    from sdk import Client

    Client().close()


@pytest.fixture
def store_env(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """LINEAGEQL_* variables for an isolated embedded store on `database_url`."""
    env = {
        "LINEAGEQL_HOME": str(tmp_path / "home"),
        "LINEAGEQL_DATABASE_URL": database_url,
        "LINEAGEQL_ARTIFACT_STORE": str(tmp_path / "store"),
    }
    monkeypatch.delenv("LINEAGEQL_URL", raising=False)
    monkeypatch.delenv("LINEAGEQL_TOKEN", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield env
    _close_transports()


@pytest.fixture(params=TRANSPORTS)
def lineageql(
    request: pytest.FixtureRequest,
    store_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    """An isolated store, reached embedded or over HTTP through the API served in this process
    (`InProcessServer`).

    Yields the transport name. In HTTP mode LINEAGEQL_URL names the server, the SDK process
    keeps LINEAGEQL_ARTIFACT_STORE (the server and the client share the machine) and the
    database is the server's alone. A test that needs a server other processes can reach (a
    subprocess of the SDK or CLI, a URL fetched with a client of its own) takes
    `lineageql_live` instead."""
    if request.param == "embedded":
        yield "embedded"
        return
    server = InProcessServer({**os.environ, **store_env})
    monkeypatch.setenv("LINEAGEQL_URL", server.url)
    monkeypatch.delenv("LINEAGEQL_DATABASE_URL")
    try:
        yield "http"
    finally:
        _close_transports()
        server.stop()


@pytest.fixture(params=TRANSPORTS)
def lineageql_live(
    request: pytest.FixtureRequest,
    store_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    """As `lineageql`, but in HTTP mode through a real `lineageql serve` subprocess
    (`LiveServer`) on a loopback port, for tests whose other processes or own HTTP clients
    reach the server by its URL."""
    if request.param == "embedded":
        yield "embedded"
        return
    server = LiveServer({**os.environ, **store_env}, tmp_path / "server.log")
    monkeypatch.setenv("LINEAGEQL_URL", server.url)
    monkeypatch.delenv("LINEAGEQL_DATABASE_URL")
    try:
        yield "http"
    finally:
        _close_transports()
        server.stop()
