"""Seeds the store of the explorer's Pipelines and artifact-page tests through the SDK.

- `daily_report`: 3 COMPLETED runs and a 4th that FAILED (its `summarise` step raises). Each
  run saves a version of `sales` (version tag `raw`; the first also `golden`; the artifact
  itself is tagged `curated`) and a default-named `daily_report::summarise::output`.
- `nightly_train`: one COMPLETED run saving `model` (no tags at all).

    LINEAGEQL_HOME=... python -m tests.ui.seed_pipelines
"""

from __future__ import annotations

import time
from typing import Annotated

from sdk import ArtifactConfig, Client, pipeline, step

COMPLETED_RUNS = 3


@step
def load(day: int) -> Annotated[list[int], ArtifactConfig(name="sales", tags=["raw"])]:
    time.sleep(0.05)
    return [day, day * 2, day * 3]


@step
def summarise(sales: list[int], fail: bool) -> dict[str, int]:
    if fail:
        raise RuntimeError("the sales feed was empty")
    return {"total": sum(sales), "count": len(sales)}


@pipeline(enable_cache=False)
def daily_report(day: int, fail: bool = False) -> None:
    summarise(load(day=day), fail=fail)


@step
def fit() -> Annotated[dict[str, float], "model"]:
    return {"weight": 0.5}


@pipeline(enable_cache=False)
def nightly_train() -> None:
    fit()


if __name__ == "__main__":
    for day in range(1, COMPLETED_RUNS + 1):
        daily_report(day=day)
    try:
        daily_report(day=99, fail=True)
    except Exception as error:  # noqa: BLE001 - the failed run is the point
        print(f"failed as intended: {error}")
    nightly_train()
    client = Client()
    client.update_artifact("sales", add_tags=["curated"])
    client.update_artifact_version("sales", "1", add_tags=["golden"])
