"""LineageQL's side of the in-process cases; run by `bench/suite.py` in a fresh process.

    python bench/cases/lineageql_worker.py CASE '{"param": ...}'

The store is the embedded one of `LINEAGEQL_HOME`. Prints `RESULT <json>` as its last line;
`bench/peers/zenml_worker.py` is the same for ZenML.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workload  # noqa: E402

from sdk import Client, load_artifact, pipeline, save_artifact, step  # noqa: E402

CONSUMERS = """
query ($name: String!, $version: String!) {
  artifactVersion(name: $name, version: $version) { consumers { id name } }
}
"""


@step
def consume(x: int) -> int:
    return x + 1


@pipeline(name="consumer", enable_cache=False)
def consumer(version: str = "1") -> None:
    consume(Client().get_artifact_version("dataset", version))


def small(params: dict[str, Any]) -> Any:
    return workload.small(save_artifact, load_artifact, params["runs"])


def large(params: dict[str, Any]) -> Any:
    return workload.large(
        lambda data, name: save_artifact(data, name).id,
        load_artifact,
        params,
        Path(params["folder"]),
    )


def versions(params: dict[str, Any]) -> Any:
    client = Client()

    def listing(name: str) -> int:
        return len(client.list_artifact_versions(name=name))

    return workload.versions(save_artifact, listing, params["count"], params["runs"])


def consumers(params: dict[str, Any]) -> Any:
    """`versions` versions of `dataset`, `runs` runs of `consumer` (run i reads version
    i % versions + 1), then the consumers of version 1, `repeat` times."""
    start = time.perf_counter()
    for i in range(params["versions"]):
        save_artifact(i, "dataset")
    for i in range(params["runs"]):
        consumer(version=str(i % params["versions"] + 1))
    build = time.perf_counter() - start
    client = Client()

    def query() -> int:
        variables = {"name": "dataset", "version": "1"}
        found = client.graphql(CONSUMERS, variables)["artifactVersion"]["consumers"]
        return len(found)

    count = query()
    times = [workload.timed(query) for _ in range(params["repeat"])]
    return {"build": build, "count": count, "query": times}


CASES = {"small": small, "large": large, "versions": versions, "consumers": consumers}

if __name__ == "__main__":
    result = CASES[sys.argv[1]](json.loads(sys.argv[2]))
    print("RESULT " + json.dumps(result))
