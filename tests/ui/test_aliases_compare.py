"""Aliases in the explorer (on lineage nodes, version and artifact pages, `name@alias` in the
search box and in addresses) and the compare page for `compareArtifactVersions(a, b)`."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.ui.conftest import Server
from tests.ui.test_explorer import graph_ready, node, open_ui
from tests.ui.test_lineage_explorer import version_id

pytestmark = [pytest.mark.browser, pytest.mark.slow]

Shoot = Callable[[Page, str], Path]


def test_aliases_show_on_pages_and_nodes_and_name_at_alias_resolves(
    page: Page, graph_server: Server, shoot: Shoot
) -> None:
    production = version_id(graph_server, "chain", "20")
    # In an address...
    open_ui(page, graph_server, "/versions/chain@production")
    expect(page.get_by_test_id("version-title")).to_have_text("chain:20")
    expect(page.get_by_test_id("version-aliases")).to_have_text("@production")
    # ... and in the search box.
    open_ui(page, graph_server)
    page.get_by_test_id("search-name").fill("chain@production")
    page.get_by_test_id("search-submit").click()
    expect(page.get_by_test_id("version-title")).to_have_text("chain:20")
    expect(page).to_have_url(re.compile(f"#/versions/{production}"))
    open_ui(page, graph_server, "/versions/chain@nowhere")
    expect(page.get_by_test_id("not-found")).to_contain_text("nowhere")

    # On lineage nodes: chain:20 upstream of chain:21 carries its alias.
    last = version_id(graph_server, "chain")
    open_ui(page, graph_server, f"/versions/{last}?direction=UPSTREAM&depth=2")
    graph_ready(page)
    expect(node(page, label="chain:20")).to_have_attribute("data-aliases", "production")
    expect(node(page, label="chain:20").get_by_test_id("aliases")).to_have_text("@production")
    shoot(page, "38-lineage-node-with-alias")

    # On the artifact page: the aliases and the version each points at.
    open_ui(page, graph_server, "/artifacts/chain")
    expect(page.get_by_test_id("artifact-aliases")).to_contain_text("@production → 20")
    row = page.locator("[data-testid=version-row][data-version='20']")
    expect(row.get_by_test_id("version-aliases")).to_have_text("@production")
    shoot(page, "39-artifact-aliases")


def test_compare_two_dataframe_versions_picked_on_the_artifact_page(
    page: Page, graph_server: Server, shoot: Shoot
) -> None:
    open_ui(page, graph_server, "/artifacts/iris_like")
    compare = page.get_by_test_id("compare-selected")
    expect(compare).to_be_disabled()
    for version in ("1", "2"):
        page.locator(
            f"[data-testid=version-row][data-version='{version}'] [data-testid=compare-pick]"
        ).check()
    compare.click()
    expect(page.get_by_test_id("compare-title")).to_have_text("iris_like:1 → iris_like:2")
    expect(page.get_by_test_id("compare-content")).to_have_attribute("data-equal", "false")
    expect(page.get_by_test_id("compare-rows")).to_have_text("3 → 4 (+1)")
    expect(page.get_by_test_id("compare-schema")).to_have_attribute("data-equal", "false")
    added = page.locator("[data-testid=compare-columns-row][data-key='petal width']")
    expect(added).to_contain_text("added")
    expect(added).to_contain_text("float64")
    metadata = page.get_by_test_id("compare-metadata")
    expect(metadata.locator("[data-testid=compare-metadata-row][data-key=rows]")).to_contain_text(
        "3"
    )
    # iris_like:2 was saved, not produced: the lineage says so.
    expect(page.get_by_test_id("compare-producers")).to_have_text("only a was made by a step")
    shoot(page, "40-compare-dataframes")


def test_compare_by_name_version_and_alias_shows_value_and_input_changes(
    page: Page, graph_server: Server, shoot: Shoot
) -> None:
    open_ui(page, graph_server, "/compare?a=chain@production&b=chain@latest")
    expect(page.get_by_test_id("compare-title")).to_have_text("chain:20 → chain:21")
    expect(page.get_by_test_id("compare-content")).to_have_attribute("data-equal", "false")
    value = page.locator("[data-testid=compare-metadata-row][data-key=string_representation]")
    expect(value).to_contain_text("24.25")
    expect(value).to_contain_text("25.5")
    changed = page.locator("[data-testid=compare-inputs-row][data-key=value]")
    expect(changed).to_contain_text("chain:19")
    expect(changed).to_contain_text("chain:20")
    # extend_19 and extend_20: two steps of one run, with the same code.
    expect(page.get_by_test_id("compare-producers")).to_have_text("different steps; the same code")
    shoot(page, "41-compare-chain-production-latest")


def test_compare_two_arrays_from_the_version_page(
    page: Page, graph_server: Server, shoot: Shoot
) -> None:
    second = version_id(graph_server, "weights", "2")
    open_ui(page, graph_server, f"/versions/{second}")
    page.get_by_test_id("compare-previous").click()
    expect(page.get_by_test_id("compare-title")).to_have_text("weights:1 → weights:2")
    rows = page.get_by_test_id("compare-array-table-row")
    expect(rows.filter(has_text="shape")).to_contain_text("(3, 4)")
    expect(rows.filter(has_text="shape")).to_contain_text("(5, 4)")
    expect(rows.filter(has_text="dtype")).to_contain_text("float64")
    expect(rows.filter(has_text="dtype")).to_contain_text("int32")
    expect(rows.filter(has_text="elements")).to_contain_text("12")
    expect(rows.filter(has_text="elements")).to_contain_text("20")
    # Summary statistics the NumPy materializer recorded: zeros, then ones.
    expect(rows.filter(has_text="mean")).to_contain_text("+1")
    expect(rows.filter(has_text="std")).to_contain_text("same")
    expect(page.get_by_test_id("compare-producers")).to_contain_text("neither was made by a step")
    shoot(page, "45-compare-arrays")
