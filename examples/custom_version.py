"""A custom version with tags: `ArtifactConfig(name="iris_raw", version="raw_2023", tags=[...])`.

A custom version names exactly one artifact version, so running the step a second time fails
with `ArtifactVersionExistsError` and registers nothing. This script checks first, so it can be
run again and again on the same store: the first time it creates `iris_raw:raw_2023`, later
times it shows the error on purpose.

    python examples/custom_version.py
"""

from __future__ import annotations

import logging
from typing import Annotated

import pandas as pd
from sklearn.datasets import load_iris

from sdk import ArtifactConfig, ArtifactVersionExistsError, Client, NotFoundError, pipeline, step

NAME = "iris_raw"
VERSION = "raw_2023"


@step
def raw_iris_loader() -> Annotated[
    pd.DataFrame, ArtifactConfig(name=NAME, version=VERSION, tags=["raw", "iris"])
]:
    """The iris features as delivered, before any cleaning."""
    return load_iris(as_frame=True).data


@pipeline(enable_cache=False)  # a cached rerun would not execute, and so would not fail
def raw_iris_pipeline() -> None:
    raw_iris_loader()


def main() -> str:
    """Create `iris_raw:raw_2023` unless it exists, else show the error; return its id."""
    client = Client()
    try:
        existing = client.get_artifact_version(NAME, VERSION)
    except NotFoundError:
        run = raw_iris_pipeline()
        created = run.steps["raw_iris_loader"].outputs[NAME]
        print(
            f"created {created.name}:{created.version} (custom version: "
            f"{created.is_custom_version}, tags: {', '.join(created.tags)})"
        )
        return created.id

    created_at = f"{existing.created_at:%Y-%m-%d %H:%M:%S}"
    print(f"{existing.name}:{existing.version} already exists (created {created_at})")
    print("running the pipeline again, which must fail because the version is taken ...")
    try:
        raw_iris_pipeline()
    except ArtifactVersionExistsError as error:
        print(f"as expected, ArtifactVersionExistsError: {error}")
    else:
        raise RuntimeError(f"re-creating {NAME}:{VERSION} should have failed but did not")
    still = client.get_artifact_version(NAME, VERSION)
    if still.id != existing.id:
        raise RuntimeError(f"the failed run replaced {NAME}:{VERSION}; it must leave it alone")
    print(f"{NAME}:{VERSION} is unchanged (id {still.id})")
    return still.id


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # else a line per request to a server
    main()
