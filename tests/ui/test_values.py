"""Values on the explorer's pages: HTML previews as tall as their content (still sandboxed),
and simple values inline on the version page and in lists."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.ui.conftest import Server
from tests.ui.test_explorer import open_ui
from tests.ui.test_lineage_explorer import version_id

pytestmark = [pytest.mark.browser, pytest.mark.slow]

Shoot = Callable[[Page, str], Path]
FRAME_MAX = 900  # ui/src/visualizations.ts


def frame_sizes(page: Page) -> dict[str, float]:
    """The frame's height, and its document's: scroll height and visible height."""
    return dict(
        page.get_by_test_id("visualization-frame").evaluate(
            """f => ({
                frame: f.getBoundingClientRect().height,
                content: f.contentDocument.documentElement.scrollHeight,
                visible: f.contentDocument.documentElement.clientHeight,
            })"""
        )
    )


def test_a_dataframe_preview_shows_whole_without_an_inner_scrollbar(
    page: Page, graph_server: Server, shoot: Shoot
) -> None:
    frame_id = version_id(graph_server, "iris_like")
    open_ui(page, graph_server, f"/versions/{frame_id}")
    frame = page.get_by_test_id("visualization-frame")
    expect(frame).to_have_attribute("data-state", "shown")
    expect(frame).to_have_attribute("sandbox", "allow-same-origin")  # no allow-scripts
    content = page.frame_locator("[data-testid=visualization-frame]")
    expect(content.locator("table").last).to_contain_text("sepal length")
    sizes = frame_sizes(page)
    assert sizes["content"] <= sizes["visible"] + 1, sizes  # nothing hidden behind a scrollbar
    assert sizes["content"] < FRAME_MAX
    expect(page.get_by_test_id("visualization-show-all")).to_be_hidden()
    # The preview's own style block applies (through the CSSOM: the page allows no inline style).
    header = content.locator("thead th").first
    assert header.evaluate("th => getComputedStyle(th).backgroundColor") == "rgb(243, 243, 243)"
    frame.scroll_into_view_if_needed()
    shoot(page, "33-visualization-html-sized-to-content")


def test_a_tall_preview_stops_at_a_maximum_with_show_all(
    page: Page, graph_server: Server, shoot: Shoot
) -> None:
    report = version_id(graph_server, "tall_report")
    open_ui(page, graph_server, f"/versions/{report}")
    frame = page.get_by_test_id("visualization-frame")
    expect(frame).to_have_attribute("data-state", "shown")
    content_height = float(frame.get_attribute("data-content-height") or 0)
    assert content_height > FRAME_MAX
    assert frame_sizes(page)["frame"] == pytest.approx(FRAME_MAX, abs=1)
    # Style attributes apply too (set through the CSSOM); no script or style element is left.
    line = page.frame_locator("[data-testid=visualization-frame]").locator("p.line").first
    assert line.evaluate("p => getComputedStyle(p).color") == "rgb(10, 90, 30)"
    unsafe = "b => b.ownerDocument.querySelectorAll('script, style, [onload]').length"
    assert (
        page.frame_locator("[data-testid=visualization-frame]").locator("body").evaluate(unsafe)
        == 0
    )
    show_all = page.get_by_test_id("visualization-show-all")
    expect(show_all).to_contain_text("Show all")
    show_all.click()
    expect(show_all).to_be_hidden()
    sizes = frame_sizes(page)
    assert sizes["frame"] > FRAME_MAX and sizes["content"] <= sizes["visible"] + 1, sizes
    frame.scroll_into_view_if_needed()
    shoot(page, "34-visualization-tall-html-show-all")


CHAIN_RUN = """
query ($id: ID!) {
  artifactVersion(id: $id) { producer { id run { id } } }
}
"""


def test_simple_values_show_on_the_version_page_and_in_lists(
    page: Page, graph_server: Server, shoot: Shoot
) -> None:
    last = version_id(graph_server, "chain")  # chain:21 = 0.5 + 20 x 1.25
    open_ui(page, graph_server, f"/versions/{last}")
    expect(page.get_by_test_id("version-value")).to_have_text("25.5")
    shoot(page, "35-value-on-version-page")

    open_ui(page, graph_server, "/artifacts/chain")
    rows = page.get_by_test_id("version-row")
    expect(rows.first.get_by_test_id("version-value")).to_have_text("25.5")
    expect(
        page.locator("[data-testid=version-row][data-version='1'] [data-testid=version-value]")
    ).to_have_text("0.5")
    shoot(page, "36-values-in-version-list")

    producer = graph_server.query(CHAIN_RUN, id=last)["artifactVersion"]["producer"]
    open_ui(page, graph_server, f"/runs/{producer['run']['id']}")
    expect(
        page.locator("[data-testid=step-row][data-step=extend_20] [data-testid=step-outputs]")
    ).to_contain_text("chain:21 = 25.5")
    open_ui(page, graph_server, f"/steps/{producer['id']}")
    expect(page.get_by_test_id("output-list")).to_contain_text("chain:21 = 25.5")
    expect(page.get_by_test_id("input-list")).to_contain_text("chain:20 = 24.25")

    open_ui(page, graph_server, "/")
    latest = "[data-testid=artifact-row][data-name={}] [data-testid=latest-value]"
    expect(page.locator(latest.format("chain"))).to_have_text("25.5")
    expect(page.locator(latest.format("verdict"))).to_have_text("“ship it”")
    expect(page.locator(latest.format("fan_root"))).to_have_text("")  # a long str: not shown
    expect(page.locator(latest.format("iris_like"))).to_have_text("")
    shoot(page, "37-values-in-search-results")
