"""Lineage through the GraphQL schema on SQLite and PostgreSQL: three pipelines with
cross-pipeline consumption and cached step runs; depth cuts, paging, paths, filters, time travel,
limits and errors."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import create_engine, event, insert

from api.storage.engine import sync_url
from api.storage.models import (
    Artifact,
    ArtifactVersion,
    Pipeline,
    PipelineRun,
    StepInput,
    StepOutput,
    StepRun,
)
from tests.api.client import Api, output

LINEAGE = """
query ($id: ID!, $direction: LineageDirection, $depth: Int, $first: Int, $after: String,
       $filter: LineageFilter, $asOf: DateTime) {
  lineage(id: $id, direction: $direction, depth: $depth, first: $first, after: $after,
          filter: $filter, asOf: $asOf) {
    truncated totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      __typename
      ... on ArtifactVersion { id name version }
      ... on StepRun { id name status originalStepRun { id } }
    }
    edges { source target kind name }
  }
}
"""
PATH = """
query ($from: ID!, $to: ID!) {
  lineagePath(from: $from, to: $to) {
    nodes {
      __typename
      ... on ArtifactVersion { id name version }
      ... on StepRun { id name }
    }
    edges { source target kind }
  }
}
"""


def label(node: dict[str, Any]) -> str:
    if node["__typename"] == "ArtifactVersion":
        return f"{node['name']}:{node['version']}"
    return f"step {node['name']}"


class Graph:
    """A lineage answer with readable names: nodes as labels, edges as label triples."""

    def __init__(self, data: dict[str, Any], names: dict[str, str]) -> None:
        self.raw = data
        self.truncated: bool = data["truncated"]
        self.nodes = [label(n) for n in data["nodes"]]
        for node in data["nodes"]:
            names[node["id"]] = label(node)
        self.edges = {(names[e["source"]], e["kind"], names[e["target"]]) for e in data["edges"]}


class Store:
    """Three pipelines. A (run a1): load -> raw; clean(raw) -> clean. B: train(clean, raw)
    -> model, consuming A's artifacts. C: evaluate(model) -> report. A's second run (a2)
    reused both steps from the cache: its step runs are CACHED and point at a1's."""

    def __init__(self, gql: Api, database_url: str) -> None:
        self.gql = gql
        self.database_url = database_url
        self.names: dict[str, str] = {}
        self.ids: dict[str, str] = {}
        a1 = gql.start_run("pipeline_a", "a1")
        self.step(a1, "load", [], [("raw", "raw")])
        self.step(a1, "clean", [("data", "raw:1")], [("clean", "clean")])
        gql.finish_run(a1)
        b1 = gql.start_run("pipeline_b", "b1")
        self.step(b1, "train", [("train_set", "clean:1"), ("raw", "raw:1")], [("model", "model")])
        gql.finish_run(b1)
        self.before_c = datetime.now(UTC)
        time.sleep(0.01)
        c1 = gql.start_run("pipeline_c", "c1")
        self.step(c1, "evaluate", [("model", "model:1")], [("report", "report")])
        gql.finish_run(c1)
        self.a2 = gql.start_run("pipeline_a", "a2")
        self.cached("load@a2", "load@a1", [], [("raw", "raw:1")])
        self.cached("clean@a2", "clean@a1", [("data", "raw:1")], [("clean", "clean:1")])

    def step(
        self,
        run_id: str,
        name: str,
        inputs: list[tuple[str, str]],
        outputs: list[tuple[str, str]],
        tags: tuple[str, ...] = (),
    ) -> None:
        run = self.gql.data("query ($id: ID!) { pipelineRun(id: $id) { name } }", id=run_id)
        step_id = self.gql.start_step(run_id, name, [(n, self.ids[v]) for n, v in inputs])
        self.ids[f"{name}@{run['pipelineRun']['name']}"] = step_id
        done = self.gql.finish_step(
            step_id, [output(key, artifact, tags=tags) for key, artifact in outputs]
        )
        for edge in done["outputs"]:
            version = edge["artifactVersion"]
            self.ids[f"{version['name']}:{version['version']}"] = version["id"]

    def cached(
        self,
        key: str,
        original: str,
        inputs: list[tuple[str, str]],
        outputs: list[tuple[str, str]],
    ) -> None:
        """A CACHED step run as the cache writes it: inputs and outputs point at the
        original's versions, which it did not produce."""
        step_id = str(uuid.uuid4())
        now = datetime.now(UTC)
        engine = create_engine(sync_url(self.database_url))
        with engine.begin() as conn:
            conn.execute(
                insert(StepRun.__table__),
                [
                    {
                        "id": step_id,
                        "run_id": self.a2,
                        "name": key.split("@")[0],
                        "status": "CACHED",
                        "parameters": {},
                        "original_step_run_id": self.ids[original],
                        "started_at": now,
                        "ended_at": now,
                    }
                ],
            )
            for name, version in inputs:
                conn.execute(
                    insert(StepInput.__table__),
                    [
                        {
                            "step_run_id": step_id,
                            "name": name,
                            "artifact_version_id": self.ids[version],
                            "created_at": now,
                        }
                    ],
                )
            for name, version in outputs:
                conn.execute(
                    insert(StepOutput.__table__),
                    [
                        {
                            "step_run_id": step_id,
                            "name": name,
                            "artifact_version_id": self.ids[version],
                            "created_at": now,
                        }
                    ],
                )
        engine.dispose()
        self.ids[key] = step_id

    def lineage(self, node: str, direction: str, depth: int = 5, **extra: Any) -> Graph:
        data = self.gql.data(LINEAGE, id=self.ids[node], direction=direction, depth=depth, **extra)
        return Graph(data["lineage"], self.names)


