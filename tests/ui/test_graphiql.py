"""GraphiQL at GET /graphql: bundled in the package, so it works with no network but loopback."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import Page, Route, expect

from tests.ui.conftest import PageProblems, Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

Shoot = Callable[[Page, str], Path]

LINEAGE_BY_NAME = """query LineageByName {
  artifactVersion(name: "iris_dataset") {
    name
    version
    upstream(depth: 2) {
      nodes { __typename ... on StepRun { name status } ... on ArtifactVersion { name version } }
    }
  }
}"""
LOOPBACK = ("127.0.0.1", "localhost", "[::1]", "::1")


def close_the_network(page: Page) -> list[str]:
    """Aborts every request to another host than loopback; returns the URLs it refused."""
    refused: list[str] = []

    def handle(route: Route) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if host in LOOPBACK:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort("internetdisconnected")

    page.context.route("**/*", handle)
    return refused


def test_graphiql_loads_offline_and_runs_a_lineage_query_by_name(
    page: Page, server: Server, shoot: Shoot
) -> None:
    refused = close_the_network(page)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{server.base}/graphql?q={quote(LINEAGE_BY_NAME)}")
    expect(page.locator(".graphiql-container")).to_be_visible()
    # The explorer plugin is there and opens beside the editor.
    explorer = page.get_by_role("button", name=re.compile("GraphiQL Explorer"))
    expect(explorer).to_be_visible()
    expect(page.locator(".graphiql-query-editor")).to_contain_text("LineageByName", timeout=15_000)

    page.locator(".graphiql-execute-button").click()
    response = page.locator(".graphiql-response")
    expect(response).to_contain_text("training_data_loader")
    expect(response).to_contain_text('"name": "iris_dataset"')
    explorer.click()
    expect(page.locator(".graphiql-explorer-root")).to_be_visible()
    expect(page.locator(".graphiql-explorer-root")).to_contain_text("artifactVersion")
    shoot(page, "11-graphiql-offline-lineage-by-name")

    assert refused == [], f"GraphiQL asked for files off this server: {refused}"
    assert requested and all(urlsplit(url).hostname in LOOPBACK for url in requested)


def test_graphiql_sends_the_explorers_token_and_says_when_it_is_rejected(
    page: Page, token_server: tuple[Server, str], page_problems: PageProblems
) -> None:
    secured, token = token_server
    page_problems.allow(r"status of 401 \(Unauthorized\)")
    close_the_network(page)
    # The explorer at /ui keeps the token in the tab's session storage; GraphiQL sends it.
    page.goto(f"{secured.base}/ui/")
    page.get_by_test_id("token-input").fill("lqt_not-a-real-token")
    page.get_by_test_id("token-save").click()
    with page.expect_request(lambda r: r.url.endswith("/graphql") and r.method == "POST") as sent:
        page.goto(f"{secured.base}/graphql")
    assert sent.value.headers.get("authorization") == "Bearer lqt_not-a-real-token"
    expect(page.get_by_test_id("token-state")).to_have_text("the server rejected this token")

    page.get_by_test_id("token-input").fill(token)
    page.get_by_test_id("token-save").click()
    with page.expect_response(lambda r: r.url.endswith("/graphql") and r.status == 200):
        page.reload()  # GraphiQL asks for the schema again, with the good token
    expect(page.get_by_test_id("token-state")).to_have_text("token set for this browser session")
    # The editor fills in once CodeMirror has laid it out: slow on a busy machine.
    expect(page.locator(".graphiql-query-editor")).to_contain_text(
        "artifactVersion", timeout=15_000
    )
    page.locator(".graphiql-execute-button").click()
    expect(page.locator(".graphiql-response")).to_contain_text("iris_dataset")
