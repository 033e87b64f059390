"""The API's hot operations one by one, in-process: median time and SQL statements of each.

    python bench/hot_paths.py [--steps 200] [--url sqlite:///... | postgresql+psycopg://...]

Runs the SDK's own GraphQL documents through `api.LocalExecutor` (the embedded store; a
throwaway SQLite file unless `--url`): a chain of `--steps` steps with caching off (each
consumes the previous output and registers one), the same chain again with caching on (every
step a hit), `--steps` registrations of a small saved version, as many lookups of the latest
version by name, and upstream lineage pages of depth 3. The artifact folders the versions name
are created (empty), so that a cache hit finds its outputs. Prints, per operation, the median
time of one call (the portal hop from the calling thread included) and the statements it
issued (every statement the driver executed, `BEGIN` included on SQLite). No SDK code runs
besides the documents: what is left of a step's cost beyond these calls is the SDK's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

import api  # noqa: E402
from api.embedded import LocalExecutor  # noqa: E402

try:
    from sdk.client import operations as ops
except ImportError:  # the SDK's layout before sdk/client/ (to measure older commits)
    from sdk import operations as ops  # type: ignore[no-redef]


class Timed:
    """Calls through one executor, with each call's time and statement count by label."""

    def __init__(self, executor: LocalExecutor) -> None:
        self.executor = executor
        self.times: dict[str, list[float]] = defaultdict(list)
        self.statements: dict[str, list[int]] = defaultdict(list)
        self._count = 0
        event.listen(Engine, "before_cursor_execute", self._counted)

    def _counted(self, *args: Any) -> None:
        self._count += 1

    def __call__(self, label: str, document: str, **variables: Any) -> dict[str, Any]:
        self._count = 0
        start = time.perf_counter()
        response = self.executor.execute(document, variables)
        self.times[label].append(time.perf_counter() - start)
        self.statements[label].append(self._count)
        if response.get("errors"):
            raise RuntimeError(f"{label}: {response['errors']}")
        data: dict[str, Any] = response["data"]
        return data


def version_input(store: Path, name: str, folder: str) -> dict[str, Any]:
    (store / name / folder).mkdir(parents=True, exist_ok=True)
    return {
        "name": name,
        "uri": f"{name}/{folder}/",
        "dataType": "builtins.int",
        "materializer": "sdk.materializers.builtin.BuiltInMaterializer",
        "contentHash": f"hash-{name}-{folder}",
        "sizeBytes": 2,
        "metadata": {"value": 1},
        "tags": [],
        "visualizations": [],
        "version": None,
    }


def chain(call: Timed, store: Path, steps: int, *, cache: bool) -> str:
    """One run of `steps` chained steps; returns the last output's id."""
    run = call("startPipelineRun", ops.START_PIPELINE_RUN, input={"pipelineName": "hot"})
    run_id = run["startPipelineRun"]["id"]
    previous: str | None = None
    for i in range(steps):
        inputs = [] if previous is None else [{"name": "x", "artifactVersionId": previous}]
        start_input = {
            "runId": run_id,
            "name": f"step_{i}",
            "parameters": {},
            "codeHash": f"code-{i}",
            "cacheKey": f"key-{i}",
            "cacheComponents": {"code": f"code-{i}", "inputs": {"x": previous}},
            "useCache": cache,
            "cacheOffReason": None if cache else "caching is disabled on the pipeline",
            "inputs": inputs,
        }
        label = "startStepRun, " + ("cache hit" if cache else "caching off")
        started = call(label, ops.START_STEP_RUN, input=start_input)["startStepRun"]
        if started["status"] == "CACHED":
            previous = started["outputs"][0]["artifactVersion"]["id"]
            continue
        output = version_input(store, f"hot::step_{i}::output", "1")
        finish = {
            "stepRunId": started["id"],
            "status": "COMPLETED",
            "outputs": [{"outputName": "output", "artifact": output}],
        }
        done = call("finishStepRun, one output", ops.FINISH_STEP_RUN, input=finish)
        previous = done["finishStepRun"]["outputs"][0]["artifactVersion"]["id"]
    finish_run = {"runId": run_id, "status": "COMPLETED"}
    call(f"finishPipelineRun ({steps} steps)", ops.FINISH_PIPELINE_RUN, input=finish_run)
    assert previous is not None
    return previous


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--url", default=None, help="database URL (default: a new SQLite file)")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="lineageql-hot-"))
    os.environ.setdefault("LINEAGEQL_STORE_SECRET", "bench-" + "0" * 32)
    url = args.url or f"sqlite:///{home / 'metadata.db'}"
    store = home / "store"
    executor = LocalExecutor(api.Settings(home=home, database_url=url, artifact_store=str(store)))
    call = Timed(executor)
    try:
        last = chain(call, store, args.steps, cache=False)
        chain(call, store, args.steps, cache=True)
        for i in range(args.steps):
            variables = {"input": version_input(store, "small", str(i)), "source": "SAVED"}
            call("createArtifactVersion", ops.CREATE_ARTIFACT_VERSION, **variables)
        for _ in range(args.steps):
            call("artifactVersion by name", ops.GET_VERSION, name="small")
        for _ in range(max(1, args.steps // 4)):
            lineage = {"id": last, "direction": "UPSTREAM", "depth": 3, "first": 100}
            call("lineage page, upstream depth 3", ops.LINEAGE, **lineage)
    finally:
        executor.close()
    print(f"{'operation':36} {'calls':>6} {'median':>10}  statements")
    for label, times in call.times.items():
        counts = sorted(set(call.statements[label]))
        median = 1000 * statistics.median(times)
        print(f"{label:36} {len(times):6d} {median:7.3f} ms  {counts}")


if __name__ == "__main__":
    main()