@pytest.fixture
def store(gql: Api, database_url: str) -> Store:
    return Store(gql, database_url)


A_TO_REPORT = {
    ("step evaluate", "PRODUCED", "report:1"),
    ("model:1", "CONSUMED", "step evaluate"),
    ("step train", "PRODUCED", "model:1"),
    ("clean:1", "CONSUMED", "step train"),
    ("raw:1", "CONSUMED", "step train"),
    ("step clean", "PRODUCED", "clean:1"),
    ("raw:1", "CONSUMED", "step clean"),
    ("step load", "PRODUCED", "raw:1"),
}


def test_upstream_answers_how_a_version_was_made(store: Store) -> None:
    graph = store.lineage("report:1", "UPSTREAM")
    assert graph.nodes[0] == "report:1"
    assert sorted(graph.nodes) == sorted(
        ["report:1", "step evaluate", "model:1", "step train", "clean:1", "raw:1"]
        + ["step clean", "step load"]
    )
    assert graph.edges == A_TO_REPORT
    assert not graph.truncated


def test_upstream_shows_the_original_producer_not_the_cached_reuse(store: Store) -> None:
    graph = store.lineage("clean:1", "UPSTREAM")
    steps = [n for n in graph.raw["nodes"] if n["__typename"] == "StepRun"]
    assert {s["id"] for s in steps} == {store.ids["clean@a1"], store.ids["load@a1"]}


def test_downstream_crosses_pipelines_and_marks_cached_reuse(store: Store) -> None:
    graph = store.lineage("raw:1", "DOWNSTREAM")
    assert sorted(graph.nodes) == sorted(
        ["raw:1", "step clean", "step clean", "step train", "clean:1", "model:1"]
        + ["step evaluate", "report:1"]
    )
    cached = [n for n in graph.raw["nodes"] if n.get("status") == "CACHED"]
    assert [c["id"] for c in cached] == [store.ids["clean@a2"]]
    assert cached[0]["originalStepRun"] == {"id": store.ids["clean@a1"]}
    assert ("raw:1", "CONSUMED", "step clean") in graph.edges
    assert ("clean:1", "CONSUMED", "step train") in graph.edges
    assert ("step evaluate", "PRODUCED", "report:1") in graph.edges
    # the cached run produced nothing: no PRODUCED edge leaves it
    cached_id = store.ids["clean@a2"]
    assert not [e for e in graph.raw["edges"] if e["source"] == cached_id]


def test_both_directions_around_a_version(store: Store) -> None:
    graph = store.lineage("clean:1", "BOTH", depth=1)
    assert sorted(graph.nodes) == sorted(
        ["clean:1", "step clean", "raw:1", "step train", "model:1"]
    )
    assert graph.truncated  # raw has a producer, model has a consumer


