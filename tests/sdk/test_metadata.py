"""Run metadata in the SDK, embedded and over HTTP, on SQLite and PostgreSQL: `log_metadata`
inside a step (the step run, or an output attached when it is registered) and outside one (a
named version, a step run, a pipeline run), typed values that come back typed, latest wins,
clear refusals that log nothing, and `list_*(metadata=..., sort_by=...)` in ZenML's syntax
checked against a Python filter over the same random data."""

from __future__ import annotations

import json
import random
from typing import Annotated, Any

import pytest

from sdk import (
    ArtifactConfig,
    ArtifactType,
    Client,
    DType,
    Path,
    StorageSize,
    Uri,
    log_metadata,
    pipeline,
    save_artifact,
    step,
)
from sdk.errors import InputError, NotFoundError

pytestmark = pytest.mark.usefixtures("lineageql")


@step
def train() -> Annotated[dict[str, int], ArtifactConfig(name="model", run_metadata={"a": 1})]:
    log_metadata({"loss": 0.25, "uri": Uri("s3://bucket/model")})  # the step run
    log_metadata({"accuracy": 0.9, "size": StorageSize(2048)}, infer_artifact=True)
    log_metadata({"a": 2}, infer_artifact=True)  # latest wins over ArtifactConfig's
    return {"weights": 1}


@step
def split() -> tuple[
    Annotated[list[int], "train_data"], Annotated[list[int], ArtifactConfig(name="test_data")]
]:
    log_metadata({"rows": 3}, artifact_name="train_data", infer_artifact=True)
    log_metadata({"rows": 1, "dtype": DType("int64")}, artifact_name="test_data")
    return [1, 2, 3], [4]


@pipeline
def training() -> None:
    train()
    split()


def test_in_a_step_metadata_goes_to_the_step_run_and_to_outputs_as_they_register() -> None:
    run = training()
    trained = run.steps["train"]
    assert trained.run_metadata == {"loss": 0.25, "uri": "s3://bucket/model"}
    assert isinstance(trained.run_metadata["uri"], Uri)
    model = trained.outputs["model"].run_metadata
    assert model == {"a": 2, "accuracy": 0.9, "size": 2048}
    assert isinstance(model["size"], StorageSize)
    assert trained.outputs["model"].metadata.get("accuracy") is None  # extracted: apart
    outputs = run.steps["split"].outputs
    assert outputs["train_data"].run_metadata == {"rows": 3}
    assert outputs["test_data"].run_metadata == {"rows": 1, "dtype": "int64"}
    assert isinstance(outputs["test_data"].run_metadata["dtype"], DType)


def test_outside_a_step_metadata_goes_to_the_named_target() -> None:
    run = training()
    first = save_artifact([1], "data", user_metadata={"source": Path("/data/raw")})
    save_artifact([2], "data")
    log_metadata({"rows": 1}, artifact_name="data", artifact_version="1")
    log_metadata({"rows": 2}, artifact_name="data")  # the latest version
    log_metadata({"checked": True}, artifact_version_id=first.id)
    log_metadata({"git": "abc"}, run_id_name_or_prefix=run.name)
    log_metadata({"note": "slow"}, step_name="train", run_id_name_or_prefix=run.id[:8])
    log_metadata({"shape": (2, 3), "ids": {1, 2}}, step_id=run.steps["split"].id)
    client = Client()
    assert client.get_artifact_version("data", "1").run_metadata == {
        "checked": True,
        "rows": 1,
        "source": "/data/raw",
    }
    assert isinstance(first.run_metadata["source"], Path)
    assert client.get_artifact_version("data", "2").run_metadata == {"rows": 2}
    fetched = client.get_pipeline_run(run.id)
    assert fetched.run_metadata == {"git": "abc"}
    assert fetched.steps["train"].run_metadata["note"] == "slow"
    assert fetched.steps["split"].run_metadata == {"shape": (2, 3), "ids": {1, 2}}


