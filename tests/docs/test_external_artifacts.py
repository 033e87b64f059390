"""ZenML docs, "Manage artifacts" / "Artifact versioning": naming the iris dataset, a custom
version, and consuming versions in another pipeline through `ExternalArtifact` (by id, name,
name and version, or a value) and through `Client().get_artifact_version`."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris

from sdk import ArtifactConfig, Client, ExternalArtifact, pipeline, step
from sdk.client.views import ArtifactVersion, PipelineRun
from sdk.materializers import VisualizationType

pytestmark = pytest.mark.usefixtures("lineageql")

received: list[object] = []  # what the docs' steps were given, in call order


# --- "Giving names to your artifacts", as the docs write it ---------------------------------


# Using Annotated to name our dataset
@step
def training_data_loader() -> Annotated[pd.DataFrame, "iris_dataset"]:
    """Load the iris dataset as pandas dataframe."""
    iris = load_iris(as_frame=True)
    return iris.get("frame")


@pipeline
def feature_engineering_pipeline():
    training_data_loader()


# --- "Versioning artifacts manually" (the step renamed: a module holds one of each name) ------


@step(name="training_data_loader")
def raw_2023_loader() -> Annotated[
    pd.DataFrame,
    # Add `ArtifactConfig` to control more properties of your artifact
    ArtifactConfig(name="iris_dataset", version="raw_2023"),
]:
    iris = load_iris(as_frame=True)
    return iris.get("frame").head(100)


@pipeline(name="feature_engineering_pipeline")
def raw_2023_pipeline():
    raw_2023_loader()


# --- "Consuming a versioned artifact into a pipeline" ----------------------------------------


@step
def trainer(dataset: pd.DataFrame):
    received.append(dataset)


def iris_versions() -> tuple[ArtifactVersion, ArtifactVersion, ArtifactVersion]:
    """`iris_dataset` "1" (150 rows), "raw_2023" (100 rows) and "2" (150 rows, the latest)."""
    first = feature_engineering_pipeline().steps["training_data_loader"].outputs["iris_dataset"]
    raw = raw_2023_pipeline().steps["training_data_loader"].outputs["iris_dataset"]
    latest = (
        feature_engineering_pipeline.with_options(enable_cache=False)()
        .steps["training_data_loader"]
        .outputs["iris_dataset"]
    )
    return first, raw, latest


def consumed(run: PipelineRun) -> ArtifactVersion:
    """The version the run's trainer read, after checking that it executed (never cached)."""
    step_run = run.steps["trainer"]
    assert step_run.status == "COMPLETED"
    return step_run.inputs["dataset"]


def test_external_artifact_by_id_name_and_version_as_the_docs_write_it() -> None:
    first, raw, latest = iris_versions()
    assert [v.version for v in Client().get_artifact("iris_dataset").versions] == [
        "1",
        "raw_2023",
        "2",
    ]
    the_id = first.id  # the docs' "3a92ae32-a764-4420-98ba-07da8f742b76"

    @pipeline
    def training_pipeline():
        # Fetch by ID
        dataset_artifact = ExternalArtifact(id=UUID(the_id))

        # Fetch by name alone - uses latest version of this artifact
        dataset_artifact = ExternalArtifact(name="iris_dataset")

        # Fetch by name and version
        dataset_artifact = ExternalArtifact(name="iris_dataset", version="raw_2023")

        # Pass into any step
        trainer(dataset=dataset_artifact)

    received.clear()
    run = training_pipeline()
    assert consumed(run).id == raw.id  # the last assignment wins, as in plain Python
    assert len(received) == 1 and isinstance(received[0], pd.DataFrame)
    assert received[0].shape == (100, 5)
    assert [c.id for c in raw.downstream(depth=1).consumers_of(raw.id)] == [run.steps["trainer"].id]

    forms = {
        first.id: ExternalArtifact(id=UUID(the_id)),
        latest.id: ExternalArtifact(name="iris_dataset"),
        raw.id: ExternalArtifact(name="iris_dataset", version="raw_2023"),
    }
    for expected, dataset_artifact in forms.items():

        @pipeline(name="training_pipeline")
        def one_form() -> None:
            trainer(dataset=dataset_artifact)  # noqa: B023 (composed at once, below)

        received.clear()
        run = one_form()
        version = consumed(run)
        assert version.id == expected
        pd.testing.assert_frame_equal(received[0], version.load())
        assert run.steps["trainer"] in version.downstream(depth=1)
    assert Client().get_artifact_version(UUID(the_id)).version == "1"


