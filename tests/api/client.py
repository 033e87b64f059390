"""A LocalExecutor-backed GraphQL client for API tests, with the documents they send."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import create_engine, func, select

from api.storage import models  # noqa: F401  (registers the tables on Base.metadata)
from api.storage.base import Base
from api.storage.engine import sync_url

BIG_SIZE = 2**33 + 5  # more than a 32-bit GraphQL Int can hold

START_RUN = """
mutation ($input: StartPipelineRunInput!) { startPipelineRun(input: $input) { id name status } }
"""
START_STEP = """
mutation ($input: StartStepRunInput!) { startStepRun(input: $input) { id status } }
"""
FINISH_STEP = """
mutation ($input: FinishStepRunInput!) {
  finishStepRun(input: $input) {
    id status outputs { name artifactVersion { id name version } }
  }
}
"""
FINISH_RUN = """
mutation ($input: FinishPipelineRunInput!) { finishPipelineRun(input: $input) { id status } }
"""
CREATE_VERSION = """
mutation ($input: ArtifactVersionInput!) {
  createArtifactVersion(input: $input) { id name version isCustomVersion }
}
"""
VERSION_FIELDS = """
fragment V on ArtifactVersion {
  id name version isCustomVersion uri dataType materializer sizeBytes metadata tags source
  producer { id name } run { id }
}
"""


class Api:
    """A LocalExecutor with helpers for the documents these tests send."""

    def __init__(self, executor: Any) -> None:
        self.executor = executor

    def execute(self, query: str, **variables: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.executor.execute(query, variables)
        return result

    def data(self, query: str, **variables: Any) -> dict[str, Any]:
        response = self.execute(query, **variables)
        assert "errors" not in response, response["errors"]
        data: dict[str, Any] = response["data"]
        return data

    def error(self, query: str, **variables: Any) -> dict[str, Any]:
        response = self.execute(query, **variables)
        assert response.get("errors"), response
        assert len(response["errors"]) == 1, response["errors"]
        error: dict[str, Any] = response["errors"][0]
        return error

    def start_run(self, pipeline: str = "training", run_name: str | None = None) -> str:
        data = self.data(START_RUN, input={"pipelineName": pipeline, "runName": run_name})
        return str(data["startPipelineRun"]["id"])

    def start_step(self, run_id: str, name: str, inputs: Sequence[tuple[str, str]] = ()) -> str:
        edges = [{"name": n, "artifactVersionId": v} for n, v in inputs]
        data = self.data(START_STEP, input={"runId": run_id, "name": name, "inputs": edges})
        return str(data["startStepRun"]["id"])

    def finish_step_input(
        self, step_id: str, outputs: Sequence[dict[str, Any]], status: str = "COMPLETED"
    ) -> dict[str, Any]:
        return {"stepRunId": step_id, "status": status, "outputs": list(outputs)}

    def finish_step(self, step_id: str, outputs: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
        data = self.data(FINISH_STEP, input=self.finish_step_input(step_id, outputs))
        result: dict[str, Any] = data["finishStepRun"]
        return result

    def finish_run(self, run_id: str, status: str = "COMPLETED") -> None:
        self.data(FINISH_RUN, input={"runId": run_id, "status": status})

    def create_version(self, name: str, version: str | None = None, **extra: Any) -> str:
        data = self.data(CREATE_VERSION, input=version_input(name, version, **extra))
        return str(data["createArtifactVersion"]["id"])


def version_input(
    name: str,
    version: str | None = None,
    *,
    tags: Sequence[str] = (),
    metadata: dict[str, Any] | None = None,
    size_bytes: int | None = None,
) -> dict[str, Any]:
    return {
        "name": name,
        "uri": f"{name}/{version or 'auto'}/",  # store-relative
        "dataType": "builtins.list",
        "materializer": "sdk.materializers.builtin.JSONMaterializer",
        "version": version,
        "tags": list(tags),
        "metadata": metadata,
        "sizeBytes": size_bytes,
    }


def output(output_name: str, name: str, version: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"outputName": output_name, "artifact": version_input(name, version, **extra)}


def row_counts(database_url: str) -> dict[str, int]:
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            return {
                table.name: int(conn.scalar(select(func.count()).select_from(table)) or 0)
                for table in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()
