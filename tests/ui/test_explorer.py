"""The lineage explorer in Chromium against `lineageql serve` over the examples' store."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.ui.conftest import PageProblems, Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

Shoot = Callable[[Page, str], Path]

LATEST = """
query ($name: String!) {
  artifactVersion(name: $name) { id version producer { id name } }
}
"""
LAST_RUN = """
query ($name: String!) {
  pipeline(name: $name) { lastRun { id name steps { id name status } } }
}
"""


def open_ui(page: Page, server: Server, route: str = "") -> None:
    page.goto(f"{server.base}/ui{('#' + route) if route else ''}")
    expect(page.get_by_test_id("loading")).to_have_count(0)


def graph_ready(page: Page, testid: str = "lineage-graph") -> Locator:
    graph = page.locator(f"[data-testid={testid}][data-ready=true]")
    expect(graph).to_have_count(1)
    return graph


def node(page: Page, **attributes: str) -> Locator:
    selector = "".join(
        f'[data-{key.replace("_", "-")}="{value}"]' for key, value in attributes.items()
    )
    return page.locator(f"[data-testid=graph-node]{selector}")


def click_on_canvas(page: Page, entry: Locator, canvas: Locator) -> None:
    """Clicks a graph node where the canvas draws it (its list entry says where)."""
    x, y = entry.get_attribute("data-x"), entry.get_attribute("data-y")
    box = canvas.bounding_box()
    assert x is not None and y is not None and box is not None
    page.mouse.click(box["x"] + float(x), box["y"] + float(y))


def test_search_version_visualization_lineage_and_an_upstream_node(
    page: Page, server: Server, shoot: Shoot
) -> None:
    latest = server.query(LATEST, name="iris_dataset")["artifactVersion"]
    open_ui(page, server)
    page.get_by_test_id("search-name").fill("iris_dataset")
    page.get_by_test_id("search-submit").click()
    row = page.locator("[data-testid=artifact-row][data-name=iris_dataset]")
    expect(row).to_be_visible()
    expect(page.get_by_test_id("artifact-row")).to_have_count(1)
    shoot(page, "01-search-iris_dataset")

    row.get_by_test_id("artifact-link").click()
    expect(page.get_by_test_id("artifact-name")).to_have_text("iris_dataset")
    expect(page.get_by_test_id("version-row").first).to_have_attribute(
        "data-version", latest["version"]
    )
    expect(page.get_by_test_id("artifact-metadata")).to_contain_text("rows")
    shoot(page, "02-artifact-iris_dataset")

    page.get_by_test_id("latest-version-link").click()
    expect(page.get_by_test_id("version-title")).to_have_text(f"iris_dataset:{latest['version']}")
    expect(page).to_have_url(re.compile(f"#/versions/{latest['id']}"))
    expect(page.get_by_test_id("producer-link")).to_have_text(latest["producer"]["name"])

    # The HTML visualization, sanitised, in a frame that may run nothing.
    figure = page.locator("[data-testid=visualization][data-type=html]")
    expect(figure).to_have_count(1)
    frame = figure.get_by_test_id("visualization-frame")
    expect(frame).to_have_attribute("sandbox", "allow-same-origin")
    expect(
        page.frame_locator("[data-testid=visualization-frame]").locator("table").first
    ).to_contain_text("sepal length")

    # The lineage graph: this version and the step run that produced it, upstream.
    page.get_by_test_id("lineage-direction").select_option("UPSTREAM")
    graph_ready(page)
    expect(page).to_have_url(re.compile("direction=UPSTREAM"))
    expect(node(page, relation="self", node_kind="artifact")).to_contain_text(
        f"iris_dataset:{latest['version']}"
    )
    producer = node(page, relation="upstream", node_kind="step", node_id=latest["producer"]["id"])
    expect(producer).to_contain_text("training_data_loader")
    expect(producer).to_have_attribute("data-status", "COMPLETED")
    expect(node(page, relation="downstream")).to_have_count(0)
    page.get_by_test_id("lineage").scroll_into_view_if_needed()
    shoot(page, "03-version-iris_dataset-visualization-and-lineage")

    # Click the producing step where the canvas draws it: its side panel opens, then its page.
    click_on_canvas(page, producer, page.get_by_test_id("lineage-graph-canvas"))
    expect(page.get_by_test_id("node-panel-title")).to_have_text("training_data_loader")
    page.get_by_test_id("node-panel-open").click()
    expect(page).to_have_url(re.compile(f"#/steps/{latest['producer']['id']}"))
    expect(page.get_by_test_id("step-title")).to_contain_text("training_data_loader")
    expect(page.get_by_test_id("step-status")).to_have_text("COMPLETED")
    expect(page.get_by_test_id("output-list")).to_contain_text(f"iris_dataset:{latest['version']}")
    graph_ready(page)
    expect(node(page, relation="self", node_kind="step")).to_contain_text("training_data_loader")
    shoot(page, "04-step-training_data_loader")

    # And back downstream through the keyboard-accessible node list.
    node(page, relation="downstream", node_id=latest["id"]).click()
    expect(page.get_by_test_id("version-title")).to_have_text(f"iris_dataset:{latest['version']}")


def test_depth_control_and_multi_hop_upstream_of_a_fine_tuned_model(
    page: Page, server: Server, shoot: Shoot
) -> None:
    model = server.query(LATEST, name="my_model")["artifactVersion"]
    open_ui(page, server, f"/versions/{model['id']}?direction=UPSTREAM&depth=1")
    graph_ready(page)
    expect(page.get_by_test_id("lineage-depth")).to_have_value("1")
    shallow = node(page, node_kind="artifact").count()

    page.get_by_test_id("lineage-depth").fill("10")
    page.get_by_test_id("lineage-apply").click()
    expect(page.get_by_test_id("lineage-status")).to_contain_text("10 hops deep")
    graph_ready(page)
    # Ten hops reach the untrained model saved outside any pipeline, and the data set.
    expect(
        node(page, relation="upstream", node_kind="artifact").filter(has_text="my_model:1")
    ).to_have_count(1)
    expect(
        node(page, relation="upstream", node_kind="artifact").filter(has_text="my_dataset:1")
    ).to_have_count(1)
    assert node(page, node_kind="artifact").count() > shallow
    steps = node(page, node_kind="step")
    assert steps.count() >= 2
    expect(page.get_by_test_id("lineage-graph")).to_have_attribute(
        "data-node-count", str(node(page).count())
    )
    shoot(page, "05-lineage-my_model-depth-10")

    # Clicking an upstream version moves the page (and the graph) to it.
    node(page, relation="upstream", node_kind="artifact").filter(has_text="my_dataset:1").click()
    expect(page.get_by_test_id("version-title")).to_have_text("my_dataset:1")
    graph_ready(page)
    expect(node(page, relation="self")).to_contain_text("my_dataset:1")


def check_run_page(page: Page, run: dict[str, Any]) -> None:
    expect(page.get_by_test_id("run-title")).to_contain_text(run["name"])
    graph_ready(page, "run-dag")
    for step in run["steps"]:
        name, status = step["name"], step["status"]
        row = page.locator(f"[data-testid=step-row][data-step={name}]")
        expect(row).to_have_attribute("data-status", status)
        entry = node(page, node_kind="step", node_id=step["id"])
        expect(entry).to_have_attribute("data-status", status)
        expect(entry).to_have_attribute("data-cached", "true" if status == "CACHED" else "false")


def test_run_page_draws_the_dag_with_statuses_and_marks_cached_steps(
    page: Page, server: Server, shoot: Shoot
) -> None:
    digits = server.query(LAST_RUN, name="digits_pipeline")["pipeline"]["lastRun"]
    open_ui(page, server, "/runs")
    page.locator("[data-testid=run-link]", has_text=digits["name"]).click()
    check_run_page(page, digits)
    # Steps and the versions passed between them: digits_loader -> X_train -> train -> ...
    assert node(page, node_kind="artifact").count() >= 4
    assert page.get_by_test_id("run-dag").get_attribute("data-node-count") == str(
        node(page).count()
    )
    shoot(page, "06-run-digits_pipeline")

    # The iris example's last run reused the previous output: its step is drawn as cached.
    iris = server.query(LAST_RUN, name="iris_pipeline")["pipeline"]["lastRun"]
    assert [step["status"] for step in iris["steps"]] == ["CACHED"]
    open_ui(page, server, f"/runs/{iris['id']}")
    check_run_page(page, iris)
    shoot(page, "07-run-iris_pipeline-cached")
    node(page, node_kind="step", cached="true").click()
    expect(page.get_by_test_id("step-status")).to_have_text("CACHED")
    expect(page.get_by_test_id("original-step-link")).to_be_visible()
    graph_ready(page)
    expect(node(page, relation="self", cached="true")).to_have_count(1)


def test_the_token_stays_in_the_session_and_goes_with_each_request(
    page: Page, server: Server
) -> None:
    open_ui(page, server)
    page.get_by_test_id("token-input").fill("lqt_example-token")
    with page.expect_request(lambda r: r.url.endswith("/graphql")) as sent:
        page.get_by_test_id("token-save").click()
    assert sent.value.headers.get("authorization") == "Bearer lqt_example-token"
    expect(page.get_by_test_id("token-state")).to_contain_text("token set")
    stored = page.evaluate("[sessionStorage.length, localStorage.length, document.cookie]")
    assert stored == [1, 0, ""]

    with page.expect_request(lambda r: r.url.endswith("/graphql")) as again:
        page.reload()
    assert again.value.headers.get("authorization") == "Bearer lqt_example-token"
    with page.expect_request(lambda r: r.url.endswith("/graphql")) as cleared:
        page.get_by_test_id("token-clear").click()
    assert "authorization" not in cleared.value.headers


VISUALIZED = """
{
  artifactVersions(first: 500) {
    edges { node { id name version visualizations { type } } }
  }
}
"""


def test_each_kind_of_visualization_is_shown_safely(
    page: Page, server: Server, shoot: Shoot
) -> None:
    """HTML in a sandboxed frame, images as images, Markdown rendered and sanitised, JSON/CSV
    as escaped text."""
    first_of_kind: dict[str, dict[str, Any]] = {}
    for edge in server.query(VISUALIZED)["artifactVersions"]["edges"]:
        for viz in edge["node"]["visualizations"]:
            first_of_kind.setdefault(viz["type"].lower(), edge["node"])
    assert {"html", "markdown", "json"} <= set(first_of_kind)  # what the examples write
    for kind, version in sorted(first_of_kind.items()):
        open_ui(page, server, f"/versions/{version['id']}")
        figure = page.locator(f"[data-testid=visualization][data-type={kind}]").first
        expect(figure).to_be_visible()
        if kind == "html":
            frame = figure.locator("iframe")
            expect(frame).to_have_attribute("sandbox", "allow-same-origin")
            expect(frame).to_have_attribute("data-state", "shown")
            content = page.frame_locator("[data-testid=visualization-frame]").first
            unsafe = "d => d.querySelectorAll('script, style, [onload]').length"
            assert content.locator("body").evaluate(unsafe) == 0
        elif kind == "markdown":
            rendered = figure.get_by_test_id("visualization-markdown")
            expect(rendered).not_to_have_text("Loading…")
            expect(rendered).not_to_contain_text("Could not load")
            unsafe = "d => d.querySelectorAll('script, style, [style]').length"
            assert rendered.evaluate(unsafe) == 0
        elif kind == "image":
            image = figure.get_by_test_id("visualization-image")
            expect(image).to_be_visible()
            assert image.evaluate("img => img.complete && img.naturalWidth > 0")
        else:
            text = figure.get_by_test_id("visualization-text")
            expect(text).not_to_have_text("Loading…")
            expect(text).not_to_contain_text("Could not load")
            assert text.evaluate("pre => pre.children.length") == 0  # text, never markup
        shoot(page, f"09-visualization-{kind}-{version['name'].replace(':', '_')}")


def test_search_by_tag(page: Page, server: Server, shoot: Shoot) -> None:
    """The examples tag versions (`ArtifactConfig(tags=...)`): the search lists them."""
    open_ui(page, server)
    page.get_by_test_id("search-name").fill("iris")
    page.get_by_test_id("search-tag").fill("raw")
    page.get_by_test_id("search-submit").click()
    expect(page).to_have_url(re.compile(r"#/\?q=iris&tag=raw"))
    row = page.locator("[data-testid=tagged-version-row][data-name=iris_raw]")
    expect(row).to_have_attribute("data-version", "raw_2023")
    expect(row.locator(".tag", has_text="raw")).to_have_count(1)
    shoot(page, "10-search-tag-raw")
    row.get_by_test_id("version-link").click()
    expect(page.get_by_test_id("version-title")).to_have_text("iris_raw:raw_2023")


def test_unknown_names_answer_not_found(page: Page, server: Server) -> None:
    open_ui(page, server, "/artifacts/no_such_artifact")
    expect(page.get_by_test_id("not-found")).to_contain_text("no_such_artifact")
    open_ui(page, server, "/nowhere/at/all")
    expect(page.get_by_test_id("not-found")).to_be_visible()


def server_checks_tokens(server: Server) -> bool:
    response = httpx.post(server.graphql_url, json={"query": "{ __typename }"})
    return response.status_code == 401


def test_a_server_with_tokens_prompts_for_one(
    page: Page, token_server: tuple[Server, str], shoot: Shoot, page_problems: PageProblems
) -> None:
    secured, token = token_server
    if not server_checks_tokens(secured):
        pytest.skip("this server does not check tokens (LINEAGEQL_TOKENS) yet")
    page_problems.allow(r"status of 401 \(Unauthorized\)")  # the first, token-less request
    # The page fetches the HTML with the token (a frame could not send it) and frames it.
    open_ui(page, secured)
    prompt = page.get_by_test_id("auth-required")
    expect(prompt).to_be_visible()
    expect(page.get_by_test_id("token-input")).to_be_focused()
    shoot(page, "08-token-prompt")

    page.get_by_test_id("token-input").fill(token)
    page.get_by_test_id("token-save").click()
    expect(page.locator("[data-testid=artifact-row][data-name=iris_dataset]")).to_be_visible()
    page.locator(
        "[data-testid=artifact-row][data-name=iris_dataset] [data-testid=artifact-link]"
    ).click()
    page.get_by_test_id("latest-version-link").click()
    frame = page.locator("[data-testid=visualization][data-type=html] iframe")
    expect(frame).to_have_attribute("data-state", "shown")
    expect(
        page.frame_locator("[data-testid=visualization-frame]").locator("table").first
    ).to_contain_text("sepal length")
