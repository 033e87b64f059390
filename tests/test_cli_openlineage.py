"""The CLI marks what another tool's OpenLineage events made: `lineageql lineage` (tree and
JSON), `runs list` and `runs show`, on an embedded store holding ingested events and a
pipeline of its own."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

import anyio
import pytest

from api.storage.engine import Database
from api.storage.openlineage import check_event, ingest
from sdk import Client, pipeline, step
from sdk.client.openlineage import short_producer
from tests.test_cli_artifacts import Cli, rows

SPARK = "https://github.com/OpenLineage/OpenLineage/tree/1.23.0/integration/spark"
SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


@pytest.mark.parametrize(
    ("producer", "short"),
    [
        (SPARK, "spark 1.23.0"),
        ("https://github.com/OpenLineage/OpenLineage/tree/1.9.1/integration/dbt", "dbt 1.9.1"),
        (
            "https://github.com/OpenLineage/OpenLineage/tree/1.23.0/client/python",
            "python client 1.23.0",
        ),
        ("https://github.com/apache/airflow/tree/providers-openlineage/1.8.0", "airflow 1.8.0"),
        ("https://github.com/MarquezProject/marquez/tree/0.50.0", "marquez 0.50.0"),
        ("https://pypi.org/project/lineageql/", "pypi.org/project/lineageql"),
        ("https://example.org/" + "x" * 60, "example.org/" + "x" * 27 + "…"),
    ],
)
def test_a_producer_is_shortened_to_a_few_words(producer: str, short: str) -> None:
    assert short_producer(producer) == short


def _event(event_type: str, run_id: str, time: str, read: str) -> dict[str, Any]:
    """A Spark job run reading the file at `read`, writing `s3://lake/clean/orders`."""
    return {
        "eventType": event_type,
        "eventTime": time,
        "run": {"runId": run_id},
        "job": {"namespace": "spark", "name": "orders_job"},
        "inputs": [{"namespace": "file", "name": read}],
        "outputs": [{"namespace": "s3://lake", "name": "clean/orders"}],
        "producer": SPARK,
        "schemaURL": SCHEMA,
    }


@step
def export_orders() -> Annotated[list[int], "orders"]:
    return [1, 2, 3]


@pipeline
def exporting() -> None:
    export_orders()


def test_lineage_and_runs_mark_openlineage_runs_and_datasets(
    store_env: dict[str, str], database_url: str
) -> None:
    native = exporting()
    orders = native.steps["export_orders"].outputs["orders"]
    run_id = str(uuid.uuid4())
    events = [
        _event("START", run_id, "2026-11-30T10:00:00Z", orders.uri),
        _event("COMPLETE", run_id, "2026-11-30T10:02:00Z", orders.uri),
    ]

    async def send() -> None:
        db = Database.connect(database_url)
        try:
            async with db.write() as session:
                checked = [check_event(e, i) for i, e in enumerate(events)]
                await ingest(session, checked, store_env["LINEAGEQL_ARTIFACT_STORE"])
        finally:
            await db.dispose()

    anyio.run(send)
    cli = Cli(None)

    clean = Client().get_artifact_version("s3://lake/clean/orders", "1")
    tree = cli.ok("lineage", clean.id, "--depth", "3").stdout
    lines = [line.strip("│└├─ ") for line in tree.splitlines()]
    mark = "[OpenLineage: spark 1.23.0]"
    assert lines[0] == f"s3://lake/clean/orders:1 {mark}"
    assert lines[1] == f"orders_job (openlineage-{run_id}, COMPLETED) {mark}"
    assert lines[2] == "orders:1"  # the store's own version, which the Spark job read
    assert lines[3].startswith("export_orders (") and "OpenLineage" not in lines[3]

    graph = json.loads(cli.ok("lineage", clean.id, "--json").stdout)
    marks = {node["name"]: node["openlineage"] for node in graph["nodes"]}
    assert marks["export_orders"] is None and marks["orders"] is None
    assert marks["s3://lake/clean/orders"] == {
        "namespace": "s3://lake",
        "name": "clean/orders",
        "producer": SPARK,
    }
    assert marks["orders_job"]["event_count"] == 2
    assert marks["orders_job"]["last_event_type"] == "COMPLETE"

    table = rows(cli.ok("runs", "list", "--wide").stdout)
    assert table[run_id][2] == f"spark/orders_job {mark}"
    assert table[native.id][2] == "exporting"

    shown = cli.ok("runs", "show", run_id).stdout
    assert (
        f"{mark} job spark/orders_job, 2 events, last COMPLETE at 2026-11-30 10:02:00 UTC"
    ) in shown
    assert "OpenLineage" not in cli.ok("runs", "show", native.id).stdout
    listed = json.loads(cli.ok("runs", "list", "--json").stdout)
    origins = {run["id"]: run["openlineage"] for run in listed}
    assert origins[native.id] is None
    assert origins[run_id]["job"] == "orders_job"
    steps = json.loads(cli.ok("runs", "show", run_id, "--json").stdout)["steps"]
    assert [s["openlineage"]["producer"] for s in steps] == [SPARK]