@pytest.mark.parametrize(
    ("depth", "expected", "truncated"),
    [
        (0, ["report:1"], True),
        (1, ["report:1", "step evaluate", "model:1"], True),
        (2, ["report:1", "step evaluate", "model:1", "step train", "clean:1", "raw:1"], True),
        (3, None, False),
    ],
)
def test_depth_counts_artifact_hops_and_reports_the_cut(
    store: Store, depth: int, expected: list[str] | None, truncated: bool
) -> None:
    graph = store.lineage("report:1", "UPSTREAM", depth=depth)
    if expected is not None:
        assert sorted(graph.nodes) == sorted(expected)
    else:
        assert len(graph.nodes) == 8
    assert graph.truncated is truncated


def test_lineage_of_a_step_run(store: Store) -> None:
    graph = store.lineage("train@b1", "BOTH", depth=1)
    assert graph.nodes[0] == "step train"
    assert sorted(graph.nodes) == sorted(["step train", "clean:1", "raw:1", "model:1"])
    assert graph.edges == {
        ("clean:1", "CONSUMED", "step train"),
        ("raw:1", "CONSUMED", "step train"),
        ("step train", "PRODUCED", "model:1"),
    }


def test_artifact_version_upstream_and_downstream_fields(store: Store) -> None:
    query = """
    query ($id: ID!) {
      artifactVersion(id: $id) {
        upstream(depth: 1) { nodes { ... on StepRun { name } } truncated }
        downstream(depth: 1) { nodes { ... on StepRun { name } } truncated }
      }
    }
    """
    version = store.gql.data(query, id=store.ids["model:1"])["artifactVersion"]
    assert {"name": "train"} in version["upstream"]["nodes"]
    assert {"name": "evaluate"} in version["downstream"]["nodes"]
    assert version["upstream"]["truncated"] and not version["downstream"]["truncated"]


def test_lineage_path_is_every_chain_between_two_versions(store: Store) -> None:
    data = store.gql.data(PATH, **{"from": store.ids["raw:1"], "to": store.ids["report:1"]})
    graph = Graph(data["lineagePath"] | {"truncated": False}, store.names)
    assert len(graph.raw["nodes"]) == 7  # raw, clean step, clean, train, model, evaluate, report
    assert ("raw:1", "CONSUMED", "step train") in graph.edges  # the direct chain
    assert ("clean:1", "CONSUMED", "step train") in graph.edges  # and the one through clean
    assert ("step load", "PRODUCED", "raw:1") not in graph.edges
    backwards = store.gql.data(PATH, **{"from": store.ids["report:1"], "to": store.ids["raw:1"]})
    assert backwards["lineagePath"] == {"nodes": [], "edges": []}


def test_filters_keep_matching_nodes_and_edges_between_them(store: Store) -> None:
    b2 = store.gql.start_run("pipeline_b", "b2")
    store.step(b2, "train", [("train_set", "clean:1"), ("raw", "raw:1")], [("model", "model")])
    models = store.lineage("raw:1", "DOWNSTREAM", filter={"artifactName": "model"})
    assert sorted(models.nodes) == ["model:1", "model:2"]
    assert models.edges == set()
    current = store.lineage(
        "raw:1", "DOWNSTREAM", filter={"artifactName": "model", "latestOnly": True}
    )
    assert current.nodes == ["model:2"]
    steps = store.lineage("raw:1", "DOWNSTREAM", filter={"nodeKind": "STEP_RUN"})
    assert all(n.startswith("step ") for n in steps.nodes) and len(steps.nodes) == 5


def test_filter_by_tag(store: Store) -> None:
    c2 = store.gql.start_run("pipeline_c", "c2")
    store.step(c2, "evaluate", [("model", "model:1")], [("report", "report")], tags=("gold",))
    tagged = store.lineage("model:1", "DOWNSTREAM", filter={"tag": "gold"})
    assert tagged.nodes == ["report:2"]


def test_as_of_hides_what_came_later(store: Store) -> None:
    then = store.before_c.isoformat()
    graph = store.lineage("raw:1", "DOWNSTREAM", asOf=then)
    assert "step evaluate" not in graph.nodes and "report:1" not in graph.nodes
    assert "model:1" in graph.nodes
    b2 = store.gql.start_run("pipeline_b", "b2")
    store.step(b2, "train", [("train_set", "clean:1")], [("model", "model")])
    query = """
    query ($asOf: DateTime) {
      artifactVersion(name: "model", asOf: $asOf) { version }
      artifact(name: "model") { latestVersion(asOf: $asOf) { version } }
    }
    """
    assert store.gql.data(query, asOf=then) == {
        "artifactVersion": {"version": "1"},
        "artifact": {"latestVersion": {"version": "1"}},
    }
    assert store.gql.data(query, asOf=None)["artifactVersion"] == {"version": "2"}
    report = store.gql.error(LINEAGE, id=store.ids["report:1"], asOf=then)
    assert report["extensions"]["code"] == "NOT_FOUND"


