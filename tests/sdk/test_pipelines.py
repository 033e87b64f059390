"""Pipelines end to end, over both transports (embedded, HTTP) and both databases.

These tests pin naming and versioning, which needs steps to execute again: their pipelines
turn caching off. Caching itself is pinned in test_cache.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import pytest
from sqlalchemy import create_engine, func, select

from api.storage.engine import sync_url
from api.storage.models import ArtifactVersion as VersionRow
from api.storage.models import StepOutput, StepRun
from sdk import (
    ArtifactConfig,
    ArtifactVersionExistsError,
    Client,
    InputError,
    NotFoundError,
    load_artifact,
    pipeline,
    step,
)
from sdk.client.views import ArtifactVersion

pytestmark = pytest.mark.usefixtures("lineageql")


def count_rows(database_url: str, model: Any) -> int:
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        engine.dispose()


def store_dirs(store_env: dict[str, str]) -> set[Path]:
    root = Path(store_env["LINEAGEQL_ARTIFACT_STORE"])
    return {p for p in root.glob("*/*/*") if p.is_dir()} if root.exists() else set()


@step
def load_numbers() -> Annotated[list[int], "numbers"]:
    return [3, 1, 2]


@step
def total(numbers: list[int], offset: int = 0) -> int:
    return sum(numbers) + offset


@pipeline(enable_cache=False)
def numbers_pipeline(offset: int = 0) -> None:
    total(load_numbers(), offset=offset)


def test_running_twice_gives_versions_1_and_2() -> None:
    first = numbers_pipeline()
    second = numbers_pipeline()
    assert first.status == second.status == "COMPLETED"
    assert first.steps["load_numbers"].outputs["numbers"].version == "1"
    assert second.steps["load_numbers"].outputs["numbers"].version == "2"
    assert second.steps["total"].outputs["output"].name == "numbers_pipeline::total::output"
    assert second.steps["total"].outputs["output"].version == "2"
    assert [v.version for v in Client().get_artifact("numbers").versions] == ["1", "2"]


def test_outputs_load_back_and_inputs_are_recorded() -> None:
    run = numbers_pipeline(offset=10)
    total_step = run.steps["total"]
    assert isinstance(total_step.outputs["output"], ArtifactVersion)
    assert total_step.outputs["output"].load() == 16
    assert total_step.inputs["numbers"].id == run.steps["load_numbers"].outputs["numbers"].id
    assert load_artifact("numbers") == [3, 1, 2]


def test_parameters_are_recorded_not_stored_as_artifacts(store_env: dict[str, str]) -> None:
    run = numbers_pipeline(offset=5)
    assert run.steps["total"].parameters == {"offset": 5}
    assert set(run.steps["total"].inputs) == {"numbers"}
    names = {a.name for a in Client().list_artifacts()}
    assert names == {"numbers", "numbers_pipeline::total::output"}


@step
def raw_data() -> Annotated[
    dict[str, int], ArtifactConfig(name="raw", version="raw_2023", tags=["raw", "v1"])
]:
    return {"rows": 3}


@pipeline(enable_cache=False)
def custom_version_pipeline() -> None:
    raw_data()


def test_custom_version_is_created_with_tags() -> None:
    run = custom_version_pipeline()
    version = run.steps["raw_data"].outputs["raw"]
    assert (version.name, version.version, version.is_custom_version) == ("raw", "raw_2023", True)
    assert set(version.tags) == {"raw", "v1"}
    assert Client().get_artifact_version("raw", "raw_2023").load() == {"rows": 3}


def test_rerunning_a_custom_version_fails_and_leaves_nothing(
    database_url: str, store_env: dict[str, str]
) -> None:
    custom_version_pipeline()
    versions_before = count_rows(database_url, VersionRow)
    edges_before = count_rows(database_url, StepOutput)
    dirs_before = store_dirs(store_env)
    with pytest.raises(ArtifactVersionExistsError, match="raw_2023"):
        custom_version_pipeline()
    runs = Client().get_pipeline("custom_version_pipeline").runs
    assert [r.status for r in runs] == ["FAILED", "COMPLETED"]
    failed_step = runs[0].steps["raw_data"]
    assert failed_step.status == "FAILED"
    assert "raw_2023" in (failed_step.error or "")
    assert failed_step.outputs == {}
    assert count_rows(database_url, VersionRow) == versions_before
    assert count_rows(database_url, StepOutput) == edges_before
    assert store_dirs(store_env) == dirs_before


def test_after_only_a_custom_version_the_next_auto_version_is_1() -> None:
    custom_version_pipeline()

    @step
    def more() -> Annotated[dict[str, int], "raw"]:
        return {"rows": 4}

    @pipeline(enable_cache=False)
    def auto_pipeline() -> None:
        more()

    run = auto_pipeline()
    assert run.steps["more"].outputs["raw"].version == "1"
    assert Client().get_artifact("raw").latest_version.version == "1"  # type: ignore[union-attr]


def test_default_names_and_multiple_outputs() -> None:
    @step
    def split() -> tuple[int, str]:
        return 1, "a"

    @step
    def as_one() -> tuple[int, str]:
        pair = (2, "b")
        return pair

    @pipeline(enable_cache=False)
    def naming() -> None:
        split()
        as_one()

    run = naming()
    split_outputs = run.steps["split"].outputs
    assert set(split_outputs) == {"output_0", "output_1"}
    assert split_outputs["output_0"].name == "naming::split::output_0"
    assert split_outputs["output_1"].load() == "a"
    one = run.steps["as_one"].outputs
    assert set(one) == {"output"}
    assert one["output"].name == "naming::as_one::output"
    assert one["output"].load() == (2, "b")


def test_annotated_multi_outputs_feed_downstream_steps() -> None:
    @step
    def splitter() -> tuple[Annotated[list[int], "train"], Annotated[list[int], "test"]]:
        return [1, 2, 3], [4]

    @step
    def count(train: list[int], test: list[int]) -> int:
        return len(train) * 10 + len(test)

    @pipeline(enable_cache=False)
    def split_pipeline() -> None:
        train, test = splitter()
        count(train, test)

    run = split_pipeline()
    assert set(run.steps["splitter"].outputs) == {"train", "test"}
    assert run.steps["count"].outputs["output"].load() == 31


def test_placeholders_and_substitutions_resolve_into_the_name() -> None:
    @step
    def dated() -> Annotated[int, "data_{date}_{time}_{experiment}"]:
        return 1

    @pipeline(enable_cache=False)
    def placeholder_pipeline() -> None:
        dated()

    run = placeholder_pipeline.with_options(substitutions={"experiment": "exp7"})()
    (version,) = run.steps["dated"].outputs.values()
    assert re.fullmatch(r"data_\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}_\d{6}_exp7", version.name)
    assert run.steps["dated"].outputs  # the key is the template


def test_step_substitutions_override_pipeline_ones() -> None:
    @step
    def named() -> Annotated[int, "model_{flavour}"]:
        return 1

    @pipeline(enable_cache=False)
    def flavours() -> None:
        named.with_options(substitutions={"flavour": "step"})()

    run = flavours.with_options(substitutions={"flavour": "pipeline"})()
    assert next(iter(run.steps["named"].outputs.values())).name == "model_step"


def test_non_json_literal_is_refused_before_anything_runs(database_url: str) -> None:
    @step
    def takes(obj: Any) -> None:
        raise AssertionError("must not run")

    @pipeline(enable_cache=False)
    def bad_input() -> None:
        takes(object())

    with pytest.raises(InputError, match=r"input 'obj' of step 'takes'.*ExternalArtifact"):
        bad_input()
    assert count_rows(database_url, StepRun) == 0
    with pytest.raises(NotFoundError):
        Client().get_pipeline("bad_input")


class BoomError(RuntimeError):
    pass


def test_a_failing_step_fails_the_run_and_keeps_earlier_outputs(
    database_url: str, store_env: dict[str, str]
) -> None:
    boom = BoomError("the data was bad")

    @step
    def fine() -> Annotated[list[int], "fine_data"]:
        return [1, 2]

    @step
    def explode(data: list[int]) -> Annotated[int, "never"]:
        raise boom

    @pipeline(enable_cache=False)
    def failing() -> None:
        explode(fine())

    with pytest.raises(BoomError) as caught:
        failing()
    assert caught.value is boom
    run = Client().get_pipeline("failing").last_run
    assert run.status == "FAILED"
    assert "BoomError: the data was bad" in (run.error or "")
    assert run.steps["explode"].status == "FAILED"
    assert "the data was bad" in (run.steps["explode"].error or "")
    assert run.steps["explode"].outputs == {}
    assert load_artifact("fine_data") == [1, 2]
    with pytest.raises(NotFoundError):
        Client().get_artifact("never")
    assert len(store_dirs(store_env)) == 1


def test_a_wrong_return_type_fails_the_step_clearly() -> None:
    @step
    def liar() -> int:
        return "not an int"  # type: ignore[return-value]

    @pipeline(enable_cache=False)
    def lying() -> None:
        liar()

    with pytest.raises(TypeError, match=r"output 'output' is a str, but the step declares int"):
        lying()
    assert Client().get_pipeline("lying").last_run.steps["liar"].status == "FAILED"


def test_a_wrong_input_type_fails_the_step_clearly() -> None:
    @step
    def produce() -> Any:
        return "text"

    @step
    def consume(value: int) -> None:
        raise AssertionError("must not run")

    @pipeline(enable_cache=False)
    def mismatched() -> None:
        consume(produce())

    with pytest.raises(InputError, match=r"input 'value' of step 'consume' is a str"):
        mismatched()


def test_missing_version_error_names_artifact_version_and_existing() -> None:
    numbers_pipeline()
    numbers_pipeline()
    with pytest.raises(NotFoundError) as caught:
        Client().get_artifact_version("numbers", "7")
    message = str(caught.value)
    assert "'numbers'" in message and "'7'" in message
    assert "'2', '1'" in message


def test_unknown_artifact_is_not_found() -> None:
    with pytest.raises(NotFoundError, match="no artifact is named 'nope'"):
        load_artifact("nope")


def test_client_navigates_pipeline_runs_steps_outputs() -> None:
    numbers_pipeline()
    second = numbers_pipeline(offset=1)
    client = Client()
    pipeline_view = client.get_pipeline("numbers_pipeline")
    assert [r.id for r in pipeline_view.runs][0] == second.id
    last = pipeline_view.last_run
    assert last.id == second.id and last.pipeline_name == "numbers_pipeline"
    output = last.steps["total"].outputs["output"]
    assert output.load() == 7
    assert output.producer is not None and output.producer.name == "total"
    assert client.get_pipeline_run(second.id).steps["total"].parameters == {"offset": 1}
    assert client.get_artifact_version(output.id).version == output.version


def test_steps_defined_inside_functions_and_calls_outside_pipelines() -> None:
    def make_step(factor: int) -> Any:
        @step
        def scale(value: int = 2) -> int:
            return value * factor

        return scale

    scale = make_step(3)
    assert scale(4) == 12  # outside a pipeline a step is a plain function

    @pipeline(enable_cache=False)
    def scaled() -> None:
        scale(value=5)

    assert scaled().steps["scale"].outputs["output"].load() == 15


def test_the_same_step_twice_gets_distinct_names() -> None:
    @pipeline(enable_cache=False)
    def twice() -> None:
        total(load_numbers(), offset=1)
        total(load_numbers(), offset=2)

    run = twice()
    assert set(run.steps) == {"load_numbers", "load_numbers_2", "total", "total_2"}
    assert run.steps["total_2"].outputs["output"].load() == 8
    assert [v.version for v in Client().get_artifact("numbers").versions] == ["1", "2"]


def test_an_unknown_placeholder_is_refused_before_anything_runs(database_url: str) -> None:
    @step
    def first() -> int:
        return 1

    @step
    def templated(x: int) -> Annotated[int, "model_{flavour}"]:
        return x

    @pipeline(enable_cache=False)
    def unknown_placeholder() -> None:
        templated(first())

    with pytest.raises(InputError, match="flavour"):
        unknown_placeholder()
    assert count_rows(database_url, StepRun) == 0


def test_external_artifacts_and_client_versions_are_recorded_as_inputs() -> None:
    from sdk import ExternalArtifact, save_artifact

    saved = save_artifact([10, 20], name="outside")

    @step
    def add_all(a: list[int], b: list[int], c: list[int]) -> int:
        return sum(a) + sum(b) + sum(c)

    @pipeline(enable_cache=False)
    def external() -> None:
        add_all(
            a=ExternalArtifact(name="outside"),
            b=Client().get_artifact_version(saved.id),
            c=ExternalArtifact(value=[1]),
        )

    run = external()
    inputs = run.steps["add_all"].inputs
    assert run.steps["add_all"].outputs["output"].load() == 61
    assert inputs["a"].id == inputs["b"].id == saved.id
    assert inputs["c"].source == "EXTERNAL" and inputs["c"].name == "external::add_all::c"
