"""The API's artifact-store path policy and store-relative locations (api/storage/locations.py):
every location a mutation records lies inside the store, and is recorded relative to its root."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.errors import BadUserInput
from api.storage.locations import locate, relative_to, relativize
from tests.api.client import CREATE_VERSION, Api, output, row_counts, version_input

OUTSIDE = [
    "/tmp",
    "../x",
    "x/../../y",
    "s3://other-bucket/x",
    "memory://x/y",
    "file:///etc/passwd",
    "",
    ".",
    "./",
]


@pytest.mark.parametrize("uri", OUTSIDE)
def test_locations_outside_the_store_are_refused_and_nothing_is_registered(
    gql: Api, database_url: str, uri: str
) -> None:
    gql.create_version("first")
    before = row_counts(database_url)
    error = gql.error(CREATE_VERSION, input={**version_input("sneaky"), "uri": uri})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "uri"
    assert "inside the artifact store" in error["message"]
    run_id = gql.start_run()
    step_id = gql.start_step(run_id, "load")
    started = row_counts(database_url)
    out = output("data", "sneaky")
    out["artifact"]["uri"] = uri
    error = gql.error(
        "mutation ($input: FinishStepRunInput!) { finishStepRun(input: $input) { id } }",
        input=gql.finish_step_input(step_id, [out]),
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert row_counts(database_url) == started
    assert before["artifact_versions"] == started["artifact_versions"]


def test_locations_inside_are_recorded_relative_and_answered_absolute(
    gql: Api, tmp_path: Path
) -> None:
    store = tmp_path / "store"  # the gql fixture's artifact store
    fields = "createArtifactVersion(input: $input) { uri storePath }"
    query = f"mutation ($input: ArtifactVersionInput!) {{ {fields} }}"
    for given, relative in (
        ("step/out/abc/", "step/out/abc/"),
        (f"{store}/step/out/def/", "step/out/def/"),
        (f"file://{store}/step/out/ghi", "step/out/ghi"),
    ):
        created = gql.data(query, input={**version_input("inside"), "uri": given})
        answer = created["createArtifactVersion"]
        assert answer["storePath"] == relative
        assert answer["uri"] == f"{store}/{relative}"


def test_the_rules_themselves() -> None:
    assert relative_to("s3://bucket/prefix", "s3://bucket/prefix/a/b/") == "a/b/"
    assert relative_to("s3://bucket/prefix", "s3://bucket/prefix-other/a") is None
    assert relative_to("s3://bucket/prefix", "s3://bucket/prefix") is None
    assert relative_to("/data/store", "/data/store/../secrets") is None
    assert relativize("memory://root", "memory://root/x/") == "x/"
    assert locate("s3://bucket/prefix/", "a/b/") == "s3://bucket/prefix/a/b/"
    assert locate("/new/place", "/old/absolute/x") == "/old/absolute/x"  # legacy rows
    with pytest.raises(BadUserInput, match="'..' segment"):
        relativize("/data/store", "/data/store/a/../../b")
