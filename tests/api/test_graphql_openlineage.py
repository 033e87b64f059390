"""`openlineage` on PipelineRun, StepRun and ArtifactVersion: where another tool's OpenLineage
events made a run or a dataset (producer, job, facets), null for the store's own; read in a
constant number of statements however many nodes a lineage page holds."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import anyio

from api.storage.openlineage import check_event, ingest
from tests.api.test_loaders import Store, open_store

SPARK = "https://github.com/OpenLineage/OpenLineage/tree/1.23.0/integration/spark"
DBT = "https://github.com/OpenLineage/OpenLineage/tree/1.23.0/integration/dbt"
SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"

RUN = """
query ($id: ID!) {
  pipelineRun(id: $id) {
    name
    openlineage {
      producer namespace job eventCount lastEventType lastEventTime facets jobFacets
    }
    steps {
      name
      openlineage { job eventCount }
      outputs { artifactVersion { name openlineage { namespace name producer facets } } }
      inputs { artifactVersion { name openlineage { namespace name producer facets } } }
    }
  }
}
"""

NODES = """
query ($id: ID!) {
  lineage(id: $id, direction: UPSTREAM, depth: 3, first: 500) {
    nodes {
      __typename
      ... on ArtifactVersion { name openlineage { namespace name producer } }
      ... on StepRun {
        name
        openlineage { producer job eventCount lastEventType }
        run { openlineage { job eventCount } }
      }
    }
    truncated
  }
}
"""


def facet(**fields: Any) -> dict[str, Any]:
    return {"_producer": SPARK, "_schemaURL": "https://example.org/facets/1-0-0/F.json", **fields}


def event(
    event_type: str,
    run_id: str,
    time: str,
    *,
    job: str = "orders_job",
    producer: str = SPARK,
    inputs: tuple[str, ...] = (),
    outputs: tuple[str, ...] = (),
    run_facets: dict[str, Any] | None = None,
    job_facets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    schema = {"schema": facet(fields=[{"name": "id", "type": "long"}])}
    return {
        "eventType": event_type,
        "eventTime": time,
        "run": {"runId": run_id, "facets": run_facets or {}},
        "job": {"namespace": "spark", "name": job, "facets": job_facets or {}},
        "inputs": [{"namespace": "s3://lake", "name": n, "facets": schema} for n in inputs],
        "outputs": [{"namespace": "s3://lake", "name": n} for n in outputs],
        "producer": producer,
        "schemaURL": SCHEMA,
    }


async def send(store: Store, *events: dict[str, Any]) -> list[dict[str, Any]]:
    checked = [check_event(e, i) for i, e in enumerate(events)]
    async with store.db.write() as session:
        return await ingest(session, checked, store.settings.artifact_store)


def test_ingested_runs_and_datasets_say_where_they_came_from(
    database_url: str, tmp_path: Path
) -> None:
    run_id = str(uuid.uuid4())

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with open_store(database_url, tmp_path) as store:
            # The COMPLETE comes first but is the later event; its facets win per key.
            await send(
                store,
                event(
                    "COMPLETE",
                    run_id,
                    "2026-11-30T10:05:00Z",
                    inputs=("raw/orders",),
                    outputs=("clean/orders",),
                    run_facets={"spark_properties": facet(app="late")},
                    job_facets={"sql": facet(query="SELECT 2")},
                ),
                event(
                    "START",
                    run_id,
                    "2026-11-30T10:00:00+00:00",
                    run_facets={
                        "spark_properties": facet(app="early"),
                        "processing_engine": facet(version="3.5.1"),
                    },
                    job_facets={"jobType": facet(jobType="JOB"), "sql": facet(query="SELECT 1")},
                ),
            )
            await store.add_run(0)  # a native run of four steps
            ingested = await store.data(RUN, id=run_id)
            native_id = (await store.data("{ pipelineRuns { edges { node { id name } } } }"))[
                "pipelineRuns"
            ]["edges"]
            [native] = [e["node"]["id"] for e in native_id if e["node"]["name"] == "run-0"]
            return ingested, await store.data(RUN, id=native)

    ingested, native = anyio.run(scenario)
    run = ingested["pipelineRun"]
    summary = run["openlineage"]
    assert summary["producer"] == SPARK
    assert (summary["namespace"], summary["job"]) == ("spark", "orders_job")
    assert (summary["eventCount"], summary["lastEventType"]) == (2, "COMPLETE")
    assert summary["lastEventTime"].startswith("2026-11-30T10:05:00")
    assert summary["facets"]["spark_properties"]["app"] == "late"
    assert summary["facets"]["processing_engine"]["version"] == "3.5.1"
    assert summary["jobFacets"]["sql"]["query"] == "SELECT 2"
    assert summary["jobFacets"]["jobType"]["jobType"] == "JOB"
    # The step holding the job run's lineage stands for the same OpenLineage run.
    [step] = run["steps"]
    assert step["openlineage"] == {"job": "orders_job", "eventCount": 2}
    [output] = step["outputs"]
    [read] = step["inputs"]
    assert output["artifactVersion"]["openlineage"] == {
        "namespace": "s3://lake",
        "name": "clean/orders",
        "producer": SPARK,
        "facets": {},
    }
    dataset = read["artifactVersion"]["openlineage"]
    assert (dataset["namespace"], dataset["name"]) == ("s3://lake", "raw/orders")
    assert dataset["facets"]["schema"]["fields"] == [{"name": "id", "type": "long"}]

    # The store's own run, steps and versions: null everywhere.
    assert native["pipelineRun"]["openlineage"] is None
    steps = native["pipelineRun"]["steps"]
    assert len(steps) == 4
    assert all(s["openlineage"] is None for s in steps)
    assert all(o["artifactVersion"]["openlineage"] is None for s in steps for o in s["outputs"])


def test_a_child_job_run_and_an_event_not_applied(database_url: str, tmp_path: Path) -> None:
    """A child job (its `parent` facet) is a step run with its own OpenLineage run; an event
    naming one of the store's own runs is stored but not applied, and marks nothing."""
    parent_id, child_id = str(uuid.uuid4()), str(uuid.uuid4())
    parent_facet = {
        "parent": {
            "_producer": SPARK,
            "_schemaURL": "https://openlineage.io/spec/facets/1-1-0/ParentRunFacet.json"
            "#/$defs/ParentRunFacet",
            "run": {"runId": parent_id},
            "job": {"namespace": "spark", "name": "dag"},
        }
    }

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
        async with open_store(database_url, tmp_path) as store:
            await store.add_run(0)
            edges = (await store.data("{ pipelineRuns { edges { node { id } } } }"))[
                "pipelineRuns"
            ]["edges"]
            native_id = edges[0]["node"]["id"]
            results = await send(
                store,
                event(
                    "COMPLETE",
                    child_id,
                    "2026-11-30T10:05:00Z",
                    job="dag.extract",
                    producer=DBT,
                    outputs=("staged",),
                    run_facets=parent_facet,
                ),
                event("START", native_id, "2026-11-30T10:00:00Z", job="intruder"),
            )
            return (
                await store.data(RUN, id=parent_id),
                await store.data(RUN, id=native_id),
                results,
            )

    parent, native, results = anyio.run(scenario)
    assert [r["applied"] for r in results] == [True, False]
    run = parent["pipelineRun"]
    assert run["openlineage"] is None  # made by its child's parent facet: no event of its own
    [child] = run["steps"]
    assert (child["name"], child["openlineage"]) == (
        "extract",
        {"job": "dag.extract", "eventCount": 1},
    )
    assert child["outputs"][0]["artifactVersion"]["openlineage"]["producer"] == DBT
    assert native["pipelineRun"]["openlineage"] is None
    assert all(s["openlineage"] is None for s in native["pipelineRun"]["steps"])