def test_limits_are_errors_not_silent_cuts(store: Store) -> None:
    deep = store.gql.error(LINEAGE, id=store.ids["raw:1"], depth=100_000)
    assert deep["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert deep["extensions"]["limit"] == "maxLineageDepth"
    wide = store.gql.error(LINEAGE, id=store.ids["raw:1"], first=1_000_000)
    assert wide["extensions"]["code"] == "LIMIT_EXCEEDED"
    negative = store.gql.error(LINEAGE, id=store.ids["raw:1"], depth=-1)
    assert negative["extensions"]["code"] == "BAD_USER_INPUT"


def test_unknown_and_malformed_ids(gql: Api) -> None:
    unknown = gql.error(LINEAGE, id=str(uuid.uuid4()))
    assert unknown["extensions"]["code"] == "NOT_FOUND"
    malformed = gql.error(LINEAGE, id="not-an-id")
    assert malformed["extensions"]["code"] == "BAD_USER_INPUT"
    bad_cursor = gql.error(LINEAGE, id=str(uuid.uuid4()), after="garbage")
    assert bad_cursor["extensions"]["code"] == "BAD_USER_INPUT"


# Bulk-built stores: rows written through SQLAlchemy Core, as the API would write them.


def _bulk(database_url: str, rows: dict[Any, list[dict[str, Any]]]) -> None:
    engine = create_engine(sync_url(database_url))
    with engine.begin() as conn:
        for model in (Pipeline, PipelineRun, StepRun, Artifact, ArtifactVersion):
            if rows.get(model):
                conn.execute(insert(model.__table__), rows[model])
        for model in (StepInput, StepOutput):
            if rows.get(model):
                conn.execute(insert(model.__table__), rows[model])
    engine.dispose()


def build_fanout(database_url: str, width: int) -> str:
    """One root version consumed by `width` step runs, each producing one version."""
    now = datetime.now(UTC)
    pipeline, run, artifact, out = (str(uuid.uuid4()) for _ in range(4))
    root = str(uuid.uuid4())
    rows: dict[Any, list[dict[str, Any]]] = {
        Pipeline: [{"id": pipeline, "name": "fan", "created_at": now}],
        PipelineRun: [
            {"id": run, "pipeline_id": pipeline, "name": "fan-1", "status": "COMPLETED"}
            | {"started_at": now}
        ],
        Artifact: [
            {"id": artifact, "name": "root", "version_seq": 1, "last_number": 1},
            {"id": out, "name": "leaf", "version_seq": width, "last_number": width},
        ],
        ArtifactVersion: [_version(root, artifact, 1, None, now)],
        StepRun: [],
        StepInput: [],
        StepOutput: [],
    }
    for artifact_row in rows[Artifact]:
        artifact_row.update(created_at=now, updated_at=now)
    for i in range(width):
        step, version = str(uuid.uuid4()), str(uuid.uuid4())
        rows[StepRun].append(
            {"id": step, "run_id": run, "name": f"use_{i}", "status": "COMPLETED"}
            | {"parameters": {}, "started_at": now}
        )
        rows[StepInput].append(
            {"step_run_id": step, "name": "root", "artifact_version_id": root, "created_at": now}
        )
        rows[ArtifactVersion].append(_version(version, out, i + 1, step, now))
        rows[StepOutput].append(
            {"step_run_id": step, "name": "output", "artifact_version_id": version}
            | {"created_at": now}
        )
    _bulk(database_url, rows)
    return root


def _version(
    vid: str, artifact: str, seq: int, producer: str | None, now: datetime
) -> dict[str, Any]:
    return {
        "id": vid,
        "artifact_id": artifact,
        "seq": seq,
        "version": str(seq),
        "is_custom": False,
        "uri": f"/store/{vid}",
        "data_type": "builtins:int",
        "materializer": "sdk.materializers.builtin:BuiltInMaterializer",
        "metadata": {},
        "source": "STEP_OUTPUT",
        "producer_step_run_id": producer,
        "created_at": now,
    }


def test_paging_a_2000_node_downstream_returns_each_node_and_edge_once(
    gql: Api, database_url: str
) -> None:
    root = build_fanout(database_url, 1000)
    nodes: list[str] = []
    edges: list[tuple[str, str]] = []
    after = None
    pages = 0
    while True:
        data = gql.data(LINEAGE, id=root, direction="DOWNSTREAM", depth=1, first=300, after=after)[
            "lineage"
        ]
        pages += 1
        nodes += [n["id"] for n in data["nodes"]]
        edges += [(e["source"], e["target"]) for e in data["edges"]]
        assert data["totalCount"] == 2001
        assert data["truncated"] is data["pageInfo"]["hasNextPage"]
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert pages == 7
    assert len(nodes) == len(set(nodes)) == 2001
    assert len(edges) == len(set(edges)) == 2000
    assert {n for edge in edges for n in edge} == set(nodes)


@pytest.fixture
def select_counter(gql: Api) -> Iterator[list[str]]:
    statements: list[str] = []
    db = gql.executor._db

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    # A reader made with execution_options() shares its engine's events: listen on the root.
    engines = {
        getattr(e.sync_engine, "_proxied", e.sync_engine) for e in (db.read_engine, db.write_engine)
    }
    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    yield statements
    for engine in engines:
        event.remove(engine, "before_cursor_execute", count)


def build_runs(database_url: str, runs: int, steps: int = 3) -> None:
    """`runs` runs of a chain of `steps` steps, each consuming the previous step's output."""
    now = datetime.now(UTC)
    pipeline = str(uuid.uuid4())
    rows: dict[Any, list[dict[str, Any]]] = {
        Pipeline: [{"id": pipeline, "name": "many", "created_at": now}],
        PipelineRun: [],
        StepRun: [],
        Artifact: [],
        ArtifactVersion: [],
        StepInput: [],
        StepOutput: [],
    }
    artifacts = [str(uuid.uuid4()) for _ in range(steps)]
    rows[Artifact] = [
        {"id": a, "name": f"out_{i}", "version_seq": runs, "last_number": runs}
        | {"created_at": now, "updated_at": now}
        for i, a in enumerate(artifacts)
    ]
    for r in range(runs):
        run = str(uuid.uuid4())
        rows[PipelineRun].append(
            {"id": run, "pipeline_id": pipeline, "name": f"many-{r}", "status": "COMPLETED"}
            | {"started_at": now}
        )
        previous = None
        for s in range(steps):
            step, version = str(uuid.uuid4()), str(uuid.uuid4())
            rows[StepRun].append(
                {"id": step, "run_id": run, "name": f"s{s}", "status": "COMPLETED"}
                | {"parameters": {}, "started_at": now}
            )
            rows[ArtifactVersion].append(_version(version, artifacts[s], r + 1, step, now))
            rows[StepOutput].append(
                {"step_run_id": step, "name": "output", "artifact_version_id": version}
                | {"created_at": now}
            )
            if previous is not None:
                rows[StepInput].append(
                    {"step_run_id": step, "name": "x", "artifact_version_id": previous}
                    | {"created_at": now}
                )
            previous = version
    _bulk(database_url, rows)


RUNS_WITH_EDGES = """
query {
  pipelineRuns(first: 100) {
    edges { node { name steps {
      name status
      inputs { name artifactVersion { name version producer { name } } }
      outputs { name artifactVersion { name version tags consumers { name } } }
    } } }
  }
}
"""


@pytest.mark.parametrize("runs", [10, 100])
def test_listing_runs_with_steps_and_edges_costs_a_bounded_number_of_selects(
    gql: Api, database_url: str, select_counter: list[str], runs: int
) -> None:
    build_runs(database_url, runs)
    select_counter.clear()
    data = gql.data(RUNS_WITH_EDGES)
    listed = data["pipelineRuns"]["edges"]
    assert len(listed) == runs
    assert all(len(edge["node"]["steps"]) == 3 for edge in listed)
    # One statement per relation level (batch splits on loop ticks may add a few); an N+1
    # resolver would issue at least one per run and per step (>= 3 x runs).
    assert len(select_counter) <= 15, select_counter
