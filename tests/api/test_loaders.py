"""N+1 guard: a nested query costs a constant number of SELECTs, however many rows it returns."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from sqlalchemy import event

import api
from api.graphql.context import build_context
from api.graphql.schema import schema
from api.storage.engine import Database

STEPS_PER_RUN = 4
MAX_SELECTS = 15

START_RUN = "mutation ($i: StartPipelineRunInput!) { startPipelineRun(input: $i) { id } }"
START_STEP = "mutation ($i: StartStepRunInput!) { startStepRun(input: $i) { id } }"
FINISH_STEP = """
mutation ($i: FinishStepRunInput!) {
  finishStepRun(input: $i) { outputs { name artifactVersion { id } } }
}
"""
FINISH_RUN = "mutation ($i: FinishPipelineRunInput!) { finishPipelineRun(input: $i) { id } }"

NESTED_RUNS = """
query {
  pipelineRuns(first: 100) {
    edges { node {
      name pipeline { name }
      steps {
        name
        inputs { name artifactVersion { name version tags producer { name run { name } } } }
        outputs { name artifactVersion { name tags consumers { name } } }
      }
    } }
  }
}
"""

NESTED_ARTIFACTS = """
query {
  artifacts(first: 100) {
    edges { node {
      name tags versionCount
      latestVersion { version tags producer { name } }
    } }
  }
}
"""


class Store:
    """The schema executed directly, with SELECTs on the read engine counted on demand."""

    def __init__(self, db: Database, settings: api.Settings) -> None:
        self.db = db
        self.settings = settings
        self.selects: list[str] = []
        self._counting = False
        event.listen(db.read_engine.sync_engine, "before_cursor_execute", self._record)

    def _record(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self._counting and statement.lstrip().upper().startswith("SELECT"):
            self.selects.append(statement)

    @contextmanager
    def counting(self) -> Iterator[list[str]]:
        self.selects = []
        self._counting = True
        try:
            yield self.selects
        finally:
            self._counting = False

    async def data(self, query: str, **variables: Any) -> dict[str, Any]:
        result = await schema.execute(
            query,
            variable_values=variables,
            context_value=build_context(self.db, self.settings),
        )
        assert not result.errors, result.errors
        assert result.data is not None
        return result.data

    async def add_run(self, index: int) -> None:
        """A run of four chained steps; each step has two tagged outputs, the next consumes one."""
        data = await self.data(START_RUN, i={"pipelineName": "chain", "runName": f"run-{index}"})
        run_id = data["startPipelineRun"]["id"]
        previous: list[dict[str, str]] = []
        for step in range(STEPS_PER_RUN):
            step_input = {"runId": run_id, "name": f"step{step}", "inputs": previous}
            step_id = (await self.data(START_STEP, i=step_input))["startStepRun"]["id"]
            outputs = [
                {
                    "outputName": out,
                    "artifact": {
                        "name": f"step{step}_{out}",
                        "uri": f"run-{index}/step{step}/{out}/",
                        "dataType": "builtins.int",
                        "materializer": "builtin",
                        "tags": [f"run-{index}", out],
                    },
                }
                for out in ("left", "right")
            ]
            finished = await self.data(
                FINISH_STEP, i={"stepRunId": step_id, "status": "COMPLETED", "outputs": outputs}
            )
            previous = [
                {"name": f"in_{o['name']}", "artifactVersionId": o["artifactVersion"]["id"]}
                for o in finished["finishStepRun"]["outputs"]
            ]
        await self.data(FINISH_RUN, i={"runId": run_id, "status": "COMPLETED"})


@asynccontextmanager
async def open_store(database_url: str, tmp_path: Path) -> AsyncIterator[Store]:
    db = Database.connect(database_url)
    settings = api.Settings(
        home=tmp_path, database_url=database_url, artifact_store=str(tmp_path / "store")
    )
    try:
        yield Store(db, settings)
    finally:
        await db.dispose()


def selects_per_size(database_url: str, tmp_path: Path, query: str) -> dict[int, int]:
    """SELECTs for `query` with 2 runs in the store, then with 6."""

    async def measure() -> dict[int, int]:
        counts: dict[int, int] = {}
        built = 0
        async with open_store(database_url, tmp_path) as store:
            for size in (2, 6):
                for index in range(built, size):
                    await store.add_run(index)
                built = size
                with store.counting() as selects:
                    data = await store.data(query)
                counts[size] = len(selects)
                check_complete(data, size)
        return counts

    return anyio.run(measure)


def check_complete(data: dict[str, Any], runs: int) -> None:
    """The query returned every row (so a constant SELECT count is not an empty result)."""
    if "pipelineRuns" in data:
        nodes = [e["node"] for e in data["pipelineRuns"]["edges"]]
        assert len(nodes) == runs
        for node in nodes:
            assert len(node["steps"]) == STEPS_PER_RUN
            assert all(len(step["outputs"]) == 2 for step in node["steps"])
            assert all(len(step["inputs"]) == 2 for step in node["steps"][1:])
            first_input = node["steps"][1]["inputs"][0]["artifactVersion"]
            assert first_input["producer"] == {"name": "step0", "run": {"name": node["name"]}}
            assert node["name"] in first_input["tags"]
    else:
        nodes = [e["node"] for e in data["artifacts"]["edges"]]
        assert len(nodes) == STEPS_PER_RUN * 2
        assert all(node["versionCount"] == runs for node in nodes)
        assert all(node["latestVersion"]["version"] == str(runs) for node in nodes)


@pytest.mark.parametrize("query", [NESTED_RUNS, NESTED_ARTIFACTS], ids=["runs", "artifacts"])
def test_nested_query_selects_do_not_grow_with_rows(
    query: str, database_url: str, tmp_path: Path
) -> None:
    counts = selects_per_size(database_url, tmp_path, query)
    # A loader batch can split in two when sibling resolvers resume on different event-loop
    # ticks, so the counts of two sizes may differ by a few; an N+1 resolver would need at
    # least one SELECT per step (6 runs x 4 steps) and grow threefold from 2 runs to 6.
    assert counts[6] <= MAX_SELECTS < 6 * STEPS_PER_RUN, counts
    assert counts[6] < 2 * counts[2], counts


@pytest.mark.parametrize("query", [NESTED_RUNS, NESTED_ARTIFACTS], ids=["runs", "artifacts"])
def test_nested_query_selects_are_few(query: str, database_url: str, tmp_path: Path) -> None:
    counts = selects_per_size(database_url, tmp_path, query)
    assert 0 < max(counts.values()) <= MAX_SELECTS, counts
