"""Inputs from outside the pipeline: the four `ExternalArtifact` forms and `ArtifactVersion`s
from `Client`, all resolved before the first step runs and recorded as the step's inputs."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import pytest

from sdk import (
    Client,
    ExternalArtifact,
    InputError,
    NotFoundError,
    pipeline,
    save_artifact,
    step,
)
from sdk.client.views import ArtifactVersion, PipelineRun
from sdk.errors import LineageQLError
from sdk.materializers.builtin import BuiltInContainerMaterializer


@step
def total(numbers: list[int]) -> int:
    return sum(numbers)


@step
def add_all(a: list[int], b: list[int], c: list[int], d: list[int]) -> int:
    return sum(a) + 10 * sum(b) + 100 * sum(c) + 1000 * sum(d)


def saved_numbers() -> tuple[ArtifactVersion, ArtifactVersion, ArtifactVersion]:
    """`numbers` versions "1" = [1], "raw_2023" = [2] and "2" = [3] (the latest)."""
    return (
        save_artifact([1], name="numbers"),
        save_artifact([2], name="numbers", version="raw_2023"),
        save_artifact([3], name="numbers"),
    )


def run_count() -> int:
    return len(Client().list_pipeline_runs())


def version_ids() -> set[str]:
    return {v.id for v in Client().list_artifact_versions()}


@pytest.mark.usefixtures("lineageql")
def test_the_four_forms_resolve_are_recorded_and_never_cached() -> None:
    first, raw, latest = saved_numbers()

    @pipeline
    def four_forms() -> None:
        add_all(
            a=ExternalArtifact(id=first.id),
            b=ExternalArtifact(name="numbers"),
            c=ExternalArtifact(name="numbers", version="raw_2023"),
            d=ExternalArtifact(value=[4], materializer=BuiltInContainerMaterializer),
        )

    runs = [four_forms(), four_forms()]
    for run in runs:
        step_run = run.steps["add_all"]
        assert step_run.status == "COMPLETED"  # never CACHED, though nothing changed
        assert step_run.outputs["output"].load() == 1 + 30 + 200 + 4000
        inputs = step_run.inputs
        assert (inputs["a"].id, inputs["b"].id, inputs["c"].id) == (first.id, latest.id, raw.id)
        uploaded = inputs["d"]
        assert (uploaded.name, uploaded.source) == ("four_forms::add_all::d", "EXTERNAL")
        assert uploaded.materializer.endswith(":BuiltInContainerMaterializer")
        assert uploaded.load() == [4]
    assert [v.version for v in Client().get_artifact("four_forms::add_all::d").versions] == [
        "1",
        "2",
    ]
    consumers = first.downstream(depth=1).consumers_of(first.id)
    assert {c.id for c in consumers} == {run.steps["add_all"].id for run in runs}


@pytest.mark.usefixtures("lineageql")
def test_a_client_artifact_version_is_an_input_and_shows_in_lineage() -> None:
    version = save_artifact([5, 6], name="outside")
    fetched = Client().get_artifact_version("outside")

    @pipeline(enable_cache=False)
    def uses_client_version() -> None:
        total(fetched)

    run = uses_client_version()
    step_run = run.steps["total"]
    assert step_run.inputs["numbers"].id == version.id
    assert step_run.outputs["output"].load() == 11
    downstream = version.downstream(depth=2)
    assert [c.id for c in downstream.consumers_of(version.id)] == [step_run.id]
    assert step_run.outputs["output"].id in {v.id for v in downstream.artifact_versions}
    upstream = step_run.outputs["output"].upstream(depth=2)
    assert version.id in {v.id for v in upstream.artifact_versions}


@pytest.mark.usefixtures("lineageql")
def test_the_value_is_uploaded_before_the_first_step_runs() -> None:
    seen: list[str] = []

    @step
    def first_step() -> int:
        # the upload for the second step's input already exists while the first step runs
        seen.extend(v.source for v in Client().get_artifact("early::total::numbers").versions)
        return 1

    @pipeline(enable_cache=False)
    def early() -> None:
        first_step()
        total(ExternalArtifact(value=[7, 8]))

    run = early()
    assert seen == ["EXTERNAL"]
    assert run.steps["total"].outputs["output"].load() == 15


class BoomError(RuntimeError):
    pass


def test_a_failing_first_step_keeps_the_uploaded_version(store_env: dict[str, str]) -> None:
    """The upload is data recorded like `save_artifact`: a later failure does not undo it."""

    @step
    def explode() -> int:
        raise BoomError("first step failed")

    @pipeline(enable_cache=False)
    def failing() -> None:
        explode()
        total(ExternalArtifact(value=[1, 2]))

    with pytest.raises(BoomError):
        failing()
    run = Client().get_pipeline("failing").last_run
    assert run.status == "FAILED" and set(run.steps) == {"explode"}
    uploaded = Client().get_artifact_version("failing::total::numbers")
    assert (uploaded.source, uploaded.version) == ("EXTERNAL", "1")
    assert uploaded.load() == [1, 2]


def test_latest_means_latest_when_the_run_starts(store_env: dict[str, str]) -> None:
    save_artifact([1], name="numbers")

    @step
    def produce_numbers() -> Annotated[list[int], "numbers"]:
        return [100]

    @pipeline(enable_cache=False)
    def produces_then_reads() -> None:
        produce_numbers()
        total(ExternalArtifact(name="numbers"))

    run = produces_then_reads()
    assert run.steps["produce_numbers"].outputs["numbers"].version == "2"
    assert run.steps["total"].inputs["numbers"].version == "1"
    assert run.steps["total"].outputs["output"].load() == 1


def test_one_external_object_used_twice_is_resolved_once(store_env: dict[str, str]) -> None:
    shared = ExternalArtifact(value=[3])

    @pipeline(enable_cache=False)
    def twice() -> None:
        total(shared)
        total(shared)

    run = twice()
    assert run.steps["total"].inputs["numbers"].id == run.steps["total_2"].inputs["numbers"].id
    assert len(Client().get_artifact("twice::total::numbers").versions) == 1


@step
def load_dataset() -> Annotated[list[int], "my_dataset"]:
    return [10, 20]


@pipeline(enable_cache=False)
def branching(dataset_version: str | None = None) -> None:
    if dataset_version:
        dataset = ExternalArtifact(name="my_dataset", version=dataset_version)
    else:
        dataset = load_dataset()
    total(dataset)


@pytest.mark.usefixtures("lineageql")
def test_a_pipeline_branches_on_its_parameters_when_composed() -> None:
    loaded = branching()
    assert set(loaded.steps) == {"load_dataset", "total"}
    made = loaded.steps["load_dataset"].outputs["my_dataset"]
    reused = branching(dataset_version="1")
    assert set(reused.steps) == {"total"}
    assert reused.steps["total"].inputs["numbers"].id == made.id
    assert reused.steps["total"].outputs["output"].load() == 30


# --- refusals: before any step runs, with nothing recorded ----------------------------------


def refused_before_the_run(compose: Any, error: type[LineageQLError], *needles: str) -> str:
    """Call a pipeline that must fail before it starts; check that nothing was recorded."""
    runs, versions = run_count(), version_ids()

    @pipeline(name="refused")
    def refused() -> None:
        compose()

    with pytest.raises(error) as caught:
        refused()
    message = str(caught.value)
    for needle in needles:
        assert needle in message, message
    assert run_count() == runs
    assert version_ids() == versions
    with pytest.raises(NotFoundError):
        Client().get_pipeline("refused")
    return message


@pytest.mark.usefixtures("lineageql")
def test_unknown_names_versions_and_ids_fail_before_anything_runs() -> None:
    saved_numbers()
    save_artifact([0], name="numbers_v2")

    def uses(external: ExternalArtifact) -> Any:
        def compose() -> None:
            total(ExternalArtifact(value=[1]))  # uploads come last: never reached
            total(external)

        return compose

    message = refused_before_the_run(
        uses(ExternalArtifact(name="numbers", version="7")),
        NotFoundError,
        "ExternalArtifact(name='numbers', version='7')",
        "input 'numbers' of step 'total_2'",
        "has no version '7'",
        "latest versions: '2', 'raw_2023', '1'",
    )
    assert "did you mean" not in message
    refused_before_the_run(
        uses(ExternalArtifact(name="numbrs")),
        NotFoundError,
        "no artifact is named 'numbrs'",
        "(did you mean 'numbers'",
    )
    missing_id = str(uuid.uuid4())
    refused_before_the_run(
        uses(ExternalArtifact(id=missing_id)),
        NotFoundError,
        f"ExternalArtifact(id={missing_id!r})",
        f"no artifact version has id {missing_id!r}",
    )
    refused_before_the_run(
        uses(ExternalArtifact(id="numbers")),
        NotFoundError,
        "no artifact version has id 'numbers'",
        "ExternalArtifact(name=...)",
    )


def test_a_version_from_another_store_fails_before_anything_runs(
    store_env: dict[str, str],
) -> None:
    real = save_artifact([1], name="numbers")
    foreign = ArtifactVersion(**{**real.__dict__, "id": str(uuid.uuid4())})
    refused_before_the_run(
        lambda: total(foreign),
        NotFoundError,
        f"artifact version numbers:1 (id {foreign.id})",
        "another store",
    )


@pytest.mark.parametrize(
    ("arguments", "needle"),
    [
        ({"id": "x", "name": "y"}, "got id, name"),
        ({"name": "y", "value": [1]}, "got name, value"),
        ({"id": "x", "value": [1]}, "got id, value"),
        ({"id": "x", "name": "y", "value": 1}, "got id, name, value"),
        ({}, "got none of them"),
        ({"id": "x", "version": "1"}, "version=...) only works with name"),
        ({"value": [1], "version": "1"}, "version=...) only works with name"),
        ({"name": "y", "materializer": BuiltInContainerMaterializer}, "needs value=..."),
    ],
)
def test_an_ambiguous_external_artifact_is_refused_before_the_run(
    store_env: dict[str, str], arguments: dict[str, Any], needle: str
) -> None:
    refused_before_the_run(
        lambda: total(ExternalArtifact(**arguments)), InputError, "ExternalArtifact", needle
    )


def test_a_refused_run_can_be_fixed_and_rerun(store_env: dict[str, str]) -> None:
    def compose() -> None:
        total(ExternalArtifact(name="late"))

    refused_before_the_run(compose, NotFoundError, "no artifact is named 'late'")
    save_artifact([4], name="late")

    @pipeline(enable_cache=False)
    def fixed() -> None:
        compose()

    run: PipelineRun = fixed()
    assert run.steps["total"].outputs["output"].load() == 4
