"""Tags from the SDK, embedded and over HTTP, on SQLite and PostgreSQL: every way a version gets
tags when it is created, `Client.update_artifact` / `update_artifact_version`, the tag filters of
the list methods, and refused tags that change nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest

from sdk import (
    ArtifactConfig,
    Client,
    InputError,
    NotFoundError,
    pipeline,
    register_artifact,
    save_artifact,
    step,
)

pytestmark = pytest.mark.usefixtures("lineageql")


@step
def make_numbers() -> Annotated[list[int], ArtifactConfig(name="numbers", tags=["raw", "v1"])]:
    return [1, 2, 3]


@step
def total(numbers: list[int]) -> int:
    return sum(numbers)


@pipeline(enable_cache=False)
def tagged_pipeline() -> None:
    total(make_numbers())


def test_versions_get_their_tags_from_every_way_of_creating_them(
    store_env: dict[str, str],
) -> None:
    run = tagged_pipeline()
    saved = save_artifact({"a": 1}, "settings", tags=["cfg", "cfg"])
    folder = Path(store_env["LINEAGEQL_ARTIFACT_STORE"]) / "checkpoints" / "run_1"
    folder.mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"\x00" * 8)
    registered = register_artifact(folder, "checkpoints", tags=["ckpt"])
    client = Client()

    numbers = run.steps["make_numbers"].output

    assert sorted(numbers.tags) == ["raw", "v1"]
    assert saved.tags == ("cfg",)
    assert registered.tags == ("ckpt",)
    assert [v.name for v in client.list_artifact_versions(tag="raw")] == ["numbers"]
    assert [v.name for v in client.list_artifact_versions(tag="ckpt")] == ["checkpoints"]
    assert client.get_artifact_version("settings").tags == ("cfg",)


def test_update_artifact_adds_and_removes_tags() -> None:
    save_artifact(1, "model")
    save_artifact(2, "other")
    client = Client()

    added = client.update_artifact("model", add_tags=["prod", "team:vision"])
    changed = client.update_artifact("model", add_tags=["eu", "prod"])
    swapped = client.update_artifact("model", add_tags=["staging"], remove_tags=["prod"])

    assert added.tags == ("prod", "team:vision")
    assert changed.tags == ("eu", "prod", "team:vision")
    assert swapped.tags == ("eu", "staging", "team:vision")
    assert swapped.latest_version is not None and swapped.latest_version.version == "1"
    assert client.get_artifact("model").tags == swapped.tags
    assert [a.name for a in client.list_artifacts(tag="staging")] == ["model"]
    assert client.list_artifacts(tag="prod") == []


def test_update_artifact_version_by_name_version_id_and_latest() -> None:
    first = save_artifact(1, "data")
    save_artifact(2, "data", version="raw_2023")
    save_artifact(3, "data")
    client = Client()

    by_id = client.update_artifact_version(first.id, add_tags=["first"])
    by_version = client.update_artifact_version("data", "raw_2023", add_tags=["raw", "old"])
    by_number = client.update_artifact_version("data", 1, add_tags=["one"], remove_tags=["first"])
    latest = client.update_artifact_version("data", add_tags=["newest"])

    assert (by_id.id, by_id.tags) == (first.id, ("first",))
    assert (by_version.version, by_version.tags) == ("raw_2023", ("old", "raw"))
    assert (by_number.version, by_number.tags) == ("1", ("one",))
    assert (latest.version, latest.tags) == ("2", ("newest",))
    assert [v.version for v in client.list_artifact_versions(name="data", tag="raw")] == [
        "raw_2023"
    ]
    assert client.get_artifact("data").tags == ()  # version tags stay on the versions


def test_unknown_artifact_or_version_raises_not_found() -> None:
    save_artifact(1, "model")
    client = Client()

    with pytest.raises(NotFoundError, match="^no artifact is named 'nope'$"):
        client.update_artifact("nope", add_tags=["x"])
    with pytest.raises(NotFoundError, match="^artifact 'model' has no version '9'$"):
        client.update_artifact_version("model", 9, add_tags=["x"])


def test_a_refused_tag_changes_nothing() -> None:
    save_artifact(1, "model", tags=["kept"])
    client = Client()
    client.update_artifact("model", add_tags=["old"])

    with pytest.raises(InputError, match="^tag 'not ok ' has leading or trailing whitespace"):
        client.update_artifact("model", add_tags=["fine", "not ok "], remove_tags=["old"])
    with pytest.raises(InputError, match=r"^tag '/x\\n' has leading or trailing whitespace"):
        client.update_artifact_version("model", 1, add_tags=["/x\n"], remove_tags=["kept"])
    with pytest.raises(InputError, match="^tag 'a' is both added and removed"):
        client.update_artifact("model", add_tags=["a"], remove_tags=["a"])

    assert client.get_artifact("model").tags == ("old",)
    assert client.get_artifact_version("model").tags == ("kept",)
    assert client.list_artifacts(tag="fine") == []


def test_one_string_instead_of_a_list_is_refused_before_sending() -> None:
    save_artifact(1, "model")
    client = Client()

    with pytest.raises(InputError, match=r"^add_tags takes a list of tags, not one string"):
        client.update_artifact("model", add_tags="prod")
    with pytest.raises(InputError, match=r"write remove_tags=\['prod'\]"):
        client.update_artifact_version("model", 1, remove_tags="prod")

    assert client.get_artifact("model").tags == ()


@step
def unnamed() -> int:
    return 7


@pipeline(enable_cache=False)
def defaults_pipeline() -> None:
    unnamed()


def test_list_artifacts_can_leave_out_default_names() -> None:
    defaults_pipeline()
    save_artifact(1, "model")

    client = Client()

    assert [a.name for a in client.list_artifacts(has_custom_name=True)] == ["model"]
    assert [a.name for a in client.list_artifacts(has_custom_name=False)] == [
        "defaults_pipeline::unnamed::output"
    ]
    assert len(client.list_artifacts()) == 2