def test_client_versions_as_pipeline_inputs_as_the_docs_write_it() -> None:
    first, raw, latest = iris_versions()
    the_id = first.id

    @pipeline
    def training_pipeline():
        client = Client()
        # Fetch by ID
        dataset_artifact = client.get_artifact_version(name_id_or_prefix=UUID(the_id))
        assert dataset_artifact.id == first.id

        # Fetch by name alone - uses the latest version of this artifact
        dataset_artifact = client.get_artifact_version(name_id_or_prefix="iris_dataset")
        assert dataset_artifact.id == latest.id

        # Fetch by name and version
        dataset_artifact = client.get_artifact_version(
            name_id_or_prefix="iris_dataset", version="raw_2023"
        )

        # Pass into any step
        trainer(dataset=dataset_artifact)

    received.clear()
    run = training_pipeline()
    assert consumed(run).id == raw.id
    assert received[0].shape == (100, 5)
    assert run.steps["trainer"].id in raw.downstream()


@step
def print_data(data: np.ndarray):
    print(data)
    received.append(data)


def test_external_artifact_with_a_value_as_the_docs_write_it() -> None:
    @pipeline
    def printing_pipeline():
        # One can also pass data directly into the ExternalArtifact
        # to create a new artifact on the fly
        data = ExternalArtifact(value=np.array([0]))

        print_data(data=data)

    received.clear()
    runs = [printing_pipeline(), printing_pipeline()]
    uploads = []
    for run in runs:
        step_run = run.steps["print_data"]
        assert step_run.status == "COMPLETED"  # an ExternalArtifact disables caching
        upload = step_run.inputs["data"]
        assert (upload.name, upload.source) == ("printing_pipeline::print_data::data", "EXTERNAL")
        np.testing.assert_array_equal(upload.load(), np.array([0]))
        assert [s.id for s in upload.downstream().consumers_of(upload.id)] == [step_run.id]
        uploads.append(upload)
    assert [u.version for u in uploads] == ["1", "2"]
    assert uploads[0].content_hash == uploads[1].content_hash
    assert [d.tolist() for d in received] == [[0], [0]]  # type: ignore[attr-defined]


@step
def array_trainer(data: np.ndarray) -> Annotated[int, "total"]:
    return int(data.sum())


def test_a_value_saved_with_and_without_visualizations() -> None:
    @pipeline
    def my_pipeline():
        array_trainer(data=ExternalArtifact(value=np.array([1, 2, 3])))

    @pipeline(name="quiet_pipeline")
    def quiet_pipeline():
        array_trainer(
            data=ExternalArtifact(
                value=np.array([1.0, 2.0, 3.0]),
                store_artifact_metadata=False,
                store_artifact_visualizations=False,
            )
        )

    shown = my_pipeline().steps["array_trainer"]
    quiet = quiet_pipeline().steps["array_trainer"]
    assert shown.outputs["total"].load() == quiet.outputs["total"].load() == 6
    assert [v.type for v in shown.inputs["data"].visualizations] == [VisualizationType.MARKDOWN]
    assert quiet.inputs["data"].visualizations == ()
    assert shown.inputs["data"].metadata["shape"] == [3]  # extracted and stored by default
    assert quiet.inputs["data"].metadata == {}  # store_artifact_metadata=False: none stored
    np.testing.assert_array_equal(quiet.inputs["data"].load(), [1.0, 2.0, 3.0])
    total = quiet.outputs["total"]
    graph = total.upstream(depth=1)
    assert [s.id for s in graph.producers_of(total.id)] == [quiet.id]
    assert quiet.inputs["data"] in graph
