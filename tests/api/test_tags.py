"""Tags through GraphQL on SQLite and PostgreSQL: `updateArtifact` and `updateArtifactVersion`
add and remove tags in one transaction, refuse bad tags without changing anything, and tags
filter every list; `hasCustomName` hides default-named artifacts in SQL, so paging stays right."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.client import Api, output, row_counts

UPDATE = """
mutation ($name: String!, $add: [String!], $remove: [String!]) {
  updateArtifact(name: $name, addTags: $add, removeTags: $remove) { name tags updatedAt }
}
"""
UPDATE_VERSION = """
mutation ($id: ID, $name: String, $version: String, $add: [String!], $remove: [String!]) {
  updateArtifactVersion(
    id: $id, name: $name, version: $version, addTags: $add, removeTags: $remove
  ) { id name version tags }
}
"""
ARTIFACT = "query ($name: String!) { artifact(name: $name) { tags updatedAt } }"
VERSION_TAGS = """
query ($name: String!, $version: String) {
  artifactVersion(name: $name, version: $version) { tags }
}
"""


def update(
    gql: Api, name: str, add: list[str] | None = None, remove: list[str] | None = None
) -> Any:
    return gql.data(UPDATE, name=name, add=add, remove=remove)["updateArtifact"]


def version_tags(gql: Api, name: str, version: str | None = None) -> list[str]:
    return list(gql.data(VERSION_TAGS, name=name, version=version)["artifactVersion"]["tags"])


def test_update_artifact_adds_and_removes_in_one_call(gql: Api) -> None:
    gql.create_version("model")
    first = update(gql, "model", add=["prod", "team:vision"])

    second = update(gql, "model", add=["eu"], remove=["prod"])

    assert first["tags"] == ["prod", "team:vision"]
    assert second["tags"] == ["eu", "team:vision"]
    assert gql.data(ARTIFACT, name="model")["artifact"]["tags"] == ["eu", "team:vision"]
    assert second["updatedAt"] > first["updatedAt"]


def test_adding_a_present_tag_or_removing_an_absent_one_changes_nothing(
    gql: Api, database_url: str
) -> None:
    gql.create_version("model")
    before = update(gql, "model", add=["prod"])
    counts = row_counts(database_url)

    again = update(gql, "model", add=["prod", "prod"], remove=["never_there"])

    assert again == before  # same tags, and updatedAt did not move
    assert row_counts(database_url) == counts


def test_artifact_tags_and_version_tags_are_separate(gql: Api) -> None:
    gql.create_version("model", tags=["v-tag"])

    artifact = update(gql, "model", add=["a-tag"])

    assert artifact["tags"] == ["a-tag"]
    assert version_tags(gql, "model") == ["v-tag"]


def test_update_version_by_name_and_version_by_id_and_latest(gql: Api) -> None:
    first = gql.create_version("data")
    gql.create_version("data", "raw_2023")
    gql.create_version("data")

    by_id = gql.data(UPDATE_VERSION, id=first, add=["one"])["updateArtifactVersion"]
    by_name = gql.data(UPDATE_VERSION, name="data", version="raw_2023", add=["raw", "old"])
    latest = gql.data(UPDATE_VERSION, name="data", add=["newest"])["updateArtifactVersion"]

    assert (by_id["id"], by_id["version"], by_id["tags"]) == (first, "1", ["one"])
    assert by_name["updateArtifactVersion"]["tags"] == ["old", "raw"]
    assert (latest["version"], latest["tags"]) == ("2", ["newest"])
    assert version_tags(gql, "data", "raw_2023") == ["old", "raw"]
    removed = gql.data(UPDATE_VERSION, name="data", version="raw_2023", add=["x"], remove=["old"])
    assert removed["updateArtifactVersion"]["tags"] == ["raw", "x"]


def test_two_mutations_in_one_document_each_see_their_own_tags(gql: Api) -> None:
    gql.create_version("model")
    document = """
    mutation {
      a: updateArtifact(name: "model", addTags: ["x"]) { tags }
      b: updateArtifact(name: "model", addTags: ["y"]) { tags }
    }
    """

    data = gql.data(document)

    assert (data["a"]["tags"], data["b"]["tags"]) == (["x"], ["x", "y"])


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        (" leading", "tag ' leading' has leading or trailing whitespace"),
        ("", "tag must not be empty"),
        ("trailing\n", "tag 'trailing\\n' has leading or trailing whitespace"),
        ("x" * 256, "tag is 256 characters long; the limit is 255"),
        ("nul\x00", "tag 'nul\\x00' contains a control character"),
        ("del\x7f", "tag 'del\\x7f' contains a control character"),
    ],
)
def test_a_bad_tag_is_refused_and_nothing_changes(
    gql: Api, database_url: str, tag: str, message: str
) -> None:
    gql.create_version("model", tags=["kept"])
    update(gql, "model", add=["old"])
    counts = row_counts(database_url)

    error = gql.error(UPDATE, name="model", add=["fine", tag], remove=["old"])
    version_error = gql.error(UPDATE_VERSION, name="model", version="1", add=["fine"], remove=[tag])

    for refused in (error, version_error):
        assert refused["extensions"]["code"] == "BAD_USER_INPUT"
        assert refused["message"].startswith(message)
    assert row_counts(database_url) == counts
    assert gql.data(ARTIFACT, name="model")["artifact"]["tags"] == ["old"]
    assert version_tags(gql, "model") == ["kept"]


def test_the_longest_tag_is_accepted(gql: Api) -> None:
    gql.create_version("model")
    longest = "t" * 255

    assert update(gql, "model", add=[longest])["tags"] == [longest]


@pytest.mark.parametrize("tag", ["computer vision", "has space", "-leading", "semi;colon", "é ✓"])
def test_free_text_tags_are_accepted(gql: Api, tag: str) -> None:
    gql.create_version("model", tags=[tag])

    assert update(gql, "model", add=[tag])["tags"] == [tag]
    assert version_tags(gql, "model") == [tag]


def test_a_tag_both_added_and_removed_is_refused(gql: Api, database_url: str) -> None:
    gql.create_version("model")
    counts = row_counts(database_url)

    error = gql.error(UPDATE, name="model", add=["a", "b"], remove=["b"])

    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == (
        "tag 'b' is both added and removed; give it in only one of `addTags` and `removeTags`"
    )
    assert row_counts(database_url) == counts


def test_unknown_targets_are_not_found_and_create_no_tags(gql: Api, database_url: str) -> None:
    version_id = gql.create_version("model")
    counts = row_counts(database_url)

    cases = [
        (gql.error(UPDATE, name="nope", add=["t1"]), "no artifact is named 'nope'"),
        (
            gql.error(UPDATE_VERSION, name="model", version="7", add=["t2"]),
            "artifact 'model' has no version '7'",
        ),
        (
            gql.error(UPDATE_VERSION, name="nope", version="1", add=["t3"]),
            "no artifact is named 'nope'",
        ),
        (
            gql.error(UPDATE_VERSION, id=version_id[:-4] + "0000", add=["t4"]),
            f"no artifact version has id '{version_id[:-4]}0000'",
        ),
    ]

    for error, message in cases:
        assert (error["extensions"]["code"], error["message"]) == ("NOT_FOUND", message)
    assert row_counts(database_url) == counts


def test_update_version_needs_id_or_name(gql: Api) -> None:
    version_id = gql.create_version("model")

    neither = gql.error(UPDATE_VERSION, add=["x"])
    both = gql.error(UPDATE_VERSION, id=version_id, name="model", add=["x"])

    assert neither["extensions"]["code"] == both["extensions"]["code"] == "BAD_USER_INPUT"
    assert neither["message"] == "give `id`, or `name` with an optional `version`"
    assert both["message"].startswith("give either `id`, or `name`")


def test_tags_filter_artifacts_and_both_version_lists(gql: Api) -> None:
    for name in ("a", "b", "c"):
        gql.create_version(name)
        gql.create_version(name)
    update(gql, "a", add=["gold"])
    update(gql, "c", add=["gold"])
    gql.data(UPDATE_VERSION, name="b", version="2", add=["gold"])
    gql.data(UPDATE_VERSION, name="c", version="1", add=["gold"])
    query = """
    query {
      artifacts(filter: {tag: "gold"}) {
        totalCount edges { node { name tags taggedVersionCount(tag: "gold") } }
      }
      artifactVersions(filter: {tag: "gold"}) { totalCount edges { node { name version } } }
      artifact(name: "c") { versions(tag: "gold") { totalCount edges { node { version } } } }
    }
    """

    data = gql.data(query)

    # an artifact matches by its own tag (a), by a version's tag (b), or both (c)
    matched = [
        (e["node"]["name"], "gold" in e["node"]["tags"], e["node"]["taggedVersionCount"])
        for e in data["artifacts"]["edges"]
    ]
    assert matched == [("a", True, 0), ("b", False, 1), ("c", True, 1)]
    assert data["artifacts"]["totalCount"] == 3
    versions = data["artifactVersions"]["edges"]
    assert [(e["node"]["name"], e["node"]["version"]) for e in versions] == [("b", "2"), ("c", "1")]
    assert [e["node"]["version"] for e in data["artifact"]["versions"]["edges"]] == ["1"]
    assert data["artifact"]["versions"]["totalCount"] == 1


def test_has_custom_name_filters_in_sql_so_pages_stay_full(gql: Api) -> None:
    run_id = gql.start_run("training")
    step_id = gql.start_step(run_id, "train")
    gql.finish_step(
        step_id,
        [output("output_0", "training::train::output_0"), output("model", "model")],
    )
    for name in ("alpha", "training::load::output", "zeta"):
        gql.create_version(name)
    query = """
    query ($custom: Boolean, $after: String) {
      artifacts(filter: {hasCustomName: $custom}, first: 2, after: $after) {
        totalCount
        edges { node { name hasCustomName } }
        pageInfo { hasNextPage endCursor }
      }
    }
    """

    first = gql.data(query, custom=True)["artifacts"]
    second = gql.data(query, custom=True, after=first["pageInfo"]["endCursor"])["artifacts"]
    defaults = gql.data(query, custom=False)["artifacts"]
    everything = gql.data(query)["artifacts"]

    assert [e["node"]["name"] for e in first["edges"]] == ["alpha", "model"]
    assert first["pageInfo"]["hasNextPage"] is True and first["totalCount"] == 3
    assert [e["node"]["name"] for e in second["edges"]] == ["zeta"]
    assert second["pageInfo"]["hasNextPage"] is False
    assert [(e["node"]["name"], e["node"]["hasCustomName"]) for e in defaults["edges"]] == [
        ("training::load::output", False),
        ("training::train::output_0", False),
    ]
    assert everything["totalCount"] == 5
