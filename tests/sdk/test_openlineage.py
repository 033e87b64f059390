"""OpenLineage emission: real pipelines, the official client, its file and HTTP transports."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Annotated, Any

import pytest

from sdk import ArtifactConfig, Client, pipeline, step
from tests.conftest import ROOT
from tests.net import free_port

CLIENT_MISSING = importlib.util.find_spec("openlineage") is None
pytestmark = pytest.mark.skipif(CLIENT_MISSING, reason="the OpenLineage client is not installed")


@step
def make_numbers() -> Annotated[list[int], ArtifactConfig(name="ol_numbers", tags=["ol"])]:
    return [1, 2, 3]


@step
def total(numbers: list[int]) -> Annotated[int, "ol_total"]:
    return sum(numbers)


@step
def explode(numbers: list[int]) -> int:
    raise RuntimeError("boom")


@pipeline(name="ol_pipeline")
def ol_pipeline() -> None:
    total(make_numbers())


@pipeline(name="ol_failing", enable_cache=False)
def ol_failing() -> None:
    explode(make_numbers())


@pytest.fixture
def ol_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No OpenLineage configuration but what the test sets; the variables the client adds to
    the environment itself (it aliases OPENLINEAGE_URL) are removed afterwards."""
    before = {k for k in os.environ if k.startswith("OPENLINEAGE")}
    for key in before:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path / "ol-home"))  # no ~/.openlineage/openlineage.yml
    monkeypatch.setenv("OPENLINEAGE_NAMESPACE", "tests")
    yield
    for key in [k for k in os.environ if k.startswith("OPENLINEAGE")]:
        os.environ.pop(key, None)


@pytest.fixture
def event_file(ol_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The client's file transport, configured the standard way (OPENLINEAGE__TRANSPORT__*)."""
    path = tmp_path / "events.jsonl"
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "file")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", str(path))
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__APPEND", "true")
    return path


def read_events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def kinds(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["job"]["name"], e["eventType"]) for e in events]


EXPECTED = [
    ("ol_pipeline", "START"),
    ("ol_pipeline.make_numbers", "START"),
    ("ol_pipeline.make_numbers", "COMPLETE"),
    ("ol_pipeline.total", "START"),
    ("ol_pipeline.total", "COMPLETE"),
    ("ol_pipeline", "COMPLETE"),
]


def test_file_transport_gets_start_and_complete_per_run_and_step(
    lineageql: str, event_file: Path
) -> None:
    run = ol_pipeline()
    events = read_events(event_file)
    assert kinds(events) == EXPECTED
    assert all(e["job"]["namespace"] == "tests" for e in events)
    assert all(e["producer"].startswith("https://") and e["schemaURL"] for e in events)
    pipeline_events = [e for e in events if e["job"]["name"] == "ol_pipeline"]
    assert {e["run"]["runId"] for e in pipeline_events} == {run.id}
    for name in ("make_numbers", "total"):
        step_events = [e for e in events if e["job"]["name"] == f"ol_pipeline.{name}"]
        assert {e["run"]["runId"] for e in step_events} == {run.steps[name].id}
        for event in step_events:
            parent = event["run"]["facets"]["parent"]
            assert parent["run"]["runId"] == run.id
            assert (parent["job"]["namespace"], parent["job"]["name"]) == ("tests", "ol_pipeline")
            assert event["run"]["facets"]["lineageql"]["step"] == name

    numbers = run.steps["make_numbers"].outputs["ol_numbers"]
    produced = events[2]["outputs"]
    assert [(d["namespace"], d["name"]) for d in produced] == [
        (f"file://{socket.gethostname()}", numbers.uri.rstrip("/"))
    ]
    facet = produced[0]["facets"]["lineageql"]
    assert facet["artifactName"] == "ol_numbers"
    assert facet["version"] == numbers.version == "1"
    assert facet["artifactVersionId"] == numbers.id
    assert facet["tags"] == ["ol"]
    assert facet["materializer"] == numbers.materializer
    assert facet["contentHash"] == numbers.content_hash
    assert facet["cacheStatus"] == "EXECUTED"
    assert events[1]["outputs"] == []  # START names no outputs yet
    consumed = events[3]["inputs"]  # total's START reads what make_numbers wrote
    assert [(d["name"], d["facets"]["lineageql"]["artifactName"]) for d in consumed] == [
        (numbers.uri.rstrip("/"), "ol_numbers")
    ]
    assert events[4]["outputs"][0]["facets"]["lineageql"]["artifactName"] == "ol_total"

    rerun = ol_pipeline()  # every step cached
    again = read_events(event_file)[len(events) :]
    assert kinds(again) == EXPECTED
    assert {s.status for s in rerun.steps.values()} == {"CACHED"}
    cached_complete = again[2]
    cache = cached_complete["run"]["facets"]["lineageql"]["cache"]
    assert cache["status"] == "CACHED"
    assert cache["reusedStepRunId"] == run.steps["make_numbers"].id
    assert cache["reusedPipelineRunName"] == run.name
    assert cached_complete["run"]["runId"] == rerun.steps["make_numbers"].id
    reused = cached_complete["outputs"][0]
    assert reused["name"] == numbers.uri.rstrip("/")
    assert reused["facets"]["lineageql"]["cacheStatus"] == "CACHED"
    assert again[0]["run"]["runId"] == rerun.id != run.id


