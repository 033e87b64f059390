"""What came from another tool's OpenLineage events is marked in the explorer, with its
producer, and its run facets are readable as collapsible JSON."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.ui.conftest import Server
from tests.ui.test_explorer import graph_ready, node, open_ui

pytestmark = [pytest.mark.browser, pytest.mark.slow]

Shoot = Callable[[Page, str], Path]

PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.24.2/integration/spark"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACET = "https://openlineage.io/spec/facets/1-0-1/{}.json"
OUTPUT = "s3://warehouse/ui_curated_sales"
FOUND = """
query ($name: String!) {
  artifactVersion(name: $name) { id producer { id run { id } } }
}
"""


def event(kind: str, run_id: str, time: str) -> dict[str, Any]:
    schema = {
        "_producer": PRODUCER,
        "_schemaURL": FACET.format("SchemaDatasetFacet") + "#/$defs/SchemaDatasetFacet",
        "fields": [{"name": "region", "type": "string"}, {"name": "total", "type": "double"}],
    }
    engine = {
        "_producer": PRODUCER,
        "_schemaURL": FACET.format("ProcessingEngineRunFacet") + "#/$defs/ProcessingEngineRunFacet",
        "version": "3.5.1",
        "name": "spark",
    }
    return {
        "eventType": kind,
        "eventTime": time,
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
        "run": {"runId": run_id, "facets": {"processing_engine": engine}},
        "job": {"namespace": "spark_ui", "name": "curate_sales", "facets": {}},
        "inputs": [{"namespace": "s3://warehouse", "name": "ui_raw_sales"}],
        "outputs": [
            {
                "namespace": "s3://warehouse",
                "name": "ui_curated_sales",
                "facets": {"schema": schema},
            }
            if kind == "COMPLETE"
            else {"namespace": "s3://warehouse", "name": "ui_curated_sales"}
        ],
    }


@pytest.fixture(scope="module")
def spark_run(graph_server: Server) -> dict[str, Any]:
    """A Spark job's START and COMPLETE, sent to the server's OpenLineage endpoint."""
    run_id = str(uuid.uuid4())
    events = [
        event("START", run_id, "2026-11-30T06:00:00Z"),
        event("COMPLETE", run_id, "2026-11-30T06:01:00Z"),
    ]
    response = httpx.post(f"{graph_server.base}/api/v1/lineage", json=events)
    assert response.status_code < 300, response.text
    found = graph_server.query(FOUND, name=OUTPUT)["artifactVersion"]
    assert found and found["producer"], found
    return dict(found)


def test_a_version_and_its_lineage_from_openlineage_are_marked_with_the_producer(
    page: Page, graph_server: Server, spark_run: dict[str, Any], shoot: Shoot
) -> None:
    open_ui(page, graph_server, f"/versions/{spark_run['id']}?direction=UPSTREAM")
    expect(
        page.get_by_test_id("version-facts").get_by_test_id("openlineage-marker")
    ).to_have_attribute("data-producer", PRODUCER)
    expect(page.get_by_test_id("openlineage-dataset")).to_have_text(
        "s3://warehouse / ui_curated_sales"
    )
    facets = page.get_by_test_id("openlineage-dataset-facets")
    expect(facets.locator("pre")).to_be_hidden()  # collapsed until asked
    facets.locator("summary").click()
    expect(facets.locator("pre")).to_contain_text('"schema"')
    expect(facets.locator("pre")).to_contain_text('"region"')
    graph_ready(page)
    step = node(page, node_kind="step")
    expect(step).to_have_attribute("data-openlineage", PRODUCER)
    expect(step.get_by_test_id("openlineage-marker")).to_have_text("OpenLineage")
    expect(node(page, relation="self")).to_have_attribute("data-openlineage", PRODUCER)
    shoot(page, "42-openlineage-version-and-lineage")


def test_a_run_and_step_from_openlineage_show_producer_and_run_facets(
    page: Page, graph_server: Server, spark_run: dict[str, Any], shoot: Shoot
) -> None:
    open_ui(page, graph_server, f"/runs/{spark_run['producer']['run']['id']}")
    expect(page.get_by_test_id("run-title").get_by_test_id("openlineage-marker")).to_be_visible()
    expect(page.get_by_test_id("openlineage-producer")).to_have_text(PRODUCER)
    expect(page.get_by_test_id("openlineage-job")).to_have_text("spark_ui / curate_sales")
    run_facets = page.get_by_test_id("openlineage-run-facets")
    run_facets.locator("summary").click()
    expect(run_facets.locator("pre")).to_contain_text('"processing_engine"')
    expect(run_facets.locator("pre")).to_contain_text('"3.5.1"')
    shoot(page, "43-openlineage-run-facets")

    open_ui(page, graph_server, f"/steps/{spark_run['producer']['id']}")
    expect(page.get_by_test_id("step-title").get_by_test_id("openlineage-marker")).to_be_visible()
    expect(page.get_by_test_id("openlineage-producer")).to_have_text(PRODUCER)
    expect(page.get_by_test_id("openlineage-run-facets")).to_be_visible()
    shoot(page, "44-openlineage-step")
