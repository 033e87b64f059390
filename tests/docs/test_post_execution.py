"""ZenML docs, "Data versioning and artifacts management": the post-execution walk from all
pipelines down to one step output, read into memory; and "Fetching pipelines": a run by
name or id through `Client().get_pipeline_run`."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import pytest

from sdk import Client, pipeline, step
from sdk.client.post_execution import get_pipeline, get_pipelines, get_run


@step(name="first_step")
def first_step_v1(offset: int = 0) -> Annotated[int, "output_name"]:
    return 1 + offset


@step(name="first_step")
def first_step_v2(offset: int = 0) -> Annotated[int, "output_name"]:
    return 2 * (2 + offset)


@step
def second_step(value: int) -> Annotated[int, "doubled"]:
    return value * 2


@pipeline(name="pipeline_x")
def pipeline_x_v1(offset: int = 0) -> None:
    second_step(first_step_v1(offset=offset))


@pipeline(name="pipeline_x")
def pipeline_x_v2(offset: int = 0) -> None:
    second_step(first_step_v2(offset=offset))


@pipeline
def older_pipeline() -> None:
    second_step(first_step_v1())


@pytest.mark.usefixtures("lineageql")
def test_the_post_execution_walk_as_the_docs_write_it() -> None:
    v1_runs = [pipeline_x_v1(), pipeline_x_v1(offset=1)]
    older_pipeline()
    v2_runs = [pipeline_x_v2(), pipeline_x_v2(offset=1)]

    # Get all pipelines
    pipelines = get_pipelines()

    # Get the latest pipeline
    pipeline_x = pipelines[0]

    # Get the latest version of that pipeline
    latest_version = pipeline_x.versions[0]

    # Get the last run of that version
    last_run = latest_version.runs[0]

    # Get your desired step
    step = last_run.get_step(step="first_step")

    # Get the output of the step
    output = step.outputs["output_name"]

    # Read the value into memory via its materializer
    assert output.read() == 2 * (2 + 1)

    assert [p.name for p in pipelines] == ["pipeline_x", "older_pipeline"]
    assert last_run.id == v2_runs[-1].id
    assert [r.id for r in pipeline_x.runs] == [r.id for r in reversed(v1_runs + v2_runs)]
    assert [v.version for v in pipeline_x.versions] == ["2", "1"]
    assert [r.id for r in latest_version.runs] == [r.id for r in reversed(v2_runs)]
    assert [r.id for r in pipeline_x.versions[1].runs] == [r.id for r in reversed(v1_runs)]
    assert set(latest_version.steps) == {"first_step", "second_step"}
    assert latest_version.steps["first_step"] != pipeline_x.versions[1].steps["first_step"]
    assert latest_version.steps["second_step"] == pipeline_x.versions[1].steps["second_step"]
    assert (output.name, output.version) == ("output_name", "4")
    doubled = last_run.get_step(step="second_step").outputs["doubled"]
    assert doubled.read() == 12
    assert [s.id for s in output.downstream().consumers_of(output.id)] == [
        last_run.steps["second_step"].id
    ]
    assert get_pipeline(pipeline_x_v1).name == get_pipeline("pipeline_x").name == "pipeline_x"
    assert get_run(last_run.name).id == last_run.id


@pytest.mark.usefixtures("lineageql")
def test_a_run_by_id_uuid_or_name() -> None:
    run = pipeline_x_v1()

    by_uuid = Client().get_pipeline_run(UUID(run.id))
    by_name = Client().get_pipeline_run(run.name)
    by_prefix = Client().get_pipeline_run(run.id[:8])

    assert by_uuid.id == by_name.id == by_prefix.id == run.id
    assert by_name.get_step(step="first_step").outputs["output_name"].read() == 1
