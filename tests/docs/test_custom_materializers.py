"""ZenML docs, "Handle custom data types": a materializer that writes `data.txt` with plain
`open()` under `self.uri`, a step that returns the custom type and one that consumes it.
Different data gives a different content hash, so the consumer executes again; equal data
may be served from the cache."""

from __future__ import annotations

import logging
import os
from typing import Type  # noqa: UP035 (as the docs write it)

import pytest

from sdk import Client, pipeline, step
from sdk.materializers import BaseMaterializer

pytestmark = pytest.mark.usefixtures("lineageql")

seen: list[str] = []  # names the consuming step was given


# As the docs write it; `ASSOCIATED_ARTIFACT_TYPE = ArtifactType.DATA` is left out (this SDK
# has no artifact types).
class MyObj:
    def __init__(self, name: str):
        self.name = name


class MyMaterializer(BaseMaterializer):
    ASSOCIATED_TYPES = (MyObj,)

    def load(self, data_type: Type[MyObj]) -> MyObj:  # noqa: UP006
        """Read from artifact store."""
        with open(os.path.join(self.uri, "data.txt"), "r") as f:  # noqa: UP015
            name = f.read()
        return MyObj(name=name)

    def save(self, my_obj: MyObj) -> None:
        """Write to artifact store."""
        with open(os.path.join(self.uri, "data.txt"), "w") as f:
            f.write(my_obj.name)


@step(output_materializers=MyMaterializer)
def my_first_step() -> MyObj:
    """Step that returns an object of type MyObj."""
    return MyObj("my_object")


@step
def my_second_step(my_obj: MyObj) -> None:
    """Step that logs the input object and returns nothing."""
    logging.info(f"The following object was passed to this step: `{my_obj.name}`")
    seen.append(my_obj.name)


@pipeline
def first_pipeline():
    output_1 = my_first_step()
    my_second_step(output_1)


def test_the_docs_pipeline_writes_with_plain_open_and_reads_back() -> None:
    seen.clear()
    run = first_pipeline()

    output = run.steps["my_first_step"].outputs["output"]
    assert (output.name, output.version) == ("first_pipeline::my_first_step::output", "1")
    assert output.materializer.endswith(":MyMaterializer")
    assert output.load().name == "my_object"
    assert output.size_bytes == len("my_object") and output.content_hash
    assert seen == ["my_object"]
    assert run.steps["my_second_step"].inputs["my_obj"].id == output.id
    assert [s.id for s in output.downstream().consumers_of(output.id)] == [
        run.steps["my_second_step"].id
    ]

    again = first_pipeline()  # nothing changed: both steps come from the cache
    assert [s.status for s in again.steps.values()] == ["CACHED", "CACHED"]
    assert again.steps["my_first_step"].outputs["output"].id == output.id
    assert seen == ["my_object"]


# The same pipeline with the object's name as a parameter, to change the data.
@step(name="my_first_step", output_materializers=MyMaterializer)
def named_first_step(name: str = "my_object") -> MyObj:
    return MyObj(name)


@pipeline(name="first_pipeline")
def named_pipeline(name: str = "my_object") -> None:
    my_second_step(named_first_step(name=name))


def test_different_data_reruns_the_consumer_and_equal_data_may_hit_the_cache() -> None:
    seen.clear()
    first = named_pipeline(name="alpha")
    second = named_pipeline(name="beta")
    alpha = first.steps["my_first_step"].outputs["output"]
    beta = second.steps["my_first_step"].outputs["output"]

    assert alpha.content_hash != beta.content_hash
    assert second.steps["my_second_step"].status == "COMPLETED"  # not CACHED
    assert second.steps["my_second_step"].inputs["my_obj"].id == beta.id
    assert seen == ["alpha", "beta"]
    assert [v.version for v in Client().get_artifact(alpha.name).versions] == ["1", "2"]
    assert [alpha.load().name, beta.load().name] == ["alpha", "beta"]

    # the same parameter again: both steps come from the cache
    repeated = named_pipeline(name="beta")
    assert [s.status for s in repeated.steps.values()] == ["CACHED", "CACHED"]

    # the producer re-executes (caching off) and writes the same bytes: the consumer is cached
    recomputed = pipeline_with_uncached_producer(name="beta")
    rewritten = recomputed.steps["my_first_step"]
    assert rewritten.status == "COMPLETED"
    assert rewritten.outputs["output"].id != beta.id
    assert rewritten.outputs["output"].content_hash == beta.content_hash
    consumer = recomputed.steps["my_second_step"]
    assert consumer.status == "CACHED"
    original = consumer.original_step_run
    assert original is not None and original.id == second.steps["my_second_step"].id
    assert seen == ["alpha", "beta"]

    # with caching off everywhere, the consumer executes on equal data too
    every = named_pipeline.with_options(enable_cache=False)(name="beta")
    assert [s.status for s in every.steps.values()] == ["COMPLETED", "COMPLETED"]
    assert seen == ["alpha", "beta", "beta"]
    lineage = every.steps["my_first_step"].outputs["output"].downstream()
    assert every.steps["my_second_step"] in lineage


@pipeline(name="first_pipeline")
def pipeline_with_uncached_producer(name: str = "my_object") -> None:
    my_second_step(named_first_step.with_options(enable_cache=False)(name=name))
