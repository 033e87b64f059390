"""Step caching: hits in one round trip, every kind of miss with its reason, early cut-off."""

from __future__ import annotations

import importlib.util
import logging
import shutil
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import pytest

from sdk import (
    ArtifactConfig,
    ArtifactVersionExistsError,
    Client,
    ExternalArtifact,
    pipeline,
    save_artifact,
    step,
)
from sdk.materializers import BaseMaterializer
from sdk.materializers.builtin import BuiltInContainerMaterializer
from sdk.pipeline.steps import PipelineDefinition

CALLS: list[str] = []


def load_module(tmp_path: Path, name: str, source: str) -> ModuleType:
    """Steps from a real source file, as a user's module would define them."""
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def two_step_pipeline(module: ModuleType, **options: Any) -> PipelineDefinition:
    @pipeline(name="cached_pipeline", **options)
    def cached_pipeline(factor: int = 2) -> None:
        module.consume(module.produce(), factor=factor)

    return cached_pipeline


PRODUCE = """
from tests.sdk.test_cache import CALLS
from sdk import step

@step
def produce() -> list[int]:
    CALLS.append("produce")
    return [1, 2, 3]

@step
def consume(data: list[int], factor: int = 2) -> int:
    CALLS.append("consume")
    return sum(data) * factor
"""


@pytest.fixture
def calls() -> list[str]:
    CALLS.clear()
    return CALLS


def statuses(run: Any) -> dict[str, str]:
    return {name: s.status for name, s in run.steps.items()}


def reason(run: Any, step_name: str) -> str:
    query = "query ($id: ID!) { stepRun(id: $id) { cacheKey cacheReason } }"
    data = Client().graphql(query, {"id": run.steps[step_name].id})["stepRun"]
    return str(data["cacheReason"])


@pytest.mark.usefixtures("lineageql")
def test_an_unchanged_rerun_is_cached_and_reuses_the_same_versions(
    tmp_path: Path, calls: list[str]
) -> None:
    module = load_module(tmp_path, "steps_v1", PRODUCE)
    first = two_step_pipeline(module)()
    assert calls == ["produce", "consume"]
    calls.clear()
    second = two_step_pipeline(module)()
    assert calls == []
    assert statuses(second) == {"produce": "CACHED", "consume": "CACHED"}
    for name in ("produce", "consume"):
        cached, original = second.steps[name], first.steps[name]
        assert cached.original_step_run_id == original.id
        assert cached.outputs["output"].id == original.outputs["output"].id
        assert cached.cache_key == original.cache_key is not None
    assert second.steps["consume"].outputs["output"].load() == 12
    assert [
        v.version for v in Client().get_artifact("cached_pipeline::consume::output").versions
    ] == ["1"]
    assert reason(second, "consume") == f"cached from run {first.name!r}"


