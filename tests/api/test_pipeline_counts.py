"""`Pipeline.runCount`, `successCount` and `failureCount`: exact over all runs, batched."""

from __future__ import annotations

from tests.api.client import Api
from tests.api.test_statement_counts import Counted

COUNTS = """
query ($name: String!) {
  pipeline(name: $name) { runCount successCount failureCount runs(first: 1) { totalCount } }
}
"""
ALL_COUNTS = """
query { pipelines(first: 50) { edges { node { name runCount successCount failureCount } } } }
"""


def test_run_counts_cover_every_run_by_status(gql: Api) -> None:
    for status in ("COMPLETED", "COMPLETED", "FAILED", "COMPLETED"):
        gql.finish_run(gql.start_run("daily"), status)
    gql.start_run("daily")  # still running: counted in runCount only
    pipeline = gql.data(COUNTS, name="daily")["pipeline"]
    assert pipeline["runCount"] == 5 == pipeline["runs"]["totalCount"]
    assert pipeline["successCount"] == 3
    assert pipeline["failureCount"] == 1


def test_a_pipeline_without_finished_runs_counts_zero(gql: Api) -> None:
    gql.start_run("fresh")
    pipeline = gql.data(COUNTS, name="fresh")["pipeline"]
    assert (pipeline["runCount"], pipeline["successCount"], pipeline["failureCount"]) == (1, 0, 0)


def test_counts_of_a_list_of_pipelines_take_one_statement(gql: Api) -> None:
    for index in range(8):
        for status in ("COMPLETED", "FAILED")[: 1 + index % 2]:
            gql.finish_run(gql.start_run(f"p{index}"), status)
    counted = Counted()
    with counted.counting() as statements:
        edges = gql.data(ALL_COUNTS)["pipelines"]["edges"]
    counts = {e["node"]["name"]: e["node"] for e in edges}
    assert counts["p0"] == {"name": "p0", "runCount": 1, "successCount": 1, "failureCount": 0}
    assert counts["p1"] == {"name": "p1", "runCount": 2, "successCount": 1, "failureCount": 1}
    grouped = [s for s in statements if "count(" in s.lower() and "pipeline_runs" in s.lower()]
    assert len(grouped) == 1, grouped  # one batched count for the three fields of eight pipelines
