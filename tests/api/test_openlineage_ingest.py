"""`POST /api/v1/lineage` on a real `lineageql serve`: OpenLineage events from other tools."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest

from api.auth import add_token
from api.errors import BadRequest
from api.storage.openlineage import check_event
from sdk.client.client import Client
from tests.api.test_auth import base_env
from tests.conftest import InProcessServer, LiveServer
from tests.sdk.test_openlineage import CLIENT_MISSING, ol_env, ol_pipeline  # noqa: F401

PRODUCER = "https://example.org/producer/1.0"
SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


@dataclass
class Receiver:
    live: LiveServer
    read: str
    write: str
    store: Path  # its artifact store

    @property
    def lineage_url(self) -> str:
        return f"http://127.0.0.1:{self.live.port}/api/v1/lineage"

    def post(self, body: Any, token: str | None = "write", **headers: str) -> httpx.Response:
        if token is not None:
            headers["Authorization"] = f"Bearer {getattr(self, token)}"
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
        return httpx.post(self.lineage_url, content=data, headers=headers, timeout=30)

    def client(self, monkeypatch: pytest.MonkeyPatch) -> Client:
        monkeypatch.setenv("LINEAGEQL_URL", self.live.url)
        monkeypatch.setenv("LINEAGEQL_TOKEN", self.read)
        return Client()


@pytest.fixture
def receiver(tmp_path: Path, sqlite_template: Path) -> Iterator[Receiver]:
    """A server with its own store (a folder of its own), a read and a write token."""
    root = tmp_path / "receiver"
    home = root / "home"
    root.mkdir()
    shutil.copyfile(sqlite_template, root / "metadata.db")
    read, _ = add_token(home / "tokens.json", "read", "reader")
    write, _ = add_token(home / "tokens.json", "write", "writer")
    env = base_env(home, root / "metadata.db", root / "store")
    live = LiveServer(env, root / "server.log", args=["--host", "0.0.0.0"])
    try:
        yield Receiver(live, read, write, root / "store")
    finally:
        live.stop()


def facet(kind: str, **fields: Any) -> dict[str, Any]:
    if kind == "ErrorMessageRunFacet":
        fields.setdefault("programmingLanguage", "python")
    url = f"https://openlineage.io/spec/facets/1-0-0/{kind}.json#/$defs/{kind}"
    return {"_producer": PRODUCER, "_schemaURL": url, **fields}


def event(
    event_type: str,
    run_id: str,
    *,
    job: str = "etl.clean",
    inputs: tuple[str, ...] = (),
    outputs: tuple[str, ...] = (),
    time: str = "2026-11-30T10:00:00Z",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "eventType": event_type,
        "eventTime": time,
        "run": {"runId": run_id, "facets": extra.pop("run_facets", {})},
        "job": {"namespace": "airflow", "name": job},
        "inputs": [{"namespace": "s3://lake", "name": name} for name in inputs],
        "outputs": [{"namespace": "s3://lake", "name": name} for name in outputs],
        "producer": PRODUCER,
        "schemaURL": SCHEMA,
        **extra,
    }


def test_a_job_run_becomes_a_pipeline_run_with_lineage(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = str(uuid.uuid4())
    start = event("START", run_id, inputs=("raw/events",))
    complete = event(
        "COMPLETE",
        run_id,
        inputs=("raw/events",),
        outputs=("clean/events",),
        time="2026-11-30T10:05:00Z",
    )
    answer = receiver.post(start)
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"events": [{"runId": run_id, "stored": True, "applied": True}]}
    gzipped = gzip.compress(json.dumps([complete]).encode())
    answer = receiver.post(gzipped, **{"Content-Encoding": "gzip"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["events"][0]["applied"] is True

    client = receiver.client(monkeypatch)
    run = client.get_pipeline_run(run_id)
    assert (run.pipeline_name, run.status) == ("airflow/etl.clean", "COMPLETED")
    assert run.started_at is not None and run.started_at.isoformat().startswith("2026-11-30T10:00")
    assert run.ended_at is not None and run.ended_at.isoformat().startswith("2026-11-30T10:05")
    step = run.steps["etl.clean"]
    assert step.status == "COMPLETED"
    [consumed] = step.inputs.values()
    [produced] = step.outputs.values()
    assert (consumed.name, consumed.source) == ("s3://lake/raw/events", "EXTERNAL")
    assert (produced.name, produced.version, produced.source) == (
        "s3://lake/clean/events",
        "1",
        "EXTERNAL",
    )
    assert produced.uri == "s3://lake/clean/events"
    assert produced.producer_id == step.id

    # The same COMPLETE again, and a late START: stored once, nothing changes.
    again = receiver.post([complete, event("START", run_id, time="2026-11-30T10:06:00Z")])
    assert again.status_code == 201, again.text
    assert [e["stored"] for e in again.json()["events"]] == [False, True]
    assert [v.version for v in client.get_artifact("s3://lake/clean/events").versions] == ["1"]
    assert client.get_pipeline_run(run_id).status == "COMPLETED"


def test_out_of_order_fail_and_a_second_run(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    failed, second = str(uuid.uuid4()), str(uuid.uuid4())
    facets = {"errorMessage": facet("ErrorMessageRunFacet", message="disk full")}
    answer = receiver.post(
        [
            event("FAIL", failed, outputs=("clean/events",), run_facets=facets),
            event("START", failed),  # arrives after the FAIL
            event("COMPLETE", second, outputs=("clean/events",)),
        ]
    )
    assert answer.status_code == 201, answer.text
    client = receiver.client(monkeypatch)
    run = client.get_pipeline_run(failed)
    assert (run.status, run.error) == ("FAILED", "disk full")
    assert run.steps["etl.clean"].outputs == {}  # a failed run registers nothing
    assert client.get_pipeline_run(second).status == "COMPLETED"
    versions = client.get_artifact("s3://lake/clean/events").versions
    assert [v.version for v in versions] == ["1"]

    # A run id already used by another job: stored as sent, not applied, and said why.
    clash = receiver.post(event("START", second, job="other.job"))
    assert clash.status_code == 201, clash.text
    [result] = clash.json()["events"]
    assert (result["stored"], result["applied"]) == (True, False)
    assert "belongs to 'airflow/etl.clean'" in result["error"]
    assert client.get_pipeline_run(second).status == "COMPLETED"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"eventTime": "2026-11-30T10:00:00Z"}, "eventType"),
        (event("FINISHED", str(uuid.uuid4())), "eventType must be one of"),
        (event("START", "not-a-uuid"), "run.runId must be a UUID"),
        (event("START", str(uuid.uuid4()), time="yesterday"), "eventTime"),
        ({**event("START", str(uuid.uuid4())), "job": {"name": "x"}}, "job.namespace"),
        ({**event("START", str(uuid.uuid4())), "producer": ""}, "producer"),
        (
            {k: v for k, v in event("START", str(uuid.uuid4())).items() if k != "schemaURL"},
            "schemaURL",
        ),
        (
            {**event("START", str(uuid.uuid4())), "schemaURL": "https://example.org/event"},
            "schemaURL must name the OpenLineage spec version",
        ),
        (
            {
                **event("START", str(uuid.uuid4())),
                "schemaURL": "https://openlineage.io/spec/3-0-0/OpenLineage.json",
            },
            "OpenLineage spec 3-0-0 is not supported",
        ),
        (
            event("START", str(uuid.uuid4()), run_facets={"nominalTime": {"start": "x"}}),
            "not a valid OpenLineage 2-0-2 RunEvent: run.facets.nominalTime: "
            "'_producer' is a required property",
        ),
        (
            event(
                "START",
                str(uuid.uuid4()),
                run_facets={"parent": facet("ParentRunFacet", run={"runId": "7"}, job={})},
            ),
            "run.facets.parent.",
        ),
        (
            {
                **event("START", str(uuid.uuid4())),
                "outputs": [
                    {
                        "namespace": "s3://lake",
                        "name": "t",
                        "facets": {"schema": facet("SchemaDatasetFacet", fields=[{"type": "x"}])},
                    }
                ],
            },
            "outputs[0].facets.schema.fields[0]: 'name' is a required property",
        ),
        ([], "no events"),
        ([event("START", str(uuid.uuid4())), 7], "event 1"),
    ],
)
def test_a_bad_event_is_refused_with_the_reason(
    receiver: Receiver, body: Any, reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = receiver.post(body)
    assert answer.status_code == 400, answer.text
    [error] = answer.json()["errors"]
    assert reason in error["message"]
    assert receiver.client(monkeypatch).list_pipeline_runs() == []


def test_bad_bodies_are_400(receiver: Receiver) -> None:
    assert receiver.post(b"{not json").status_code == 400
    assert receiver.post(b"not gzip", **{"Content-Encoding": "gzip"}).status_code == 400
    assert receiver.post(b"{}", **{"Content-Encoding": "br"}).status_code == 400


def test_ingest_needs_a_write_token(receiver: Receiver) -> None:
    body = event("START", str(uuid.uuid4()))
    assert receiver.post(body, token=None).status_code == 401
    refused = receiver.post(body, token="read")
    assert refused.status_code == 403
    assert "write" in refused.json()["errors"][0]["message"]
    assert receiver.post(body).status_code == 201


def parent_facet(run_id: str, job: str = "etl") -> dict[str, Any]:
    return {
        "parent": {
            "_producer": PRODUCER,
            "_schemaURL": "https://openlineage.io/spec/facets/1-1-0/ParentRunFacet.json",
            "run": {"runId": run_id},
            "job": {"namespace": "airflow", "name": job},
        }
    }


def test_child_jobs_are_steps_of_the_parent_run_in_any_order(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    dag, extract, load = (str(uuid.uuid4()) for _ in range(3))
    child = parent_facet(dag)
    events = [
        # The task's COMPLETE first, then its START, then the DAG's START.
        event(
            "COMPLETE",
            extract,
            job="etl.extract",
            inputs=("raw/events",),
            outputs=("stage/events",),
            time="2026-11-30T10:04:00Z",
            run_facets=child,
        ),
        event(
            "START",
            extract,
            job="etl.extract",
            inputs=("raw/events",),
            time="2026-11-30T10:01:00Z",
            run_facets=child,
        ),
        event("START", dag, job="etl", time="2026-11-30T10:00:00Z"),
        # A START that no COMPLETE follows.
        event(
            "START",
            load,
            job="etl.load",
            inputs=("stage/events",),
            time="2026-11-30T10:05:00Z",
            run_facets=child,
        ),
        event("COMPLETE", dag, job="etl", time="2026-11-30T10:09:00Z"),
    ]
    answer = receiver.post(events)
    assert answer.status_code == 201, answer.text
    assert [(e["stored"], e["applied"]) for e in answer.json()["events"]] == [(True, True)] * 5

    # Repeats: the same COMPLETE (stored once), one re-sent with another time, a late FAIL.
    late = [
        events[0],
        {**events[0], "eventTime": "2026-11-30T10:04:30Z"},
        event("FAIL", extract, job="etl.extract", time="2026-11-30T10:06:00Z", run_facets=child),
    ]
    answer = receiver.post(late)
    assert answer.status_code == 201, answer.text
    results = answer.json()["events"]
    assert [(e["stored"], e["applied"]) for e in results] == [
        (False, False),
        (True, True),
        (True, True),
    ]
    assert "finished COMPLETED already" in results[1]["note"]
    assert "this FAIL changes nothing" in results[2]["note"]

    client = receiver.client(monkeypatch)
    assert [p.name for p in client.list_pipelines()] == ["airflow/etl"]  # no pipeline per task
    run = client.get_pipeline_run(dag)
    assert run.status == "COMPLETED"
    assert run.started_at.isoformat().startswith("2026-11-30T10:00")
    assert set(run.steps) == {"extract", "load"}
    extracted = run.steps["extract"]
    assert (extracted.id, extracted.status) == (extract, "COMPLETED")
    assert extracted.started_at.isoformat().startswith("2026-11-30T10:01")  # the START's time
    assert extracted.ended_at is not None
    assert extracted.ended_at.isoformat().startswith("2026-11-30T10:04:00")
    [written] = extracted.outputs.values()
    assert (written.name, written.version) == ("s3://lake/stage/events", "1")
    loading = run.steps["load"]
    assert (loading.id, loading.status, loading.ended_at) == (load, "RUNNING", None)
    [read] = loading.inputs.values()
    assert read.id == written.id  # the lineage from one task to the next
    assert [v.version for v in client.get_artifact("s3://lake/stage/events").versions] == ["1"]


def test_a_child_before_its_parent_and_a_retried_task(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    dag, first, retry = (str(uuid.uuid4()) for _ in range(3))
    child = parent_facet(dag)
    failed = {**child, "errorMessage": facet("ErrorMessageRunFacet", message="timeout")}
    answer = receiver.post(
        [
            event("FAIL", first, job="etl.load", run_facets=failed),
            event("COMPLETE", retry, job="etl.load", outputs=("out",), run_facets=child),
        ]
    )
    assert answer.status_code == 201, answer.text
    client = receiver.client(monkeypatch)
    run = client.get_pipeline_run(dag)  # made by its children's events, not finished yet
    assert (run.pipeline_name, run.status) == ("airflow/etl", "RUNNING")
    assert {name: s.status for name, s in run.steps.items()} == {
        "load": "FAILED",
        "load#2": "COMPLETED",
    }
    assert run.steps["load"].error == "timeout"
    # The parent's own events find the run its children made.
    answer = receiver.post(event("COMPLETE", dag, job="etl"))
    assert answer.json()["events"][0]["applied"] is True
    assert client.get_pipeline_run(dag).status == "COMPLETED"


def test_a_dataset_at_a_stored_versions_location_joins_it(
    store_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pipeline writes an artifact; an external job reads that location and writes a table;
    the lineage downstream of the artifact reaches the table."""
    from sdk import pipeline, step

    @step
    def features() -> Annotated[list[int], "features"]:
        return [1, 2, 3]

    @pipeline(name="native_features")
    def native() -> None:
        features()

    made = native().steps["features"].outputs["features"]
    location = made.uri.rstrip("/")
    server = InProcessServer({**os.environ, **store_env})
    try:
        run_id = str(uuid.uuid4())
        body = [
            {
                **event("COMPLETE", run_id, job="score", outputs=("scores",)),
                "inputs": [{"namespace": "file://another-host", "name": location}],
            }
        ]
        answer = server.http.post("/api/v1/lineage", json=body)
        assert answer.status_code == 201, answer.text
        assert answer.json()["events"][0]["applied"] is True
        # An event naming one of the store's own step runs (its own events, sent back to it)
        # is stored, and changes nothing.
        own = event(
            "START",
            made.producer_id,
            job="native_features.features",
            inputs=("elsewhere",),
            run_facets=parent_facet(str(uuid.uuid4()), "native_features"),
        )
        answer = server.http.post("/api/v1/lineage", json=own)
        [result] = answer.json()["events"]
        assert (result["stored"], result["applied"]) == (True, False)
        assert "a step run of this store's own pipelines" in result["error"]
    finally:
        server.stop()
    client = Client()
    assert client.get_step_run(made.producer_id).inputs == {}
    step_run = client.get_pipeline_run(run_id).steps["score"]
    [read] = step_run.inputs.values()
    assert (read.id, read.name, read.source) == (made.id, "features", "STEP_OUTPUT")
    downstream = client.graphql(
        """query($id: ID!) { lineage(id: $id, direction: DOWNSTREAM, depth: 2) {
            nodes { __typename ... on ArtifactVersion { name version } ... on StepRun { name } }
        } }""",
        {"id": made.id},
    )["lineage"]["nodes"]
    names = {(n["__typename"], n["name"]) for n in downstream}
    assert ("StepRun", "score") in names
    assert ("ArtifactVersion", "s3://lake/scores") in names