def test_a_hit_costs_one_round_trip(
    tmp_path: Path, store_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    module = load_module(tmp_path, "steps_rt", PRODUCE)
    two_step_pipeline(module)()
    inner = Client().transport
    sent: list[str] = []

    class Counting:
        def execute(self, document: str, variables: Any = None) -> dict[str, Any]:
            sent.append(document.split("(")[0].split()[-1])
            return inner.execute(document, variables)

    two_step_pipeline(module).with_options(client=Client(Counting()))()
    assert sent == ["StartPipelineRun", "StartStepRun", "StartStepRun", "FinishPipelineRun"]


def test_comments_docstrings_and_blank_lines_do_not_invalidate(
    tmp_path: Path, store_env: dict[str, str], calls: list[str]
) -> None:
    two_step_pipeline(load_module(tmp_path, "steps_a", PRODUCE))()
    cosmetic = PRODUCE.replace(
        'def produce() -> list[int]:\n    CALLS.append("produce")',
        'def produce() -> list[int]:\n    """Now documented."""\n\n    # a comment\n'
        '    CALLS.append("produce")  # another',
    ).replace("@step\ndef consume", "@step(name='consume')\ndef consume")
    calls.clear()
    run = two_step_pipeline(load_module(tmp_path, "steps_b", cosmetic))()
    assert calls == []
    assert statuses(run) == {"produce": "CACHED", "consume": "CACHED"}


def test_a_change_of_logic_misses_and_says_code_changed(
    tmp_path: Path, store_env: dict[str, str], calls: list[str]
) -> None:
    two_step_pipeline(load_module(tmp_path, "steps_c", PRODUCE))()
    changed = PRODUCE.replace("return sum(data) * factor", "return sum(data) * factor + 1")
    calls.clear()
    run = two_step_pipeline(load_module(tmp_path, "steps_d", changed))()
    assert calls == ["consume"]
    assert statuses(run) == {"produce": "CACHED", "consume": "COMPLETED"}
    assert reason(run, "consume") == "code changed"
    assert run.steps["consume"].outputs["output"].load() == 13


def test_early_cut_off_when_an_upstream_step_reproduces_identical_bytes(
    tmp_path: Path, store_env: dict[str, str], calls: list[str]
) -> None:
    two_step_pipeline(load_module(tmp_path, "steps_e", PRODUCE))()
    same_output = PRODUCE.replace("return [1, 2, 3]", "return [x for x in (1, 2, 3)]")
    calls.clear()
    run = two_step_pipeline(load_module(tmp_path, "steps_f", same_output))()
    assert calls == ["produce"]
    assert statuses(run) == {"produce": "COMPLETED", "consume": "CACHED"}
    assert reason(run, "produce") == "code changed"


def test_a_changed_parameter_misses_and_names_it(
    tmp_path: Path, store_env: dict[str, str], calls: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    module = load_module(tmp_path, "steps_g", PRODUCE)
    two_step_pipeline(module)(factor=2)
    calls.clear()
    with caplog.at_level(logging.INFO, logger="lineageql"):
        run = two_step_pipeline(module)(factor=3)
    assert calls == ["consume"]
    assert reason(run, "consume") == "parameter 'factor' changed"
    assert "Step produce cached: cached from run" in caplog.text
    assert "Step consume executed in" in caplog.text
    assert "(not cached: parameter 'factor' changed)" in caplog.text


def test_a_changed_input_misses_and_names_it(store_env: dict[str, str], calls: list[str]) -> None:
    @step
    def total(data: list[int]) -> int:
        CALLS.append("total")
        return sum(data)

    def run_on(version: Any) -> Any:
        @pipeline(name="inputs_pipeline")
        def inputs_pipeline() -> None:
            total(version)

        return inputs_pipeline()

    first = save_artifact([1, 2], name="numbers")
    run_on(first)
    run_on(save_artifact([1, 2], name="numbers"))  # same bytes, new version: still a hit
    assert calls == ["total"]
    run = run_on(save_artifact([5], name="numbers"))
    assert calls == ["total", "total"]
    assert reason(run, "total") == "input 'data' changed"


class ShoutingMaterializer(BuiltInContainerMaterializer):
    """The same files as the built-in one; a different materializer all the same."""


def test_a_changed_materializer_or_output_name_misses(
    store_env: dict[str, str], calls: list[str]
) -> None:
    def build(
        materializer: type[BaseMaterializer] | None, renamed: bool = False
    ) -> PipelineDefinition:
        if renamed:

            @step(name="make", output_materializers=materializer)
            def make() -> Annotated[list[int], "renamed"]:
                CALLS.append("make")
                return [1]
        else:

            @step(name="make", output_materializers=materializer)
            def make() -> Annotated[list[int], "made"]:
                CALLS.append("make")
                return [1]

        @pipeline(name="outputs_pipeline")
        def outputs_pipeline() -> None:
            make()

        return outputs_pipeline

    build(None)()
    build(None)()
    assert calls == ["make"]
    run = build(ShoutingMaterializer)()
    assert calls == ["make", "make"]
    assert "changed" in reason(run, "make")
    run = build(ShoutingMaterializer, renamed=True)()
    assert calls == ["make"] * 3
    assert reason(run, "make") == "output configuration changed"


def test_enable_cache_false_on_the_step_or_the_pipeline_and_the_step_wins(
    tmp_path: Path, store_env: dict[str, str], calls: list[str]
) -> None:
    module = load_module(tmp_path, "steps_h", PRODUCE)
    two_step_pipeline(module)()
    calls.clear()
    run = two_step_pipeline(module, enable_cache=False)()
    assert calls == ["produce", "consume"]
    assert reason(run, "consume") == "caching is disabled on the pipeline"
    calls.clear()
    module.consume = module.consume.with_options(enable_cache=True)
    run = two_step_pipeline(module, enable_cache=False)()
    assert calls == ["produce"]  # the step's own setting wins over the pipeline's
    assert statuses(run)["consume"] == "CACHED"
    calls.clear()
    module.produce = module.produce.with_options(enable_cache=False)
    run = two_step_pipeline(module)()
    assert calls == ["produce"]
    assert reason(run, "produce") == "caching is disabled on the step"


def test_an_external_artifact_input_is_never_cached(
    store_env: dict[str, str], calls: list[str]
) -> None:
    save_artifact([1, 2, 3], name="outside")

    @step
    def use(data: list[int]) -> int:
        CALLS.append("use")
        return len(data)

    @pipeline
    def external_pipeline() -> None:
        use(ExternalArtifact(name="outside"))

    external_pipeline()
    run = external_pipeline()
    assert calls == ["use", "use"]
    assert reason(run, "use") == "input 'data' is an ExternalArtifact, which is never cached"


@pytest.mark.usefixtures("lineageql")
def test_pruned_data_is_a_miss_that_says_why(
    tmp_path: Path, store_env: dict[str, str], calls: list[str]
) -> None:
    module = load_module(tmp_path, "steps_i", PRODUCE)
    first = two_step_pipeline(module)()
    shutil.rmtree(first.steps["consume"].outputs["output"].uri)
    calls.clear()
    run = two_step_pipeline(module)()
    assert calls == ["consume"]
    assert statuses(run) == {"produce": "CACHED", "consume": "COMPLETED"}
    assert "missing from the artifact store" in reason(run, "consume")
    assert run.steps["consume"].outputs["output"].load() == 12


def test_a_custom_version_fails_only_when_the_step_really_runs_again(
    store_env: dict[str, str],
) -> None:
    @step
    def release() -> Annotated[dict[str, int], ArtifactConfig(name="release", version="v_one")]:
        return {"a": 1}

    @pipeline
    def release_pipeline() -> None:
        release()

    release_pipeline()
    cached = release_pipeline()
    assert statuses(cached) == {"release": "CACHED"}
    with pytest.raises(ArtifactVersionExistsError, match="v_one"):
        release_pipeline.with_options(enable_cache=False)()
    assert [v.version for v in Client().get_artifact("release").versions] == ["v_one"]
