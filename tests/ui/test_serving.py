"""`GET /ui`: the built page with its Content-Security-Policy, its assets, and route fallback."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from pathlib import Path

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.types import ASGIApp

from api.graphiql import graphiql_page
from api.ui import GRAPHIQL_PAGE, STATIC_DIR, ui_routes
from tests.conftest import LiveServer


class Client:
    """Requests to an ASGI app in this process (httpx's ASGI transport; no lifespan)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def request(self, method: str, path: str) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://ui.test") as c:
                return await c.request(method, path)

        # In a thread of its own: Playwright's sync API keeps an event loop in the main thread.
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(anyio.run, send).result()

    def get(self, path: str) -> httpx.Response:
        return self.request("GET", path)

    def post(self, path: str) -> httpx.Response:
        return self.request("POST", path)


@pytest.fixture
def client() -> Client:
    return Client(Starlette(routes=ui_routes()))


def referenced_assets(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="\./([^"]+)"', html)


def test_ui_redirects_to_the_page_which_has_a_strict_policy(client: Client) -> None:
    redirect = client.get("/ui")
    assert redirect.status_code == 308
    assert redirect.headers["location"].endswith("/ui/")

    page = client.get("/ui/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert "default-src 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.text == (STATIC_DIR / "index.html").read_text()
    assert "<script>" not in page.text  # no inline script: every script is a file


def test_the_assets_the_page_references_are_served(client: Client) -> None:
    html = client.get("/ui/").text
    assets = referenced_assets(html)
    scripts = [a for a in assets if a.endswith(".js")]
    assert scripts and any(a.endswith(".css") for a in assets)
    for asset in assets:
        response = client.get(f"/ui/{asset}")
        assert response.status_code == 200, asset
        assert response.content == (STATIC_DIR / asset).read_bytes()
        if asset.startswith("assets/"):
            assert "immutable" in response.headers["cache-control"]
    # The lazily loaded graph chunk is named by the entry script and is there too.
    entry = client.get(f"/ui/{scripts[0]}").text
    chunks = set(re.findall(r"\./(graph-[\w-]+\.js)", entry))
    assert chunks, "the entry script should import the graph chunk lazily"
    for chunk in chunks:
        assert client.get(f"/ui/assets/{chunk}").status_code == 200


def test_other_paths_fall_back_to_the_page_but_missing_assets_do_not(client: Client) -> None:
    routed = client.get("/ui/artifacts/iris_dataset")
    assert routed.status_code == 200
    assert "content-security-policy" in routed.headers
    assert client.get("/ui/assets/missing.js").status_code == 404
    assert client.post("/ui/").status_code == 405


def test_without_a_build_the_page_says_how_to_build_it(tmp_path: Path) -> None:
    response = Client(Starlette(routes=ui_routes(tmp_path / "missing"))).get("/ui/")
    assert response.status_code == 503
    assert "make ui" in response.text


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGEQL_")}
    live = LiveServer({**env, "LINEAGEQL_HOME": str(tmp_path / "home")}, tmp_path / "server.log")
    try:
        yield live
    finally:
        live.stop()


def test_lineageql_serve_serves_the_explorer(live_server: LiveServer) -> None:
    page = httpx.get(f"http://127.0.0.1:{live_server.port}/ui", follow_redirects=True)
    assert page.status_code == 200
    assert "LineageQL explorer" in page.text
    assert "content-security-policy" in page.headers


def test_graphiql_page_refers_only_to_files_this_server_serves(client: Client) -> None:
    """GraphiQL's page (GET /graphql) loads its scripts and styles from /ui/assets/, no CDN."""
    html = (STATIC_DIR / GRAPHIQL_PAGE).read_text()
    assert "unpkg" not in html and "cdn" not in html.lower()
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', html)
    assets = re.findall(r'(?:src|href)="\./ui/([^"]+)"', html)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    for asset in assets:
        response = client.get(f"/ui/{asset}")
        assert response.status_code == 200, asset
    # The page is served at /graphql only: under /ui/ its relative paths would not resolve.
    assert client.get(f"/ui/{GRAPHIQL_PAGE}").text == (STATIC_DIR / "index.html").read_text()


def test_without_a_build_graphiql_says_how_to_build_it(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:  # Playwright may hold this thread's loop
        response = pool.submit(anyio.run, graphiql_page, tmp_path).result()
    assert response.status_code == 503
    assert b"make ui" in bytes(response.body)


def test_lineageql_serve_serves_graphiql_from_the_package(live_server: LiveServer) -> None:
    url = f"http://127.0.0.1:{live_server.port}/graphql"
    page = httpx.get(url, headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert page.text == (STATIC_DIR / GRAPHIQL_PAGE).read_text()
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert "unsafe-eval" not in policy
    for asset in re.findall(r'(?:src|href)="\./([^"]+)"', page.text):
        assert httpx.get(f"http://127.0.0.1:{live_server.port}/{asset}").status_code == 200


def test_serve_names_graphiql_and_the_explorer(live_server: LiveServer) -> None:
    first = live_server.log_path.read_text().splitlines()[0]
    base = f"http://127.0.0.1:{live_server.port}"
    assert f"GraphiQL at {base}/graphql" in first
    assert f"lineage explorer at {base}/ui" in first


def lineageql(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run(
        [sys.executable, "-m", "sdk.cli", *args], capture_output=True, text=True, env=env
    )


def test_serve_help_names_both_pages_and_shows_metavars() -> None:
    result = lineageql("serve", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "GraphiQL at /graphql" in text and "lineage explorer at /ui" in text
    assert "<str>" not in text and "<bool>" not in text and "<int>" not in text
    assert re.search(r"--port\s+PORT", result.stdout)
    assert re.search(r"--host\s+ADDRESS", result.stdout)


def test_other_commands_show_metavars_not_python_types() -> None:
    result = lineageql("artifacts", "list", "--help")
    assert result.returncode == 0
    assert "<str>" not in result.stdout and "<bool>" not in result.stdout
    assert re.search(r"--url\s+URL", result.stdout)
    assert re.search(r"--limit\s+INTEGER", result.stdout)


def test_version() -> None:
    result = lineageql("--version")
    assert result.returncode == 0
    assert result.stdout == f"lineageql {version('lineageql')}\n"
