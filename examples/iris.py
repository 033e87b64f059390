"""The iris example from ZenML's artifact docs: one named output, a pipeline run twice.

Each run stores a new version of the artifact `iris_dataset`: "1" on the first run, "2" on the
second (or the next two numbers when the store already holds some).

    python examples/iris.py
"""

from __future__ import annotations

import logging
from typing import Annotated

import pandas as pd
from sklearn.datasets import load_iris

from sdk import Client, pipeline, step


@step
def training_data_loader() -> Annotated[pd.DataFrame, "iris_dataset"]:
    """The iris data set (150 rows, 4 features and the target), shipped with scikit-learn."""
    iris = load_iris(as_frame=True)
    return iris.frame


@pipeline(enable_cache=False)  # load afresh each run, so every run stores a new version
def iris_pipeline() -> None:
    training_data_loader()


def main() -> list[str]:
    """Run the pipeline twice; return the versions of `iris_dataset` the two runs created."""
    created = []
    for _ in range(2):
        run = iris_pipeline()
        version = run.steps["training_data_loader"].outputs["iris_dataset"]
        created.append(version.version)
        print(f"run {run.name}: {run.status}, stored iris_dataset version {version.version}")

    artifact = Client().get_artifact("iris_dataset")
    print(f"artifact {artifact.name!r} has {artifact.version_count} versions:")
    for version in artifact.versions[-2:]:
        frame = version.load()
        print(
            f"  version {version.version}: {frame.shape[0]} rows x {frame.shape[1]} columns, "
            f"{version.materializer.rsplit(':', 1)[-1]}, {version.uri}"
        )
    cached = iris_pipeline.with_options(enable_cache=True)()
    step = cached.steps["training_data_loader"]
    print(
        f"with caching on, run {cached.name} did not load again: the step is {step.status}, "
        f"reusing iris_dataset version {step.outputs['iris_dataset'].version}"
    )
    return created


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # else a line per request to a server
    main()
