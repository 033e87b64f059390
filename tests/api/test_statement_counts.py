"""How many SQL statements the hot operations issue, pinned (by behaviour, not timing): a
regression that adds a read back, an ORM flush or a per-row query fails here.

The documents select what the SDK selects (its `VersionFields` and step answers). Every
statement the database driver executes is counted, from the start of the GraphQL request to its
answer: on SQLite that includes the `BEGIN` of each session (writes take the lock with
`BEGIN IMMEDIATE`); on PostgreSQL the driver opens transactions without a statement. The
bounds are what the code achieves; the counts before the Core rewrite of these paths are in
the comments (SQLite / PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from tests.api.client import Api

VERSION_FIELDS = """
fragment VersionFields on ArtifactVersion {
  id name version isCustomVersion uri storePath dataType materializer contentHash sizeBytes
  metadata tags createdAt source dataDeletedAt producer { id }
  visualizations { type uri url }
}
"""
START_PIPELINE_RUN = """
mutation ($input: StartPipelineRunInput!) { startPipelineRun(input: $input) { id name } }
"""
START_STEP_RUN = (
    """
mutation ($input: StartStepRunInput!) {
  startStepRun(input: $input) {
    id status cacheReason
    originalStepRun { id run { name } }
    outputs { name artifactVersion { ...VersionFields } }
  }
}
"""
    + VERSION_FIELDS
)
FINISH_STEP_RUN = (
    """
mutation ($input: FinishStepRunInput!) {
  finishStepRun(input: $input) { id status outputs { name artifactVersion { ...VersionFields } } }
}
"""
    + VERSION_FIELDS
)
CREATE_ARTIFACT_VERSION = (
    """
mutation ($input: ArtifactVersionInput!, $source: ArtifactSource!, $clientKey: String) {
  createArtifactVersion(input: $input, source: $source, clientKey: $clientKey) {
    ...VersionFields
  }
}
"""
    + VERSION_FIELDS
)
GET_VERSION = (
    """
query ($id: ID, $name: String, $version: String) {
  artifactVersion(id: $id, name: $name, version: $version) { ...VersionFields }
}
"""
    + VERSION_FIELDS
)
VERSION_ONLY = """
query ($name: String, $version: String) {
  artifactVersion(name: $name, version: $version) { id version }
}
"""
TAGS_INLINE = """
query ($name: String) {
  artifactVersion(name: $name) { ... on ArtifactVersion { tags } producer { id } }
}
"""
LINEAGE = (
    """
query ($id: ID!) {
  lineage(id: $id, direction: UPSTREAM, depth: 3, first: 100) {
    nodes {
      __typename
      ... on ArtifactVersion { ...VersionFields }
      ... on StepRun {
        id name status startedAt endedAt originalStepRun { id } run { id name pipeline { name } }
      }
    }
    edges { source target kind name }
    truncated
    pageInfo { hasNextPage endCursor }
  }
}
"""
    + VERSION_FIELDS
)

UPDATE_ARTIFACT = """
mutation ($name: String!, $add: [String!]) {
  updateArtifact(name: $name, addTags: $add) { name tags }
}
"""

ARTIFACT = """
query ($name: String!) {
  artifact(name: $name) { tags versionCount latestVersion { id version } }
}
"""

# The most statements each operation may issue: {dialect: bound}.
BOUNDS = {
    # Before: 7 / 6 (the run, the name check, the inputs read twice, the step, the edge).
    "startStepRun, one input, caching off": {"sqlite": 5, "postgresql": 4},
    # Before: 5 / 4.
    "startStepRun, no input, caching off": {"sqlite": 3, "postgresql": 2},
    # Before: 9 / 8. Two more than caching off: the candidates with the key, and the
    # previous run of the step (for the reason of the miss).
    "startStepRun, one input, cache miss": {"sqlite": 7, "postgresql": 6},
    # Before: 20 / 14 (reading back the hit through the loaders: 10 / 5 of them, in 5 sessions).
    "startStepRun, one input, cache hit with one output": {"sqlite": 9, "postgresql": 8},
    # Before: 8 / 7.
    "finishStepRun, one output": {"sqlite": 5, "postgresql": 4},
    # Before: 5 / 4.
    "createArtifactVersion": {"sqlite": 3, "postgresql": 2},
    # Before: 8 / 7 (the tags: create them, read their ids, link them).
    "createArtifactVersion, two tags": {"sqlite": 5, "postgresql": 4},
    # Before: 4 / 2: the version with its artifact, then its tags in a loader's own session.
    # Now the tags are read in the lookup's session when they are selected.
    "artifactVersion by name": {"sqlite": 3, "postgresql": 2},
    # Before: 4 / 2.
    "artifactVersion by name and version": {"sqlite": 3, "postgresql": 2},
    # Before: 2 / 1.
    "artifactVersion by name, tags not selected": {"sqlite": 2, "postgresql": 1},
    # Before: 14 / 9: the walk in one session, then a loader batch per relation. The walk no
    # longer asks what the start is when its first statement found it as a version.
    "lineage page, upstream of a 3-step chain": {"sqlite": 13, "postgresql": 8},
    # Before: 8 / 7 (the tags' ids and the links present were read before the links were
    # written). Now: the artifact, the missing tags, the links in one INSERT … SELECT, the
    # artifact's updatedAt, its tags for the answer.
    "updateArtifact, a new tag and a present one": {"sqlite": 6, "postgresql": 5},
    # Before: 8 / 4 (the count and the newest version were two loaders, two statements).
    "artifact with its count and latest version": {"sqlite": 6, "postgresql": 3},
}


class Counted:
    """The statements executed while `counting()` is open, in this process."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def _record(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(" ".join(statement.split()))

    @contextmanager
    def counting(self) -> Iterator[list[str]]:
        self.statements = []
        event.listen(Engine, "before_cursor_execute", self._record)
        try:
            yield self.statements
        finally:
            event.remove(Engine, "before_cursor_execute", self._record)


