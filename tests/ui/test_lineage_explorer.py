"""The lineage view as an explorer, over seeded graphs: a 42-node chain and a 500-node fan."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.ui.conftest import ARTIFACTS, PageProblems, Server
from tests.ui.test_explorer import click_on_canvas, graph_ready, node, open_ui

pytestmark = [pytest.mark.browser, pytest.mark.slow]

Shoot = Callable[[Page, str], Path]

VERSION = """
query ($name: String!, $version: String) {
  artifactVersion(name: $name, version: $version) { id name version }
}
"""
LEGIBLE_PX = 10


def version_id(server: Server, name: str, version: str | None = None) -> str:
    found = server.query(VERSION, name=name, version=version)["artifactVersion"]
    return str(found["id"])


def label_px(page: Page) -> float:
    """The on-screen size of node labels: the canvas's font size times the zoom."""
    value = page.get_by_test_id("lineage-graph").get_attribute("data-label-px")
    assert value is not None
    return float(value)


def zoom(page: Page) -> float:
    return float(page.get_by_test_id("lineage-graph").get_attribute("data-zoom") or "nan")


def test_a_40_node_chain_explorer_panel_recentre_and_back(
    page: Page, graph_server: Server, shoot: Shoot
) -> None:
    last = version_id(graph_server, "chain")
    open_ui(page, graph_server, f"/versions/{last}?direction=UPSTREAM&depth=25")
    graph = graph_ready(page)
    assert graph.get_attribute("data-node-count") == "42"
    # Above the fold and full width.
    box = page.get_by_test_id("lineage-graph-canvas").bounding_box()
    assert box is not None and box["y"] + box["height"] <= 1000 and box["width"] > 1100
    # Labels are legible at the default zoom, single-line `name:version`.
    assert label_px(page) >= LEGIBLE_PX
    expect(node(page, relation="self")).to_have_attribute("data-label", "chain:21")
    expect(page.get_by_test_id("lineage-graph-overview")).to_be_visible()

    # The list groups nodes by hop, in natural order (chain:6 before chain:10).
    groups = page.get_by_test_id("node-group")
    expect(groups.first).to_have_attribute("data-hop", "0")
    assert groups.count() == 21
    labels = [
        a.get_attribute("data-label")
        for a in page.locator("[data-testid=graph-node][data-node-kind=artifact]").all()
    ]
    assert labels.index("chain:6") > labels.index("chain:10")  # farther hops come later
    hop_of = {
        a.get_attribute("data-label"): a.get_attribute("data-hop")
        for a in page.locator("[data-testid=graph-node]").all()
    }
    assert hop_of["chain:20"] == "1" and hop_of["chain:1"] == "20" and hop_of["extend_20"] == "0"
    shoot(page, "12-lineage-chain-42-nodes")

    # Zoom buttons: in, out, fit (never below the legible zoom).
    before = zoom(page)
    page.get_by_test_id("zoom-in").click()
    expect(graph).not_to_have_attribute("data-zoom", f"{before:.3f}")
    assert zoom(page) > before
    page.get_by_test_id("zoom-out").click()
    page.get_by_test_id("zoom-out").click()
    page.get_by_test_id("zoom-fit").click()
    page.wait_for_timeout(100)
    assert label_px(page) >= LEGIBLE_PX - 0.05

    # Clicking a node opens the side panel without leaving the graph.
    page.get_by_test_id("zoom-focus").click()
    page.wait_for_timeout(100)
    target = node(page, node_kind="artifact").and_(page.locator("[data-label='chain:20']"))
    click_on_canvas(page, target, page.get_by_test_id("lineage-graph-canvas"))
    panel = page.get_by_test_id("node-panel")
    expect(panel).to_be_visible()
    expect(panel.get_by_test_id("node-panel-title")).to_have_text("chain:20")
    expect(panel.get_by_test_id("panel-producer")).to_contain_text("extend")
    expect(panel.get_by_test_id("panel-consumers")).to_contain_text("extend")
    expect(page).to_have_url(re.compile(f"#/versions/{last}"))
    shoot(page, "13-lineage-side-panel")

    # Re-centre: the graph moves to chain:20 with the same direction and depth.
    panel.get_by_test_id("node-panel-recentre").click()
    expect(page.get_by_test_id("version-title")).to_have_text("chain:20")
    expect(page).to_have_url(re.compile(r"direction=UPSTREAM&depth=25"))
    graph_ready(page)
    expect(node(page, relation="self")).to_have_attribute("data-label", "chain:20")
    expect(page.get_by_test_id("lineage-direction")).to_have_value("UPSTREAM")
    expect(page.get_by_test_id("lineage-depth")).to_have_value("25")
    assert page.get_by_test_id("lineage-graph").get_attribute("data-node-count") == "40"

    # Back returns to chain:21's graph.
    page.go_back()
    expect(page.get_by_test_id("version-title")).to_have_text("chain:21")
    graph_ready(page)
    expect(node(page, relation="self")).to_have_attribute("data-label", "chain:21")


