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

import socket
from collections.abc import Iterator
from typing import Annotated, Any

import pytest

from sdk import Client, pipeline, step
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