def test_no_target_or_a_bad_value_is_refused_and_logs_nothing() -> None:
    save_artifact([1], "data")
    with pytest.raises(InputError, match="outside a step needs a target"):
        log_metadata({"a": 1})
    with pytest.raises(InputError, match="works inside a step"):
        log_metadata({"a": 1}, infer_artifact=True)
    with pytest.raises(InputError, match="needs run_id_name_or_prefix"):
        log_metadata({"a": 1}, step_name="train")
    with pytest.raises(NotFoundError, match="no artifact is named 'nope'"):
        log_metadata({"a": 1}, artifact_name="nope")
    with pytest.raises(NotFoundError, match="no version '7'"):
        log_metadata({"a": 1}, artifact_name="data", artifact_version="7")
    with pytest.raises(InputError, match="metadata 'f': a object is not JSON"):
        log_metadata({"ok": 1, "f": object()}, artifact_name="data")
    with pytest.raises(InputError, match="'nan': nan is not a JSON number"):
        log_metadata({"ok": 1, "nan": float("nan")}, artifact_name="data")
    with pytest.raises(InputError, match="not JSON"):
        save_artifact([2], "data", user_metadata={"f": object()})
    assert Client().get_artifact_version("data").run_metadata == {}
    assert [v.version for v in Client().list_artifact_versions(name="data")] == ["1"]


def test_an_unknown_output_name_fails_the_step() -> None:
    @step
    def one() -> int:
        log_metadata({"a": 1}, artifact_name="nope", infer_artifact=True)
        return 1

    @pipeline
    def p() -> None:
        one()

    with pytest.raises(InputError, match="has no output 'nope'; its outputs: 'output'"):
        p()


# ---- filters in ZenML's syntax against Python ------------------------------------------


def reference(value: Any, spec: Any) -> bool:
    """What a ZenML-syntax filter means for a stored value (numbers and strings here)."""
    if not isinstance(spec, str) or ":" not in spec:
        return bool(value == spec and type(value) is type(spec))
    op, _, text = spec.partition(":")
    if op in ("contains", "startswith", "endswith"):
        test = {"contains": str.__contains__, "startswith": str.startswith}.get(op, str.endswith)
        return isinstance(value, str) and test(value, text)
    try:
        operand = json.loads(text)
    except ValueError:
        operand = text
    if op == "oneof":
        return any(reference(value, item) for item in operand)
    numbers = all(isinstance(x, int | float) and not isinstance(x, bool) for x in (value, operand))
    strings = isinstance(value, str) and isinstance(operand, str)
    if not (numbers or strings):
        return op == "notequals"
    return {
        "equals": value == operand,
        "notequals": value != operand,
        "gt": value > operand,
        "gte": value >= operand,
        "lt": value < operand,
        "lte": value <= operand,
    }[op]


FILTERS: list[tuple[dict[str, Any], str | None]] = [
    ({"accuracy": "gt:0.9"}, "desc:metadata:accuracy"),
    ({"accuracy": "lte:0.5"}, "metadata:accuracy"),
    ({"accuracy": "gte:0.2", "stage": "prod"}, None),
    ({"stage": "notequals:prod"}, "metadata:stage"),
    ({"stage": 'oneof:["dev", "test"]'}, "desc:metadata:accuracy"),
    ({"model": "startswith:bert"}, "metadata:model"),
    ({"model": "contains:-b"}, None),
    ({"model": "endswith:large"}, "desc:metadata:model"),
    ({"accuracy": "equals:1"}, None),
    ({}, "desc:metadata:stage"),
]


def test_list_filters_and_sorts_agree_with_python() -> None:
    rng = random.Random(7)
    stored: dict[str, dict[str, Any]] = {}
    for i in range(40):
        meta = {
            "accuracy": rng.choice([round(rng.random(), 2), 1]),
            "stage": rng.choice(["prod", "dev", "test", "Prod"]),
            "model": rng.choice(["bert-base", "bert-large", "gpt-b", "t5-large"]),
        }
        meta = {k: v for k, v in meta.items() if rng.random() < 0.85}
        stored[save_artifact(i, f"m{i % 3}", user_metadata=meta).id] = meta
    client = Client()
    for metadata, sort_by in FILTERS:
        found = [v.id for v in client.list_artifact_versions(metadata=metadata, sort_by=sort_by)]
        kept = [
            vid
            for vid, meta in stored.items()
            if all(k in meta and reference(meta[k], spec) for k, spec in metadata.items())
        ]
        if sort_by is None:
            assert set(found) == set(kept), metadata
            continue
        key = sort_by.rsplit(":", 1)[1]
        want = sorted(
            (vid for vid in kept if key in stored[vid]),
            key=lambda vid: (stored[vid][key], vid),
            reverse=sort_by.startswith("desc:"),
        )
        assert found == want, (metadata, sort_by)
    zenml_name = client.list_artifact_versions(run_metadata={"stage": "prod"}, name="m1")
    assert {v.id for v in zenml_name} == {
        vid
        for vid, meta in stored.items()
        if meta.get("stage") == "prod" and client.get_artifact_version(vid).name == "m1"
    }


