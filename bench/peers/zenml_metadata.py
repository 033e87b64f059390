"""ZenML's side of bench/metadata.py, run with the ZenML peer's Python: seed artifact versions
with run metadata through ZenML's own store API (`batch_create_artifact_versions`, the call its
`save_artifact` ends in, without writing data files), then time
`Client().list_artifact_versions(run_metadata=..., sort_by=..., size=50)`.

    python zenml_metadata.py COUNT RUNS  ->  one JSON line on stdout
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time


def accuracy(i: int) -> float:
    """The same values bench/metadata.py seeds LineageQL with."""
    return round(random.Random(i).random(), 4)


def main() -> None:
    count, runs = int(sys.argv[1]), int(sys.argv[2])
    from zenml.client import Client
    from zenml.enums import ArtifactSaveType, ArtifactType
    from zenml.models import ArtifactVersionRequest
    from zenml.utils import source_utils

    client = Client()
    project = client.active_project.id
    store = client.active_stack.artifact_store
    materializer = source_utils.resolve(
        __import__("zenml.materializers", fromlist=["BuiltInMaterializer"]).BuiltInMaterializer
    )
    data_type = source_utils.resolve(float)
    start = time.perf_counter()
    batch = 500
    for first in range(0, count, batch):
        requests = [
            ArtifactVersionRequest(
                artifact_name=f"model_{i % 100}",
                version=str(i // 100 + 1),
                type=ArtifactType.DATA,
                uri=f"{store.path}/bench/{i}",
                materializer=materializer,
                data_type=data_type,
                project=project,
                artifact_store_id=store.id,
                has_custom_name=True,
                save_type=ArtifactSaveType.MANUAL,
                metadata={"accuracy": accuracy(i), "stage": "prod" if i % 3 else "dev"},
            )
            for i in range(first, min(first + batch, count))
        ]
        client.zen_store.batch_create_artifact_versions(requests)
    seeded = time.perf_counter() - start
    timings = []
    page = None
    for _ in range(runs):
        clock = time.perf_counter()
        page = client.list_artifact_versions(
            run_metadata="accuracy:gt:0.9", sort_by="desc:created", size=50, hydrate=False
        )
        timings.append((time.perf_counter() - clock) * 1000)
    assert page is not None
    print(
        json.dumps(
            {
                "count": count,
                "seed_seconds": seeded,
                "median_ms": statistics.median(timings),
                "runs": runs,
                "page": len(page.items),
                "total": page.total,
            }
        )
    )


if __name__ == "__main__":
    main()
