"""Fixtures of the explorer's browser tests: the examples' store, a real server, Chromium.

The examples run once per session into a temporary LINEAGEQL_HOME (or reuse the home named by
LINEAGEQL_UI_TEST_HOME, which must hold their output), `lineageql serve` serves it on a free
loopback port, and Debian's Chromium (or LINEAGEQL_CHROMIUM) runs headless through Playwright.
Without Chromium the browser tests skip, except when `CI` or LINEAGEQL_REQUIRE_BROWSER=1 is set:
there they fail, so CI cannot pass without them.
Screenshots go to `tests/ui/artifacts/` or to LINEAGEQL_UI_ARTIFACTS.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.conftest import ROOT, LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page

STORE_KEYS = (
    "LINEAGEQL_URL",
    "LINEAGEQL_HOME",
    "LINEAGEQL_DATABASE_URL",
    "LINEAGEQL_ARTIFACT_STORE",
    "LINEAGEQL_TOKEN",
    "LINEAGEQL_TOKENS",
    "LINEAGEQL_TOKENS_FILE",
)
# Chromium in a closed network: no sandbox as root, and none of the background connections
# (updates, sync, QUIC probes) it would otherwise wait on.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-gpu",
    "--disable-dev-shm-usage",
]
ARTIFACTS = Path(os.environ.get("LINEAGEQL_UI_ARTIFACTS") or Path(__file__).parent / "artifacts")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives Chromium against a live server")


def clean_env(**overrides: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in STORE_KEYS}
    env.update(overrides)
    return env


def chromium_path() -> str | None:
    found = os.environ.get("LINEAGEQL_CHROMIUM") or shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


@pytest.fixture(scope="session")
def example_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LINEAGEQL_HOME holding what `examples/run_all.py` stores (run once per session)."""
    reuse = os.environ.get("LINEAGEQL_UI_TEST_HOME")
    if reuse:
        return Path(reuse)
    home = tmp_path_factory.mktemp("ui-examples") / "home"
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "run_all.py")],
        env=clean_env(LINEAGEQL_HOME=str(home)),
        cwd=home.parent,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert result.returncode == 0, (
        f"run_all.py exited {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return home


@dataclass
class Server:
    base: str
    graphql_url: str

    def query(self, document: str, token: str | None = None, **variables: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = httpx.post(
            self.graphql_url, json={"query": document, "variables": variables}, headers=headers
        )
        response.raise_for_status()
        body = response.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]


@pytest.fixture(scope="session")
def server(example_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`lineageql serve` over the examples' store, on a free loopback port."""
    log = tmp_path_factory.mktemp("ui-server") / "server.log"
    live = LiveServer(clean_env(LINEAGEQL_HOME=str(example_home)), log)
    try:
        yield Server(f"http://127.0.0.1:{live.port}", live.url)
    finally:
        live.stop()


@pytest.fixture(scope="session")
def token_server(
    example_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, str]]:
    """A second server over the same store that accepts one read token (LINEAGEQL_TOKENS)."""
    token = "lqt_" + secrets.token_urlsafe(32)
    digest = hashlib.sha256(token.encode()).hexdigest()
    log = tmp_path_factory.mktemp("ui-token-server") / "server.log"
    env = clean_env(LINEAGEQL_HOME=str(example_home), LINEAGEQL_TOKENS=f"read:{digest}")
    live = LiveServer(env, log)
    try:
        yield Server(f"http://127.0.0.1:{live.port}", live.url), token
    finally:
        live.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    if executable is None:
        message = "Chromium is not installed (Debian: apt-get install chromium)"
        if os.environ.get("CI") or os.environ.get("LINEAGEQL_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{message}; CI must run the browser tests")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class PageProblems:
    """What the page reported that a working page must not: script errors, CSP violations."""

    messages: list[str] = field(default_factory=list)
    expected: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """A message this test expects (e.g. the 401 a server without a token answers)."""
        self.expected.append(re.compile(pattern))

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error" or "Content Security Policy" in message.text:
            self.messages.append(f"console: {message.text}")

    def unexpected(self) -> list[str]:
        return [m for m in self.messages if not any(p.search(m) for p in self.expected)]

    def on_page_error(self, error: Exception) -> None:
        self.messages.append(f"page error: {error}")


@pytest.fixture
def page_problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def page(
    browser: Browser, request: pytest.FixtureRequest, page_problems: PageProblems
) -> Iterator[Page]:
    """A fresh browser context and page; fails the test on script errors or CSP violations."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(15_000)
    new_page = context.new_page()
    problems = page_problems
    new_page.on("console", problems.on_console)
    new_page.on("pageerror", problems.on_page_error)
    try:
        yield new_page
    finally:
        if getattr(request.node, "rep_call_failed", False):
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            new_page.screenshot(path=ARTIFACTS / f"FAILED-{request.node.name}.png", full_page=True)
        context.close()
    unexpected = problems.unexpected()
    assert not unexpected, "\n".join(unexpected)


@pytest.fixture
def shoot() -> Callable[[Page, str], Path]:
    """Saves a full-page screenshot into the artifacts folder; returns its path."""

    def take(target: Page, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        target.screenshot(path=path, full_page=True)
        return path

    return take


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call" and report.failed:
        item.rep_call_failed = True  # type: ignore[attr-defined]
    return report


@pytest.fixture(scope="session")
def graph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`lineageql serve` over a store seeded with a 42-node chain and a 500-node fan."""
    home = tmp_path_factory.mktemp("ui-graphs") / "home"
    result = subprocess.run(
        [sys.executable, "-m", "tests.ui.seed_graphs"],
        env=clean_env(LINEAGEQL_HOME=str(home)),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    log = tmp_path_factory.mktemp("ui-graph-server") / "server.log"
    live = LiveServer(clean_env(LINEAGEQL_HOME=str(home)), log)
    try:
        yield Server(f"http://127.0.0.1:{live.port}", live.url)
    finally:
        live.stop()


@pytest.fixture(scope="session")
def pipeline_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`lineageql serve` over `tests.ui.seed_pipelines`: runs that completed and one that failed."""
    home = tmp_path_factory.mktemp("ui-pipelines") / "home"
    result = subprocess.run(
        [sys.executable, "-m", "tests.ui.seed_pipelines"],
        env=clean_env(LINEAGEQL_HOME=str(home)),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    log = tmp_path_factory.mktemp("ui-pipeline-server") / "server.log"
    live = LiveServer(clean_env(LINEAGEQL_HOME=str(home)), log)
    try:
        yield Server(f"http://127.0.0.1:{live.port}", live.url)
    finally:
        live.stop()
