"""Values on the explorer's pages: HTML previews as tall as their content, still sandboxed."""

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