def test_a_lineage_page_reads_openlineage_in_few_statements(
    database_url: str, tmp_path: Path
) -> None:
    """A job reading the outputs of many job runs: the lineage page of its output holds every
    run and dataset, and reading all their `openlineage` costs the same statements for 3
    producers as for 60."""

    async def scenario() -> dict[int, tuple[int, dict[str, Any]]]:
        found: dict[int, tuple[int, dict[str, Any]]] = {}
        async with open_store(database_url, tmp_path) as store:
            for size in (3, 60):
                names = tuple(f"part{size}_{i}" for i in range(size))
                events = [
                    event("COMPLETE", str(uuid.uuid4()), "2026-11-30T10:00:00Z", outputs=(n,))
                    for n in names
                ]
                final = f"final{size}"
                events.append(
                    event(
                        "COMPLETE",
                        str(uuid.uuid4()),
                        "2026-11-30T11:00:00Z",
                        job=f"merge{size}",
                        inputs=names,
                        outputs=(final,),
                    )
                )
                await send(store, *events)
                version = await store.data(
                    "query ($n: String!) { artifactVersion(name: $n) { id } }",
                    n=f"s3://lake/{final}",
                )
                with store.counting() as selects:
                    data = await store.data(NODES, id=version["artifactVersion"]["id"])
                found[size] = (len(selects), data)
        return found

    found = anyio.run(scenario)
    for size, (_, data) in found.items():
        graph = data["lineage"]
        assert graph["truncated"] is False
        steps = [n for n in graph["nodes"] if n["__typename"] == "StepRun"]
        versions = [n for n in graph["nodes"] if n["__typename"] == "ArtifactVersion"]
        assert (len(steps), len(versions)) == (size + 1, size + 1)
        assert all(s["openlineage"]["producer"] == SPARK for s in steps)
        assert all(s["openlineage"]["lastEventType"] == "COMPLETE" for s in steps)
        assert all(s["run"]["openlineage"]["job"] == s["openlineage"]["job"] for s in steps)
        assert all(v["openlineage"]["namespace"] == "s3://lake" for v in versions)
    small, large = found[3][0], found[60][0]
    # The walk, the page, the pipeline runs and the OpenLineage events: a loader batch may
    # split in two, never one statement per node (60 steps).
    assert large <= small + 2 and large <= 10, (small, large)