class Store:
    """The API through `gql`, with the operations under test and their statement counts."""

    def __init__(self, gql: Api, store: Path, dialect: str) -> None:
        self.gql = gql
        self.store = store
        self.dialect = dialect
        self.counted = Counted()
        self.counts: dict[str, list[str]] = {}

    def measure(self, label: str, query: str, **variables: Any) -> dict[str, Any]:
        with self.counted.counting() as statements:
            data = self.gql.data(query, **variables)
        self.counts[label] = list(statements)
        return data

    def version_input(self, name: str, folder: str, tags: tuple[str, ...] = ()) -> dict[str, Any]:
        """A version whose data exists in the store (a cache hit checks that it does)."""
        (self.store / name / folder).mkdir(parents=True, exist_ok=True)
        return {
            "name": name,
            "uri": f"{name}/{folder}/",
            "dataType": "builtins.int",
            "materializer": "sdk.materializers.builtin.JSONMaterializer",
            "contentHash": f"hash-{name}-{folder}",
            "sizeBytes": 2,
            "metadata": {"value": 1},
            "tags": list(tags),
            "visualizations": [],
        }

    def start_run(self) -> str:
        data = self.gql.data(START_PIPELINE_RUN, input={"pipelineName": "counted"})
        return str(data["startPipelineRun"]["id"])

    def step_input(
        self, run_id: str, name: str, inputs: dict[str, str], *, cache: bool
    ) -> dict[str, Any]:
        return {
            "runId": run_id,
            "name": name,
            "parameters": {"k": 1},
            "codeHash": f"code-{name}",
            "cacheKey": f"key-{name}-{sorted(inputs.values())}",
            "cacheComponents": {"code": f"code-{name}", "inputs": dict(inputs)},
            "useCache": cache,
            "cacheOffReason": None if cache else "caching is disabled on the pipeline",
            "inputs": [{"name": n, "artifactVersionId": v} for n, v in inputs.items()],
        }

    def finish_input(self, step_id: str, output: dict[str, Any]) -> dict[str, Any]:
        return {
            "stepRunId": step_id,
            "status": "COMPLETED",
            "outputs": [{"outputName": "output", "artifact": output}],
        }

    def check(self) -> None:
        over = {
            label: statements
            for label, statements in self.counts.items()
            if len(statements) > BOUNDS[label][self.dialect]
        }
        assert set(self.counts) == set(BOUNDS)
        assert not over, "\n".join(
            f"{label}: {len(s)} statements, at most {BOUNDS[label][self.dialect]}:\n  "
            + "\n  ".join(s)
            for label, s in over.items()
        )