def test_a_500_node_graph_lays_out_and_is_interactive_within_a_second(
    page: Page, graph_server: Server, shoot: Shoot, record_property: Callable[[str, object], None]
) -> None:
    """The figures are measured and reported (printed, in the JUnit properties and in
    `500-node-graph.txt` beside the screenshots); only a generous sanity bound is asserted, so
    a busy shared machine cannot make the test flaky."""
    root = version_id(graph_server, "fan_root")
    open_ui(page, graph_server)
    # Timed in the page: from the navigation to the graph drawn and listening.
    started = page.evaluate(
        f"() => {{ const t = performance.now(); location.hash = '#/versions/{root}?depth=2'; "
        "return t; }"
    )
    graph = graph_ready(page)
    ready = (float(graph.get_attribute("data-ready-at") or "nan") - started) / 1000
    assert graph.get_attribute("data-node-count") == "500"
    layout_ms = int(graph.get_attribute("data-layout-ms") or "0")
    # Interactive: a zoom click is drawn at once, and a click on a node opens its panel.
    before = zoom(page)
    clicked = time.perf_counter()
    page.get_by_test_id("zoom-in").click()
    expect(graph).not_to_have_attribute("data-zoom", f"{before:.3f}")
    zoom_ms = (time.perf_counter() - clicked) * 1000
    page.get_by_test_id("zoom-focus").click()
    page.wait_for_timeout(50)
    tapped = time.perf_counter()
    click_on_canvas(page, node(page, relation="self"), page.get_by_test_id("lineage-graph-canvas"))
    expect(page.get_by_test_id("node-panel-title")).to_have_text("fan_root:1")
    panel_ms = (time.perf_counter() - tapped) * 1000
    figures = {
        "layout_and_first_draw_ms": layout_ms,
        "query_layout_draw_ms": round(ready * 1000),
        "zoom_click_ms": round(zoom_ms),
        "node_click_to_panel_ms": round(panel_ms),
    }
    for key, value in figures.items():
        record_property(f"500_nodes_{key}", value)
    parts = f"(node list {graph.get_attribute('data-list-ms')} ms, " + (
        f"{graph.get_attribute('data-timings')})"
    )
    report = (
        f"500 nodes, 499 edges: layout and first draw {layout_ms} ms in the page {parts}; query + "
        f"layout + draw {ready * 1000:.0f} ms from the navigation; zoom click answered in "
        f"{zoom_ms:.0f} ms; node click to side panel {panel_ms:.0f} ms"
    )
    print(f"\n{report}")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "500-node-graph.txt").write_text(report + "\n")
    assert layout_ms < 10_000, report  # a sanity bound only; the target (1 s) is reported
    assert label_px(page) >= LEGIBLE_PX
    expect(page.get_by_test_id("node-group")).to_have_count(2)
    shoot(page, "14-lineage-fan-500-nodes")

    # Folding steps into edges halves the graph: 250 versions, 249 labelled edges.
    page.get_by_test_id("lineage-collapse").check()
    folded = page.locator("[data-testid=lineage-graph][data-collapsed=true][data-ready=true]")
    expect(folded).to_have_attribute("data-node-count", "251")  # the first step stays a box
    print(f"500 nodes folded to 251: layout and draw {folded.get_attribute('data-layout-ms')} ms")


def test_markdown_is_rendered_and_sanitised(page: Page, graph_server: Server, shoot: Shoot) -> None:
    root = version_id(graph_server, "fan_root")
    open_ui(page, graph_server, f"/versions/{root}")
    rendered = page.locator("[data-testid=visualization][data-type=markdown]").get_by_test_id(
        "visualization-markdown"
    )
    expect(rendered.locator("h1")).to_have_text("Fan root")
    expect(rendered.locator("strong")).to_have_text("root")
    expect(rendered.locator("li")).to_have_count(2)
    assert rendered.evaluate("d => d.querySelectorAll('script').length") == 0
    rendered.scroll_into_view_if_needed()
    shoot(page, "15-visualization-markdown-rendered")


def test_a_token_the_server_rejects_is_reported_as_rejected(
    page: Page, token_server: tuple[Server, str], page_problems: PageProblems, shoot: Shoot
) -> None:
    secured, _token = token_server
    page_problems.allow(r"status of 401 \(Unauthorized\)")
    open_ui(page, secured)
    expect(page.get_by_test_id("auth-title")).to_have_text("A token is needed")
    page.get_by_test_id("token-input").fill("lqt_wrong-token")
    page.get_by_test_id("token-save").click()
    expect(page.get_by_test_id("auth-title")).to_have_text("The server rejected the token")
    expect(page.get_by_test_id("auth-required")).to_have_attribute("data-rejected", "true")
    expect(page.get_by_test_id("token-state")).to_have_text("token rejected by the server")
    shoot(page, "16-token-rejected")


def test_the_depth_box_says_when_a_value_is_out_of_range(page: Page, graph_server: Server) -> None:
    last = version_id(graph_server, "chain")
    open_ui(page, graph_server, f"/versions/{last}?direction=UPSTREAM")
    graph_ready(page)
    page.get_by_test_id("lineage-depth").fill("100000")
    page.get_by_test_id("lineage-apply").click()
    status = page.get_by_test_id("lineage-status")
    expect(status).to_have_attribute("data-state", "out-of-range")
    expect(status).to_contain_text(re.compile(r"at most \d+ hops"))
    page.get_by_test_id("lineage-depth").fill("-1")
    page.get_by_test_id("lineage-apply").click()
    expect(status).to_have_attribute("data-state", "invalid")
    page.get_by_test_id("lineage-depth").fill("40")  # beyond the old limit of 20
    page.get_by_test_id("lineage-apply").click()
    expect(status).to_contain_text("40 hops deep")