def test_runs_and_step_runs_filter_and_sort_by_metadata() -> None:
    @step
    def scored(score: float) -> None:
        log_metadata({"score": score})

    @pipeline
    def scoring(score: float) -> None:
        scored(score)

    scores = [0.3, 0.8, 0.5, 0.9]
    runs = {}
    for score in scores:
        run = scoring.with_options(enable_cache=False)(score=score)
        log_metadata({"score": score * 10}, run_id_name_or_prefix=run.id)
        runs[run.id] = score
    client = Client()
    best = client.list_step_runs(metadata={"score": "gte:0.5"}, sort_by="desc:metadata:score")
    assert [s.run_metadata["score"] for s in best] == [0.9, 0.8, 0.5]
    ordered = client.list_pipeline_runs(
        metadata={"score": "lt:8"}, sort_by="metadata:score", with_steps=False
    )
    assert [runs[r.id] for r in ordered] == [0.3, 0.5]
    zenml_spelling = client.list_pipeline_runs(run_metadata="score:gte:8", with_steps=False)
    assert sorted(runs[r.id] for r in zenml_spelling) == [0.8, 0.9]
    assert len(client.list_step_runs(run_metadata=["score:gt:0.4", "score:lt:0.85"])) == 2
    with pytest.raises(InputError, match="sort by a metadata key"):
        client.list_step_runs(sort_by="created")


def test_zenml_098_strings_filter_too() -> None:
    for score in (0.2, 0.95, 0.91):
        save_artifact(score, "m", user_metadata={"accuracy": score, "stage": "prod"})
    client = Client()
    found = client.list_artifact_versions(run_metadata="accuracy:gt:0.9")
    assert sorted(v.run_metadata["accuracy"] for v in found) == [0.91, 0.95]
    both = client.list_artifact_versions(run_metadata=["accuracy:0.2", "stage:prod"])
    assert [v.run_metadata["accuracy"] for v in both] == [0.2]
    with pytest.raises(InputError, match="write 'KEY:VALUE' or 'KEY:OP:VALUE'"):
        client.list_artifact_versions(run_metadata="accuracy")


def test_artifact_types_as_zenml_has_them() -> None:
    @step
    def fit() -> Annotated[int, ArtifactConfig(name="clf", is_model_artifact=True)]:
        return 1

    @step
    def report() -> Annotated[str, ArtifactConfig(artifact_type=ArtifactType.DATA_ANALYSIS)]:
        return "ok"

    @pipeline
    def p() -> None:
        fit()
        report()

    run = p()
    assert run.steps["fit"].outputs["clf"].artifact_type == "MODEL"
    assert run.steps["report"].output.artifact_type == "DATA_ANALYSIS"
    saved = save_artifact(1, "weights", artifact_type="ModelArtifact")
    assert saved.artifact_type == "MODEL"
    assert save_artifact(2, "plain").artifact_type == "DATA"
    found = Client().graphql(
        "{ artifactVersions(filter: {artifactType: MODEL}) { edges { node { name } } } }"
    )
    assert sorted(e["node"]["name"] for e in found["artifactVersions"]["edges"]) == [
        "clf",
        "weights",
    ]
    with pytest.raises(InputError, match="artifact_type 'Nope' is not one of DATA"):
        ArtifactConfig(artifact_type="Nope")
    with pytest.raises(InputError, match="give one of them"):
        ArtifactConfig(artifact_type="DATA", is_model_artifact=True)
