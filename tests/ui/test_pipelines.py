"""The Pipelines pages, durations, the artifact page and default names, over `seed_pipelines`."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.ui.conftest import Server
from tests.ui.test_explorer import graph_ready, open_ui

pytestmark = [pytest.mark.browser, pytest.mark.slow]

Shoot = Callable[[Page, str], Path]

DURATION = re.compile(r"^(\d+ ms|\d+\.\d s|\d+ min \d\d s|\d+ h \d\d min)$")
FAILED_RUN = """
query { pipelineRuns(filter: {pipelineName: "daily_report", status: FAILED}) {
  edges { node { id name } } } }
"""


def test_pipelines_page_counts_success_rate_and_a_failed_last_run(
    page: Page, pipeline_server: Server, shoot: Shoot
) -> None:
    open_ui(page, pipeline_server)
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.post_data or "") if r.method == "POST" else None)
    page.get_by_test_id("nav-pipelines").click()
    expect(page).to_have_url(re.compile(r"#/pipelines$"))
    rows = page.get_by_test_id("pipeline-row")
    expect(rows).to_have_count(2)
    # The counts are fields of each pipeline (exact over all runs): one request for the list.
    assert len(sent) == 1 and "runCount" in sent[0], sent
    daily = page.locator("[data-testid=pipeline-row][data-name=daily_report]")
    expect(daily.get_by_test_id("run-count")).to_have_text("4")
    expect(daily.get_by_test_id("run-count")).to_have_attribute(
        "title", "3 succeeded, 1 failed, 0 running"
    )
    # 3 COMPLETED of 4 finished (one FAILED).
    expect(daily.get_by_test_id("success-rate")).to_have_text("75% (3 of 4)")
    expect(daily.get_by_test_id("last-run-status")).to_have_text("FAILED")
    assert DURATION.match(daily.get_by_test_id("last-run-duration").inner_text())
    assert re.search(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", daily.get_by_test_id("last-run").inner_text()
    )
    train = page.locator("[data-testid=pipeline-row][data-name=nightly_train]")
    expect(train.get_by_test_id("run-count")).to_have_text("1")
    expect(train.get_by_test_id("success-rate")).to_have_text("100% (1 of 1)")
    expect(train.get_by_test_id("last-run-status")).to_have_text("COMPLETED")
    shoot(page, "20-pipelines")

    # The failed last run opens its run page, which shows its duration.
    daily.get_by_test_id("last-run-link").click()
    expect(page.get_by_test_id("run-status")).to_have_text("FAILED")
    assert DURATION.match(page.get_by_test_id("run-duration").inner_text())
    failed_step = page.locator("[data-testid=step-row][data-step=summarise]")
    expect(failed_step).to_have_attribute("data-status", "FAILED")
    assert DURATION.match(failed_step.get_by_test_id("step-duration").inner_text())
    failed_step.get_by_role("link", name="summarise").click()
    expect(page.get_by_test_id("step-status")).to_have_text("FAILED")
    assert DURATION.match(page.get_by_test_id("step-duration").inner_text())


def test_a_pipelines_runs_newest_first_with_durations(
    page: Page, pipeline_server: Server, shoot: Shoot
) -> None:
    failed = pipeline_server.query(FAILED_RUN)["pipelineRuns"]["edges"][0]["node"]
    open_ui(page, pipeline_server, "/pipelines")
    page.locator("[data-testid=pipeline-row][data-name=daily_report]").get_by_test_id(
        "pipeline-link"
    ).click()
    expect(page.get_by_test_id("pipeline-name")).to_have_text("daily_report")
    expect(page.get_by_test_id("success-rate")).to_have_text("75% (3 of 4)")
    expect(page.get_by_test_id("run-count")).to_contain_text("4 (3 completed, 1 failed)")
    rows = page.get_by_test_id("run-row")
    expect(rows).to_have_count(4)
    # Newest first: the failed run was the last one started.
    expect(rows.first).to_have_attribute("data-status", "FAILED")
    expect(rows.first).to_have_attribute("data-run", failed["name"])
    expect(rows.first).to_contain_text("the sales feed was empty")
    assert [r.get_attribute("data-status") for r in rows.all()[1:]] == ["COMPLETED"] * 3
    started = [r.locator("td").nth(2).inner_text() for r in rows.all()]
    assert started == sorted(started, reverse=True)
    for row in rows.all():
        assert DURATION.match(row.get_by_test_id("run-duration").inner_text())
    shoot(page, "21-pipeline-runs")

    # The runs list shows durations too, and links each pipeline to its page.
    open_ui(page, pipeline_server, "/runs")
    for cell in page.get_by_test_id("run-duration").all():
        assert DURATION.match(cell.inner_text())
    page.get_by_role("link", name="nightly_train", exact=True).first.click()
    expect(page.get_by_test_id("pipeline-name")).to_have_text("nightly_train")


def test_the_artifact_page_shows_version_tags_producing_runs_and_lineage(
    page: Page, pipeline_server: Server, shoot: Shoot
) -> None:
    open_ui(page, pipeline_server, "/artifacts/sales")
    expect(page.get_by_test_id("artifact-name")).to_have_text("sales")
    # The artifact's own tag and, apart, its versions' tags with counts.
    expect(page.get_by_test_id("artifact-tags")).to_have_text("curated")
    tags = page.get_by_test_id("version-tags")
    expect(tags.locator("[data-tag=raw]")).to_have_attribute("data-count", "4")
    expect(tags.locator("[data-tag=golden]")).to_have_attribute("data-count", "1")
    expect(page.get_by_test_id("artifact-tags")).not_to_contain_text("no tags")
    # Versions newest first, each with its producing run (the newest from the failed run).
    rows = page.get_by_test_id("version-row")
    expect(rows).to_have_count(4)
    assert [r.get_attribute("data-version") for r in rows.all()] == ["4", "3", "2", "1"]
    expect(rows.first.get_by_test_id("producer-run-status")).to_have_text("FAILED")
    expect(rows.last).to_contain_text("golden")
    for row in rows.all():
        expect(row.get_by_test_id("producer-run-link")).to_have_text(re.compile(r"^daily_report-"))
        assert re.fullmatch(
            r"\d+ B|\d+\.\d (KB|MB|GB|TB)", row.get_by_test_id("version-size").inner_text()
        )
    # The latest value inline (its JSON visualization), and the latest version's lineage.
    expect(page.get_by_test_id("inline-value")).to_have_text("[99,198,297]")
    graph = graph_ready(page)
    assert int(graph.get_attribute("data-node-count") or "0") >= 3
    shoot(page, "22-artifact-page")
    rows.first.get_by_test_id("producer-run-link").click()
    expect(page.get_by_test_id("run-status")).to_have_text("FAILED")


def test_default_names_are_hidden_until_the_toggle(
    page: Page, pipeline_server: Server, shoot: Shoot
) -> None:
    open_ui(page, pipeline_server)
    names = page.get_by_test_id("artifact-row")
    expect(names).to_have_count(2)
    assert sorted(r.get_attribute("data-name") or "" for r in names.all()) == ["model", "sales"]
    expect(page.get_by_test_id("hidden-default-names")).to_have_attribute("data-count", "1")
    toggle = page.get_by_test_id("show-default-names")
    expect(toggle).not_to_be_checked()
    toggle.check()
    expect(page).to_have_url(re.compile(r"defaults=1"))
    expect(names).to_have_count(3)
    expect(
        page.locator('[data-testid=artifact-row][data-name="daily_report::summarise::output"]')
    ).to_be_visible()
    expect(page.get_by_test_id("show-default-names")).to_be_checked()
    expect(page.get_by_test_id("hidden-default-names")).to_have_count(0)
    shoot(page, "23-default-names-shown")
    page.get_by_test_id("show-default-names").uncheck()
    expect(names).to_have_count(2)


def test_versions_found_by_tag_are_listed_newest_first(page: Page, pipeline_server: Server) -> None:
    open_ui(page, pipeline_server, "/?tag=raw")
    expect(page.locator("[data-testid=artifact-row][data-name=sales]")).to_be_visible()
    rows = page.get_by_test_id("tagged-version-row")
    expect(rows).to_have_count(4)
    assert [r.get_attribute("data-version") for r in rows.all()] == ["4", "3", "2", "1"]
