"""Deep lineage in the explorer: step runs folded into edges, and expanding a node the depth cut.

Over the seeded 42-node chain (`chain:1` ... `chain:21`, each made from the previous by a step
`extend`): see tests/ui/seed_graphs.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.ui.conftest import Server
from tests.ui.test_explorer import click_on_canvas, graph_ready, node, open_ui
from tests.ui.test_lineage_explorer import LEGIBLE_PX, label_px, version_id, zoom

pytestmark = [pytest.mark.browser, pytest.mark.slow]

Shoot = Callable[[Page, str], Path]


def count(graph: Locator, what: str) -> int:
    return int(graph.get_attribute(f"data-{what}-count") or "-1")


def test_steps_fold_into_labelled_edges_and_the_toggle_stays_in_the_address(
    page: Page, graph_server: Server, shoot: Shoot
) -> None:
    last = version_id(graph_server, "chain")
    open_ui(page, graph_server, f"/versions/{last}?direction=UPSTREAM&depth=25")
    graph = graph_ready(page)
    assert count(graph, "node") == 42

    page.get_by_test_id("lineage-collapse").check()
    expect(page.locator("[data-testid=lineage-graph][data-collapsed=true]")).to_have_count(1)
    graph = graph_ready(page)
    # 21 versions and the first step (it has no input, so it stays a box); 20 `extend` edges.
    assert count(graph, "node") == 22
    assert count(graph, "edge") == 21
    steps = page.locator("[data-testid=graph-node][data-node-kind=step]")
    expect(steps).to_have_count(1)
    expect(steps).to_have_attribute("data-label", "chain_seed")
    # Hops still count versions: chain:1 is 20 hops up, and labels stay legible.
    expect(node(page, label="chain:1")).to_have_attribute("data-hop", "20")
    expect(node(page, label="chain:20")).to_have_attribute("data-hop", "1")
    assert label_px(page) >= LEGIBLE_PX
    expect(page).to_have_url(re.compile(r"steps=edges"))
    shoot(page, "30-lineage-steps-as-edges")

    # The address keeps it: a reload draws the folded graph again.
    page.reload()
    graph = graph_ready(page)
    expect(page.get_by_test_id("lineage-collapse")).to_be_checked()
    assert count(graph, "node") == 22

    # Re-centring keeps it too.
    page.get_by_test_id("zoom-focus").click()
    page.wait_for_timeout(100)
    click_on_canvas(page, node(page, label="chain:20"), page.get_by_test_id("lineage-graph-canvas"))
    recentre = page.get_by_test_id("node-panel-recentre")
    expect(recentre).to_have_attribute("href", re.compile(r"steps=edges"))

    # Clicking an edge opens the panel of the step run it stands for.
    ends = [node(page, label=label) for label in ("chain:19", "chain:20")]
    x = sum(float(e.get_attribute("data-x") or 0) for e in ends) / 2
    y = sum(float(e.get_attribute("data-y") or 0) for e in ends) / 2
    box = page.get_by_test_id("lineage-graph-canvas").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + x, box["y"] + y)
    expect(page.get_by_test_id("node-panel-title")).to_have_text("extend_19")
    expect(page.get_by_test_id("node-panel-details")).to_contain_text("chain:19")

    # Unticked: the step runs are boxes again.
    page.get_by_test_id("lineage-collapse").uncheck()
    expect(page.locator("[data-testid=lineage-graph][data-collapsed=false]")).to_have_count(1)
    assert count(graph_ready(page), "node") == 42
    expect(page).not_to_have_url(re.compile(r"steps=edges"))


def test_a_node_the_depth_cut_expands_in_place(
    page: Page, graph_server: Server, shoot: Shoot
) -> None:
    last = version_id(graph_server, "chain")
    open_ui(page, graph_server, f"/versions/{last}?direction=UPSTREAM&depth=3")
    # chain:21 back to chain:18 with the three steps between: 7 nodes; chain:18's producer
    # was cut, so chain:18 (and only it) is marked.
    marked = page.locator("[data-testid=lineage-graph][data-frontier-count='1']")
    expect(marked).to_have_count(1)
    graph = graph_ready(page)
    assert count(graph, "node") == 7
    edge = node(page, label="chain:18")
    expand = page.get_by_test_id("expand-node")
    expect(expand).to_have_count(1)
    expect(expand).to_have_attribute("data-side", "upstream")
    expect(page.get_by_test_id("lineage-status")).to_contain_text("expand a node marked +")
    shoot(page, "31-lineage-frontier-marked")

    # Clicking the "+" drawn beside chain:18 merges its neighbourhood without resetting the
    # view: the same zoom, chain:18 still in view, moved only as far as shows the new nodes.
    before_zoom = zoom(page)
    more_x, more_y = edge.get_attribute("data-more-x"), edge.get_attribute("data-more-y")
    assert more_x is not None and more_y is not None
    box = page.get_by_test_id("lineage-graph-canvas").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + float(more_x), box["y"] + float(more_y))
    expect(page.get_by_test_id("lineage-status")).to_have_attribute("data-state", "expanded")
    graph = graph_ready(page)
    assert count(graph, "node") == 13
    assert zoom(page) == pytest.approx(before_zoom, abs=0.002)

    def in_view(label: str) -> bool:
        entry = node(page, label=label)
        x = float(entry.get_attribute("data-x") or -1)
        y = float(entry.get_attribute("data-y") or -1)
        return 0 <= x <= box["width"] and 0 <= y <= box["height"]

    assert in_view("chain:18") and in_view("chain:17")
    expect(node(page, label="chain:15")).to_have_attribute("data-hop", "6")
    # The cut moved to chain:15.
    expect(page.get_by_test_id("expand-node")).to_have_attribute(
        "data-node-id", node(page, label="chain:15").get_attribute("data-node-id") or ""
    )
    expect(page.get_by_test_id("lineage-status")).to_contain_text("6 more nodes")
    expect(page).to_have_url(re.compile(f"#/versions/{last}"))
    shoot(page, "32-lineage-frontier-expanded")

    # The list's button does the same; at the chain's start nothing is left to expand.
    for expected in (19, 25, 31, 37, 42):
        page.get_by_test_id("expand-node").click()
        expect(
            page.locator(f"[data-testid=lineage-graph][data-node-count='{expected}']")
        ).to_have_count(1)
    expect(page.get_by_test_id("expand-node")).to_have_count(0)
    expect(node(page, label="chain_seed")).to_have_count(1)
