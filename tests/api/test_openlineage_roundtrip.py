"""OpenLineage between stores and tools, end to end, through the official client's HTTP transport
to a real `lineageql serve` (`receiver`, a store of its own):

- round trip: an embedded LineageQL store runs a pipeline and emits its events to the server;
  the server's lineage of the final artifact is the emitting store's (same nodes, same edges,
  by name and version);
- producers: events shaped like Spark's (a job reading two tables and writing one, with
  schema and column-lineage facets) and dbt's (a run of three models), then a LineageQL
  pipeline on the server trains a model on what dbt wrote, and one GraphQL query walks from
  the model back to a Spark input table.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Annotated, Any

import pytest

from sdk import Client, ExternalArtifact, pipeline, register_artifact, step
from tests.api.test_openlineage_ingest import Receiver, receiver  # noqa: F401
from tests.sdk.test_openlineage import CLIENT_MISSING, ol_env  # noqa: F401

pytestmark = pytest.mark.skipif(CLIENT_MISSING, reason="the OpenLineage client is not installed")

LINEAGE = """
query($id: ID!) {
  lineage(id: $id, direction: UPSTREAM, depth: 10, first: 500) {
    nodes {
      __typename
      ... on ArtifactVersion { id name version }
      ... on StepRun { id name }
    }
    edges { source target kind }
    truncated
  }
}
"""


@step
def raw_numbers() -> Annotated[list[int], "rt_raw"]:
    return [3, 1, 2]


@step
def ordered(numbers: list[int]) -> Annotated[list[int], "rt_sorted"]:
    return sorted(numbers)


@step
def scaled(numbers: list[int], factor: int) -> Annotated[list[int], "rt_scaled"]:
    return [n * factor for n in numbers]


@step
def report(ordered: list[int], scaled: list[int]) -> Annotated[dict[str, Any], "rt_report"]:
    return {"ordered": ordered, "scaled": scaled}


@pipeline(name="rt_pipeline")
def rt_pipeline() -> None:
    numbers = raw_numbers()
    report(ordered(numbers), scaled(numbers, factor=10))


def shape(answer: dict[str, Any]) -> tuple[set[tuple[str, ...]], set[tuple[str, ...]]]:
    """A lineage graph's nodes and edges by name (and version), not by id."""
    graph = answer["lineage"]
    assert graph["truncated"] is False
    label = {}
    for node in graph["nodes"]:
        if node["__typename"] == "ArtifactVersion":
            label[node["id"]] = ("ArtifactVersion", node["name"], node["version"])
        else:
            label[node["id"]] = ("StepRun", node["name"])
    edges = {(e["kind"], *label[e["source"]], "->", *label[e["target"]]) for e in graph["edges"]}
    return set(label.values()), edges


def sizes(answer: dict[str, Any]) -> tuple[int, int]:
    """Nodes and edges by id (upstream of a version: the runs that made it, not the cached ones)."""
    return len(answer["lineage"]["nodes"]), len(answer["lineage"]["edges"])


@pytest.fixture
def server_client(
    receiver: Receiver,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Client]:
    """A client of the receiving server with the write token, whose SDK writes to the server's
    artifact store (the folder beside it: both run on this machine)."""
    monkeypatch.setenv("LINEAGEQL_URL", receiver.live.url)
    monkeypatch.setenv("LINEAGEQL_TOKEN", receiver.write)
    monkeypatch.setenv("LINEAGEQL_ARTIFACT_STORE", str(receiver.store))
    monkeypatch.delenv("LINEAGEQL_DATABASE_URL", raising=False)
    client = Client()
    yield client
    client.close()