def test_a_failed_step_sends_fail_with_the_error(
    store_env: dict[str, str], event_file: Path
) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        ol_failing()
    events = read_events(event_file)
    assert kinds(events) == [
        ("ol_failing", "START"),
        ("ol_failing.make_numbers", "START"),
        ("ol_failing.make_numbers", "COMPLETE"),
        ("ol_failing.explode", "START"),
        ("ol_failing.explode", "FAIL"),
        ("ol_failing", "FAIL"),
    ]
    for failed in events[4:]:
        error = failed["run"]["facets"]["errorMessage"]
        assert error["message"] == "RuntimeError: boom"
        assert error["programmingLanguage"] == "python"
        assert "boom" in error["stackTrace"]
    assert events[4]["outputs"] == []
    assert [d["facets"]["lineageql"]["artifactName"] for d in events[4]["inputs"]] == ["ol_numbers"]
    run = Client().get_pipeline("ol_failing").last_run
    assert events[5]["run"]["runId"] == run.id


def test_off_unless_configured_and_the_client_is_not_imported(
    store_env: dict[str, str], ol_env: None, tmp_path: Path
) -> None:
    code = (
        "import sys\n"
        "from tests.sdk.test_openlineage import ol_pipeline\n"
        "ol_pipeline()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'openlineage'))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,  # no openlineage.yml here
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


class Receiver:
    """A loopback OpenLineage endpoint answering `status`, or never answering (`hang`)."""

    def __init__(self, status: int = 200, hang: bool = False) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.bodies.append({"path": self.path, "event": json.loads(body)})
                if hang:
                    receiver.release.wait(30)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[Receiver]:
    server = Receiver(*getattr(request, "param", (200, False)))
    yield server
    server.stop()


def test_openlineage_url_posts_every_event(
    lineageql: str, ol_env: None, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENLINEAGE_URL", receiver.url)
    run = ol_pipeline()
    assert {b["path"] for b in receiver.bodies} == {"/api/v1/lineage"}
    assert kinds([b["event"] for b in receiver.bodies]) == EXPECTED
    assert receiver.bodies[0]["event"]["run"]["runId"] == run.id


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "lineageql.openlineage" and r.levelno >= logging.WARNING
    ]


@pytest.mark.parametrize("receiver", [(500, False)], indirect=True)
def test_a_receiver_answering_500_never_fails_the_pipeline(
    store_env: dict[str, str],
    ol_env: None,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("OPENLINEAGE_URL", receiver.url)
    caplog.set_level(logging.WARNING, "lineageql.openlineage")
    run = ol_pipeline()
    assert run.status == "COMPLETED"
    assert receiver.bodies  # it was asked
    warnings = _warnings(caplog)
    assert len(warnings) == 1, warnings  # once per run
    assert run.id in warnings[0] and "500" in warnings[0]


def test_an_unreachable_receiver_never_fails_the_pipeline(
    store_env: dict[str, str],
    ol_env: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("OPENLINEAGE_URL", f"http://127.0.0.1:{free_port()}")
    caplog.set_level(logging.WARNING, "lineageql.openlineage")
    clock = time.monotonic()
    run = ol_pipeline()
    assert run.status == "COMPLETED"
    assert time.monotonic() - clock < 15
    warnings = _warnings(caplog)
    assert len(warnings) == 1, warnings
    assert "not delivered" in warnings[0]


@pytest.mark.parametrize("receiver", [(200, True)], indirect=True)
def test_a_hanging_receiver_delays_the_pipeline_a_bounded_time(
    lineageql: str,
    ol_env: None,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("OPENLINEAGE_URL", receiver.url)
    monkeypatch.setenv("LINEAGEQL_OPENLINEAGE_TIMEOUT", "1")
    caplog.set_level(logging.WARNING, "lineageql.openlineage")
    clock = time.monotonic()
    run = ol_pipeline()
    elapsed = time.monotonic() - clock
    assert run.status == "COMPLETED"
    assert elapsed < 10, elapsed  # the receiver never answers
    assert receiver.bodies
    assert any("not all delivered within 1.0s" in w for w in _warnings(caplog))


def test_an_s3_store_names_datasets_by_bucket_and_key(
    store_env: dict[str, str],
    s3_store_uri: str,
    event_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LINEAGEQL_ARTIFACT_STORE", s3_store_uri)
    run = ol_pipeline()
    numbers = run.steps["make_numbers"].outputs["ol_numbers"]
    assert numbers.uri.startswith(s3_store_uri)
    [output] = read_events(event_file)[2]["outputs"]
    bucket, _, key = s3_store_uri.removeprefix("s3://").partition("/")
    assert output["namespace"] == f"s3://{bucket}"
    assert output["name"] == numbers.uri.removeprefix(f"s3://{bucket}/").rstrip("/")
    assert output["name"].startswith(f"{key}/make_numbers/ol_numbers/")


@step
def interrupted(numbers: list[int]) -> int:
    raise KeyboardInterrupt


@pipeline(name="ol_interrupted", enable_cache=False)
def ol_interrupted() -> None:
    interrupted(make_numbers())


def test_an_interrupted_run_sends_abort(store_env: dict[str, str], event_file: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        ol_interrupted()
    events = read_events(event_file)
    assert kinds(events)[-2:] == [
        ("ol_interrupted.interrupted", "ABORT"),
        ("ol_interrupted", "ABORT"),
    ]
    assert events[-1]["run"]["facets"]["errorMessage"]["message"] == "KeyboardInterrupt"


def test_save_and_register_send_one_event_with_the_schema_of_a_dataframe(
    lineageql: str, event_file: Path
) -> None:
    import pandas as pd

    from sdk import register_artifact, save_artifact

    frame = pd.DataFrame({"user": ["a", "b"], "score": [0.5, 0.7], "n": [1, 2]})
    saved = save_artifact(frame, "ol_frame", tags=["ol"])
    folder = Path(Client().store.path(saved.uri)).parent / "registered"
    folder.mkdir()
    (folder / "data.txt").write_text("x")
    registered = register_artifact(str(folder), "ol_registered")
    events = read_events(event_file)
    assert kinds(events) == [("lineageql.save", "COMPLETE"), ("lineageql.register", "COMPLETE")]
    assert events[0]["run"]["runId"] != events[1]["run"]["runId"]
    assert events[0]["run"]["facets"]["lineageql"]["kind"] == "save"
    [output] = events[0]["outputs"]
    assert output["name"] == saved.uri.rstrip("/")
    assert output["facets"]["lineageql"]["artifactName"] == "ol_frame"
    assert output["facets"]["lineageql"]["source"] == "SAVED"
    fields = output["facets"]["schema"]["fields"]
    assert [(f["name"], f["type"]) for f in fields] == [
        ("user", str(frame.dtypes["user"])),  # object or str, as the pandas version has it
        ("score", "float64"),
        ("n", "int64"),
    ]
    [output] = events[1]["outputs"]
    assert output["facets"]["lineageql"]["artifactName"] == "ol_registered"
    assert output["facets"]["lineageql"]["source"] == "REGISTERED"
    assert output["facets"]["lineageql"]["version"] == registered.version
    assert "schema" not in output["facets"]


def test_the_lineageql_facets_validate_against_the_schema_shipped_in_the_package(
    store_env: dict[str, str], event_file: Path
) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from referencing import Registry, Resource

    from sdk.pipeline.openlineage import FACET_SCHEMA, facet_schema

    schema = facet_schema()
    assert schema["$id"] == FACET_SCHEMA
    registry = Registry().with_resource(FACET_SCHEMA, Resource.from_contents(schema))
    ol_pipeline()
    ol_pipeline()  # cached: the run facet's cache part
    facets = []
    for event in read_events(event_file):
        facets.append(event["run"]["facets"]["lineageql"])
        for dataset in event["inputs"] + event["outputs"]:
            facets.append(dataset["facets"]["lineageql"])
    assert any(f.get("cache") for f in facets)
    assert {f["_schemaURL"].split("#")[1] for f in facets} == {
        "/$defs/LineageQLRunFacet",
        "/$defs/LineageQLDatasetFacet",
    }
    checker = jsonschema.FormatChecker()
    for facet in facets:
        assert facet["_schemaURL"].startswith(f"{FACET_SCHEMA}#")
        validator = jsonschema.Draft202012Validator(
            {"$ref": facet["_schemaURL"]}, registry=registry, format_checker=checker
        )
        validator.validate(facet)
    dataset = next(f for f in facets if "artifactName" in f)
    bad = {**dataset, "tags": "not a list"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator({"$ref": bad["_schemaURL"]}, registry=registry).validate(
            bad
        )