@pytest.fixture
def store(gql: Api, database_url: str, tmp_path: Path) -> Store:
    dialect = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    return Store(gql, tmp_path / "store", dialect)


def test_hot_operations_issue_few_statements(store: Store) -> None:
    saved = store.measure(
        "createArtifactVersion",
        CREATE_ARTIFACT_VERSION,
        input=store.version_input("raw", "1"),
        source="SAVED",
    )["createArtifactVersion"]
    assert saved["version"] == "1" and saved["tags"] == [] and saved["producer"] is None
    tagged = store.measure(
        "createArtifactVersion, two tags",
        CREATE_ARTIFACT_VERSION,
        input=store.version_input("raw", "2", tags=("gold", "eu")),
        source="SAVED",
    )["createArtifactVersion"]
    assert tagged["version"] == "2" and tagged["tags"] == ["eu", "gold"]

    # A first run: a 3-step chain raw -> a -> b -> c, caching on (every lookup misses).
    run_id = store.start_run()
    upstream = saved["id"]
    versions = []
    for name in ("a", "b", "c"):
        label = "startStepRun, one input, cache miss" if name == "a" else None
        step_input = store.step_input(run_id, name, {"data": upstream}, cache=True)
        if label is None:
            started = store.gql.data(START_STEP_RUN, input=step_input)["startStepRun"]
        else:
            started = store.measure(label, START_STEP_RUN, input=step_input)["startStepRun"]
        assert started["status"] == "RUNNING" and started["outputs"] == []
        finish = store.finish_input(started["id"], store.version_input(f"out_{name}", "1"))
        if name == "a":
            finished = store.measure("finishStepRun, one output", FINISH_STEP_RUN, input=finish)
        else:
            finished = store.gql.data(FINISH_STEP_RUN, input=finish)
        (output,) = finished["finishStepRun"]["outputs"]
        assert output["artifactVersion"]["producer"] == {"id": started["id"]}
        upstream = output["artifactVersion"]["id"]
        versions.append(output["artifactVersion"])

    # A second run: step a is a hit; then steps that run with caching off.
    rerun = store.start_run()
    hit = store.measure(
        "startStepRun, one input, cache hit with one output",
        START_STEP_RUN,
        input=store.step_input(rerun, "a", {"data": saved["id"]}, cache=True),
    )["startStepRun"]
    assert hit["status"] == "CACHED"
    assert hit["originalStepRun"]["run"]["name"].startswith("counted-")
    assert [o["artifactVersion"] for o in hit["outputs"]] == [versions[0]]
    store.measure(
        "startStepRun, one input, caching off",
        START_STEP_RUN,
        input=store.step_input(rerun, "b", {"data": versions[0]["id"]}, cache=False),
    )
    store.measure(
        "startStepRun, no input, caching off",
        START_STEP_RUN,
        input=store.step_input(rerun, "source", {}, cache=False),
    )

    latest = store.measure("artifactVersion by name", GET_VERSION, name="raw")["artifactVersion"]
    assert latest == tagged
    first = store.measure(
        "artifactVersion by name and version", GET_VERSION, name="raw", version="1"
    )["artifactVersion"]
    assert first == saved

    bare = store.measure(
        "artifactVersion by name, tags not selected", VERSION_ONLY, name="raw", version="2"
    )["artifactVersion"]
    assert bare == {"id": tagged["id"], "version": "2"}
    inline = store.gql.data(TAGS_INLINE, name="raw")["artifactVersion"]
    assert inline == {"tags": ["eu", "gold"], "producer": None}

    graph = store.measure("lineage page, upstream of a 3-step chain", LINEAGE, id=upstream)
    assert len(graph["lineage"]["nodes"]) == 7  # c, its step, b, its step, a, its step, raw

    store.gql.data(UPDATE_ARTIFACT, name="raw", add=["seen"])
    retagged = store.measure(
        "updateArtifact, a new tag and a present one",
        UPDATE_ARTIFACT,
        name="raw",
        add=["new", "seen"],
    )["updateArtifact"]
    assert retagged == {"name": "raw", "tags": ["new", "seen"]}

    artifact = store.measure("artifact with its count and latest version", ARTIFACT, name="raw")
    assert artifact["artifact"] == {
        "tags": ["new", "seen"],
        "versionCount": 2,
        "latestVersion": {"id": tagged["id"], "version": "2"},
    }
    store.check()