def test_round_trip_lineage_matches_the_emitting_store(
    store_env: dict[str, str],
    ol_env: None,  # noqa: F811
    receiver: Receiver,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENLINEAGE_URL", f"http://127.0.0.1:{receiver.live.port}")
    monkeypatch.setenv("OPENLINEAGE_API_KEY", receiver.write)
    run = rt_pipeline()  # embedded, in store_env's store: store A
    rerun = rt_pipeline()  # every step cached: its events name the same versions
    assert {s.status for s in rerun.steps.values()} == {"CACHED"}
    final = run.steps["report"].outputs["rt_report"]
    here = Client()
    answer = here.graphql(LINEAGE, {"id": final.id})
    emitted, emitted_sizes = shape(answer), sizes(answer)
    here.close()

    there = receiver.client(monkeypatch)
    received = there.get_artifact_version("rt_report", "1")
    assert received.source == "EXTERNAL"
    assert received.uri == f"file://{socket.gethostname()}{final.uri.rstrip('/')}"
    nodes, edges = shape(there.graphql(LINEAGE, {"id": received.id}))
    assert nodes == emitted[0]
    assert edges == emitted[1]
    # 4 versions and 4 step names (a cached step run has its original's name); 4 writes and
    # 4 reads by name, as many by id on each side.
    assert (len(nodes), len(edges)) == (8, 8)
    assert sizes(there.graphql(LINEAGE, {"id": received.id})) == emitted_sizes == (8, 8)
    assert [v.version for v in there.get_artifact("rt_report").versions] == ["1"]
    assert there.get_pipeline_run(rerun.id).status == "COMPLETED"
    # The pipeline run is one run there too, its steps named as here.
    received_run = there.get_pipeline_run(run.id)
    assert received_run.pipeline_name == "tests/rt_pipeline"
    assert received_run.status == "COMPLETED"
    assert set(received_run.steps) == set(run.steps)
    assert {s.id for s in received_run.steps.values()} == {s.id for s in run.steps.values()}


RUN_EVENTS = """
query($id: ID!) {
  pipelineRun(id: $id) {
    openlineage { eventCount lastEventType }
    steps { name openlineage { eventCount } }
  }
}
"""


def stored_events(receiver: Receiver) -> tuple[int, int]:  # noqa: F811
    """(events stored, events applied) in the receiving server's database."""
    with closing(sqlite3.connect(receiver.store.parent / "metadata.db")) as db:
        row = db.execute("SELECT count(*), count(applied_at) FROM openlineage_events").fetchone()
    return int(row[0]), int(row[1])


def test_every_event_the_store_emits_is_stored_and_applied_once(
    store_env: dict[str, str],
    ol_env: None,  # noqa: F811
    receiver: Receiver,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The round trip's counts: the emitting store sends each event to the server (the official
    client's http transport) and to a file (its file transport, both in one composite transport
    of an openlineage.yml); the server stores and applies each once, and says so per run."""
    sent = tmp_path / "sent.jsonl"
    config = tmp_path / "openlineage.yml"
    config.write_text(
        json.dumps(
            {
                "transport": {
                    "type": "composite",
                    "transports": {
                        "server": {
                            "type": "http",
                            "url": f"http://127.0.0.1:{receiver.live.port}",
                            "endpoint": "api/v1/lineage",
                            "auth": {"type": "api_key", "apiKey": receiver.write},
                        },
                        "file": {"type": "file", "log_file_path": str(sent), "append": True},
                    },
                }
            }
        )
    )
    monkeypatch.setenv("OPENLINEAGE_CONFIG", str(config))
    runs = [rt_pipeline(), rt_pipeline()]  # the second: every step CACHED
    emitted = [json.loads(line) for line in sent.read_text().splitlines()]
    # Per run: the pipeline run's START and COMPLETE, each of its 4 steps' START and COMPLETE.
    assert len(emitted) == len(runs) * (1 + 4) * 2 == 20
    assert stored_events(receiver) == (20, 20)

    there = receiver.client(monkeypatch)
    for run in runs:
        answer = there.graphql(RUN_EVENTS, {"id": run.id})["pipelineRun"]
        assert answer["openlineage"] == {"eventCount": 2, "lastEventType": "COMPLETE"}
        assert [s["openlineage"]["eventCount"] for s in answer["steps"]] == [2, 2, 2, 2]

    # The same events again: each refused as a repeat, nothing more stored.
    again = receiver.post(emitted)
    assert again.status_code == 201, again.text
    assert {(e["stored"], e["applied"]) for e in again.json()["events"]} == {(False, False)}
    assert stored_events(receiver) == (20, 20)


SPARK = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/integration/spark"
DBT = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/integration/dbt"


class Producer:
    """Events of one tool, built with the official client's classes and sent through its HTTP
    transport (its default retries and timeouts) to the server."""

    def __init__(self, receiver: Receiver, producer: str) -> None:  # noqa: F811
        from openlineage.client import OpenLineageClient
        from openlineage.client.transport.http import HttpConfig, HttpTransport

        config = HttpConfig.from_dict(
            {
                "url": f"http://127.0.0.1:{receiver.live.port}",
                "endpoint": "api/v1/lineage",
                "auth": {"type": "api_key", "apiKey": receiver.write},
                "compression": "gzip",
            }
        )
        self.client = OpenLineageClient(transport=HttpTransport(config))
        self.producer = producer
        self.sent = 0

    def emit(
        self,
        event_type: str,
        run_id: str,
        job: tuple[str, str],
        *,
        parent: tuple[str, str, str] | None = None,
        inputs: list[Any] | tuple[Any, ...] = (),
        outputs: list[Any] | tuple[Any, ...] = (),
        time: str,
        job_facets: dict[str, Any] | None = None,
    ) -> None:
        from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
        from openlineage.client.facet_v2 import parent_run

        facets: dict[str, Any] = {}
        if parent is not None:
            parent_id, namespace, name = parent
            facets["parent"] = parent_run.ParentRunFacet(
                run=parent_run.Run(runId=parent_id),
                job=parent_run.Job(namespace=namespace, name=name),
                root=parent_run.Root(
                    run=parent_run.RootRun(runId=parent_id),
                    job=parent_run.RootJob(namespace=namespace, name=name),
                ),
            )
        self.client.emit(
            RunEvent(
                eventType=RunState[event_type],
                eventTime=time,
                run=Run(runId=run_id, facets=facets),
                job=Job(namespace=job[0], name=job[1], facets=job_facets or {}),
                inputs=list(inputs),
                outputs=list(outputs),
                producer=self.producer,
            )
        )
        self.sent += 1


def columns(*fields: tuple[str, str]) -> Any:
    from openlineage.client.facet_v2 import schema_dataset

    return schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name=n, type=t) for n, t in fields]
    )


def spark_job(spark: Producer) -> None:
    """A Spark application whose one action joins two raw tables on S3 into a staging table,
    as the Spark integration reports it: the application's run, the action's run (its parent
    facet naming the application), schema facets on every dataset and a column-lineage facet
    on the output."""
    from openlineage.client.event_v2 import InputDataset, OutputDataset
    from openlineage.client.facet_v2 import column_lineage_dataset as cl
    from openlineage.client.facet_v2 import job_type_job

    app, action = str(uuid.uuid4()), str(uuid.uuid4())
    job = ("spark", "orders_etl")
    action_job = (
        "spark",
        "orders_etl.execute_insert_into_hadoop_fs_relation_command.staging_orders",
    )
    orders = InputDataset(
        "s3://lake",
        "raw/orders",
        facets={
            "schema": columns(("order_id", "long"), ("customer_id", "long"), ("amount", "double"))
        },
    )
    customers = InputDataset(
        "s3://lake",
        "raw/customers",
        facets={"schema": columns(("customer_id", "long"), ("country", "string"))},
    )

    def source(table: str, field: str) -> Any:
        return cl.InputField(namespace="s3://lake", name=f"raw/{table}", field=field)

    lineage = cl.ColumnLineageDatasetFacet(
        fields={
            "order_id": cl.Fields(inputFields=[source("orders", "order_id")]),
            "amount": cl.Fields(inputFields=[source("orders", "amount")]),
            "country": cl.Fields(
                inputFields=[source("customers", "country"), source("customers", "customer_id")]
            ),
        }
    )
    staging = OutputDataset(
        "s3://lake",
        "staging/orders_enriched",
        facets={
            "schema": columns(("order_id", "long"), ("amount", "double"), ("country", "string")),
            "columnLineage": lineage,
        },
    )
    kind = {"jobType": job_type_job.JobTypeJobFacet("BATCH", "SPARK", "APPLICATION")}
    spark.emit("START", app, job, time="2026-11-30T01:00:00Z", job_facets=kind)
    parent = (app, *job)
    read = [orders, customers]
    spark.emit("START", action, action_job, parent=parent, inputs=read, time="2026-11-30T01:00:05Z")
    spark.emit(
        "RUNNING", action, action_job, parent=parent, inputs=read, time="2026-11-30T01:01:00Z"
    )
    spark.emit(
        "COMPLETE",
        action,
        action_job,
        parent=parent,
        inputs=read,
        outputs=[staging],
        time="2026-11-30T01:02:00Z",
    )
    spark.emit("COMPLETE", app, job, time="2026-11-30T01:02:01Z")


def dbt_run(dbt: Producer, export: Path) -> str:
    """`dbt-ol run` of a duckdb project: the run's events, then per model a START and a COMPLETE
    whose parent facet names the run; the last model is materialized `external` as a Parquet
    file (`export`). Answers the run's id."""
    from openlineage.client.event_v2 import InputDataset, OutputDataset
    from openlineage.client.facet_v2 import sql_job

    run = str(uuid.uuid4())
    job = ("dbt", "dbt-run-shop")
    warehouse = "duckdb://warehouse.duckdb"
    models = [
        (
            "shop.main.stg_orders",
            InputDataset("s3://lake", "staging/orders_enriched"),
            OutputDataset(warehouse, "shop.main.stg_orders"),
        ),
        (
            "shop.main.fct_orders",
            InputDataset(warehouse, "shop.main.stg_orders"),
            OutputDataset(warehouse, "shop.main.fct_orders"),
        ),
        (
            "shop.main.customer_features",
            InputDataset(warehouse, "shop.main.fct_orders"),
            OutputDataset(
                "file",
                str(export),
                facets={"schema": columns(("country", "VARCHAR"), ("revenue", "DOUBLE"))},
            ),
        ),
    ]
    dbt.emit("START", run, job, time="2026-11-30T02:00:00Z")
    for minute, (model, source, target) in enumerate(models, start=1):
        model_run = str(uuid.uuid4())
        sql = {"sql": sql_job.SQLJobFacet(query=f"select * from {source.name}")}
        common: dict[str, Any] = {"parent": (run, *job), "inputs": [source]}
        when = f"2026-11-30T02:0{minute}"
        dbt.emit("START", model_run, ("dbt", model), time=f"{when}:00Z", job_facets=sql, **common)
        dbt.emit(
            "COMPLETE",
            model_run,
            ("dbt", model),
            outputs=[target],
            time=f"{when}:30Z",
            job_facets=sql,
            **common,
        )
    dbt.emit("COMPLETE", run, job, time="2026-11-30T02:05:00Z")
    return run


@step
def train(features: Path) -> Annotated[dict[str, float], "churn_model"]:
    return {"weight": float(len(features.read_bytes()))}


@pipeline(name="churn_training", enable_cache=False)
def churn_training() -> None:
    train(ExternalArtifact(name="customer_features"))


PATH_QUERY = """
query($from: ID!, $to: ID!) {
  lineagePath(from: $from, to: $to) {
    nodes {
      __typename
      ... on ArtifactVersion { id name version source }
      ... on StepRun { id name run { pipeline { name } } }
    }
    edges { source target kind }
  }
}
"""


def test_spark_and_dbt_events_reach_a_lineageql_model(
    ol_env: None,  # noqa: F811
    receiver: Receiver,  # noqa: F811
    server_client: Client,
) -> None:
    spark = Producer(receiver, SPARK)
    spark_job(spark)
    # dbt writes its last model into the store, where it is registered as LineageQL data;
    # dbt-ol sends the run's events after the run.
    export = receiver.store / "dbt" / "customer_features.parquet"
    export.parent.mkdir(parents=True)
    export.write_bytes(b"PAR1 not really parquet PAR1")
    features = register_artifact(str(export), "customer_features")
    dbt = Producer(receiver, DBT)
    dbt_run(dbt, export)
    assert (spark.sent, dbt.sent) == (5, 8)

    run = churn_training()
    model = run.steps["train"].outputs["churn_model"]
    raw_orders = server_client.get_artifact_version("s3://lake/raw/orders")
    answer = server_client.graphql(PATH_QUERY, {"from": raw_orders.id, "to": model.id})
    graph = answer["lineagePath"]
    names = [(n["__typename"], n["name"]) for n in graph["nodes"]]
    assert ("ArtifactVersion", "s3://lake/raw/orders") in names
    assert ("ArtifactVersion", "churn_model") in names
    assert ("ArtifactVersion", "customer_features") in names
    steps = {
        n["name"]: n["run"]["pipeline"]["name"]
        for n in graph["nodes"]
        if n["__typename"] == "StepRun"
    }
    assert steps == {
        "execute_insert_into_hadoop_fs_relation_command.staging_orders": "spark/orders_etl",
        "shop.main.stg_orders": "dbt/dbt-run-shop",
        "shop.main.fct_orders": "dbt/dbt-run-shop",
        "shop.main.customer_features": "dbt/dbt-run-shop",
        "train": "churn_training",
    }
    # The registered file joined dbt's output: one version, now produced by the dbt model.
    joined = server_client.get_artifact_version("customer_features")
    assert joined.id == features.id and joined.source == "REGISTERED"
    assert joined.producer is not None and joined.producer.name == "shop.main.customer_features"
    # The facets are kept with the versions.
    staging = server_client.get_artifact_version("s3://lake/staging/orders_enriched")
    facets = staging.metadata["openlineage"]["facets"]
    assert [f["name"] for f in facets["schema"]["fields"]] == ["order_id", "amount", "country"]
    assert set(facets["columnLineage"]["fields"]) == {"order_id", "amount", "country"}
    # Everything upstream of the model, in one query: both Spark inputs among it.
    nodes, _ = shape(server_client.graphql(LINEAGE, {"id": model.id}))
    assert {
        ("ArtifactVersion", f"s3://lake/raw/{t}", "1") for t in ("orders", "customers")
    } <= nodes
    assert len(nodes) == 12  # 7 versions, 5 step runs (the Spark action, 3 dbt models, train)


ORIGIN = """
query($id: ID!) {
  pipelineRun(id: $id) {
    status startedAt endedAt
    openlineage { producer eventCount lastEventType lastEventTime jobFacets }
    steps { name status openlineage { eventCount } outputs { artifactVersion { version } } }
  }
}
"""


def test_unfinished_late_and_repeated_events_from_the_official_client(
    ol_env: None,  # noqa: F811
    receiver: Receiver,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Sent with the official client: a Spark application that STARTs and never COMPLETEs,
    a dbt run whose COMPLETE comes before its START, and a COMPLETE sent twice."""
    from openlineage.client.event_v2 import OutputDataset

    spark, dbt = Producer(receiver, SPARK), Producer(receiver, DBT)
    unfinished, late, repeated = (str(uuid.uuid4()) for _ in range(3))
    spark.emit("START", unfinished, ("spark", "nightly_export"), time="2026-11-30T01:00:00Z")
    table = [OutputDataset("duckdb://warehouse.duckdb", "shop.main.orders")]
    job = ("dbt", "dbt-run-orders")
    dbt.emit("COMPLETE", late, job, outputs=table, time="2026-11-30T02:00:30Z")
    dbt.emit("START", late, job, time="2026-11-30T02:00:00Z")
    for _ in range(2):
        dbt.emit("COMPLETE", repeated, job, outputs=table, time="2026-11-30T03:00:00Z")
    assert (spark.sent, dbt.sent) == (1, 4)
    assert stored_events(receiver) == (4, 4)  # the repeat is stored once

    there = receiver.client(monkeypatch)
    running = there.graphql(ORIGIN, {"id": unfinished})["pipelineRun"]
    assert (running["status"], running["endedAt"]) == ("RUNNING", None)
    assert running["openlineage"]["lastEventType"] == "START"
    assert running["openlineage"]["producer"] == SPARK

    finished = there.graphql(ORIGIN, {"id": late})["pipelineRun"]
    assert finished["status"] == "COMPLETED"
    assert finished["startedAt"].startswith("2026-11-30T02:00:00")
    assert finished["endedAt"].startswith("2026-11-30T02:00:30")
    # The latest event by its time, not by arrival: the COMPLETE.
    assert (finished["openlineage"]["eventCount"], finished["openlineage"]["lastEventType"]) == (
        2,
        "COMPLETE",
    )
    assert finished["openlineage"]["lastEventTime"].startswith("2026-11-30T02:00:30")

    twice = there.graphql(ORIGIN, {"id": repeated})["pipelineRun"]
    assert twice["status"] == "COMPLETED"
    assert twice["openlineage"]["eventCount"] == 1
    [step] = twice["steps"]
    assert step["openlineage"] == {"eventCount": 1}
    assert [o["artifactVersion"]["version"] for o in step["outputs"]] == ["2"]
    versions = there.get_artifact("duckdb://warehouse.duckdb/shop.main.orders").versions
    assert [v.version for v in versions] == ["1", "2"]  # one per COMPLETE run, none for the repeat