def dataset_event(namespace: str, name: str, *, output: bool = False) -> dict[str, Any]:
    body = event("COMPLETE", str(uuid.uuid4()))
    body["outputs" if output else "inputs"] = [{"namespace": namespace, "name": name}]
    return body


@pytest.mark.parametrize(
    ("namespace", "name", "reason"),
    [
        ("", "orders", "it is empty"),
        ("my lake", "orders", "it holds whitespace"),
        ("s3://my bucket", "orders", "it holds whitespace"),
        ("//bucket", "orders", "it does not start with a URI scheme ('//bucket' is none)"),
        ("3s://bucket", "orders", "it does not start with a URI scheme ('3s' is none)"),
        ("lake_1", "orders", "it does not start with a URI scheme ('lake_1' is none)"),
        ("s3://", "orders", "'//' is followed by no authority"),
        ("s3://lake", " ", "an OpenLineage dataset name is the path"),
        ("s3://lake", "raw/\norders", "an OpenLineage dataset name is the path"),
    ],
)
def test_a_dataset_of_no_openlineage_form_is_refused_naming_it_and_the_rule(
    namespace: str, name: str, reason: str
) -> None:
    with pytest.raises(BadRequest) as refused:
        check_event(dataset_event(namespace, name, output=True), 3)
    message = refused.value.message
    assert message.startswith(f"event 3: outputs[0] (namespace {namespace!r}, name {name!r}): ")
    assert reason in message
    if "dataset name" in reason:
        assert message.endswith("not empty, no control characters")
    else:
        assert "namespace is scheme:[//authority]" in message


def test_every_namespace_form_of_the_naming_spec_is_accepted(receiver: Receiver) -> None:
    """Namespaces as the spec's naming conventions and real producers write them, and names
    with spaces: stored and applied. A bad one refuses the request with 400 and the rule."""
    forms = [
        ("s3://lake", "raw/orders"),
        ("s3a://lake", "raw/orders"),
        ("gs://bucket", "/path/part-0.parquet"),
        ("postgres://db.example.org:5432", "shop.public.orders"),
        ("snowflake://org-account", "DB.SCHEMA.TABLE"),
        ("bigquery", "project.dataset.table"),
        ("file", "/data/my orders.csv"),
        ("file://", "/data/orders.csv"),
        ("file://build-host", "/data/orders.csv"),
        ("hdfs://namenode:8020", "/warehouse/orders"),
        ("abfss://container@account.dfs.core.windows.net", "raw/orders"),
        ("arn:aws:glue:eu-west-1:123456789012", "table/shop/orders"),
        ("kafka://broker-1:9092", "orders-topic"),
        ("dbfs", "/mnt/orders"),
    ]
    body = event("COMPLETE", str(uuid.uuid4()))
    body["inputs"] = [{"namespace": ns, "name": name} for ns, name in forms]
    answer = receiver.post(body)
    assert answer.status_code == 201, answer.text
    assert answer.json()["events"][0]["applied"] is True

    refused = receiver.post([event("START", str(uuid.uuid4())), dataset_event("my lake", "t")])
    assert refused.status_code == 400
    [error] = refused.json()["errors"]
    assert error["message"].startswith(
        "event 1: inputs[0] (namespace 'my lake', name 't'): it holds whitespace"
    )
    assert "scheme:[//authority]" in error["message"]
