"""Deleting artifact versions through GraphQL: `deleteArtifactVersion` refuses versions a run
produced or consumed (CONFLICT naming the runs, nothing changed); the batch mutations prune
uses skip them; a version marked data-deleted can no longer be consumed or be a cache hit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, update

from api.storage import models
from api.storage.base import utcnow
from api.storage.engine import sync_url
from tests.api.client import Api, output, row_counts, version_input

DELETE = """
mutation ($id: ID!) {
  deleteArtifactVersion(id: $id) { version { id name version source } artifactRemoved }
}
"""
DELETE_MANY = """
mutation ($ids: [ID!]!) {
  deleteArtifactVersions(ids: $ids) {
    versions { id name version } inUse missing removedArtifacts
  }
}
"""
MARK = """
mutation ($ids: [ID!]!) {
  markArtifactVersionsDataDeleted(ids: $ids) { versions { id name version } inUse missing }
}
"""
UNUSED = """
query ($unused: Boolean) {
  artifactVersions(filter: { unused: $unused }) { edges { node { name version } } }
}
"""
VERSION = """
query ($id: ID!) { artifactVersion(id: $id) { name version dataDeletedAt tags } }
"""
CREATE_TAGGED = """
mutation ($input: ArtifactVersionInput!) { createArtifactVersion(input: $input) { id } }
"""
START_CACHED = """
mutation ($input: StartStepRunInput!) {
  startStepRun(input: $input) { id status cacheReason outputs { name } }
}
"""


def labels(data: dict[str, Any]) -> set[str]:
    edges = data["artifactVersions"]["edges"]
    return {f"{e['node']['name']}:{e['node']['version']}" for e in edges}


def consumed_by_run(gql: Api, version_id: str, run_name: str) -> str:
    """A completed run whose step `train` consumed the version and produced `model`."""
    run = gql.start_run("training", run_name)
    step = gql.start_step(run, "train", [("data", version_id)])
    out = gql.finish_step(step, [output("output", "model")])
    gql.finish_run(run)
    return str(out["outputs"][0]["artifactVersion"]["id"])


def test_an_unused_version_is_deleted_with_its_tags_and_its_emptied_artifact(gql: Api) -> None:
    data = gql.data(CREATE_TAGGED, input=version_input("scratch", tags=["tmp"]))
    only = data["createArtifactVersion"]["id"]
    first = gql.create_version("notes")
    second = gql.create_version("notes")

    deleted = gql.data(DELETE, id=first)["deleteArtifactVersion"]
    assert deleted == {
        "version": {"id": first, "name": "notes", "version": "1", "source": "SAVED"},
        "artifactRemoved": False,
    }
    assert gql.data(VERSION, id=first)["artifactVersion"] is None
    assert gql.data(VERSION, id=second)["artifactVersion"]["version"] == "2"

    gone = gql.data(DELETE, id=only)["deleteArtifactVersion"]
    assert gone["artifactRemoved"] is True
    assert gql.data('{ artifact(name: "scratch") { id } }')["artifact"] is None
    assert gql.data('{ artifact(name: "notes") { versionCount } }')["artifact"] == {
        "versionCount": 1
    }


def test_a_consumed_version_is_refused_naming_the_run_and_nothing_changes(
    gql: Api, database_url: str
) -> None:
    features = gql.create_version("features")
    consumed_by_run(gql, features, "training-run-1")
    before = row_counts(database_url)

    error = gql.error(DELETE, id=features)

    assert error["extensions"]["code"] == "CONFLICT"
    assert error["extensions"]["reason"] == "ARTIFACT_VERSION_IN_USE"
    assert error["extensions"]["runs"] == ["training-run-1"]
    assert "features:1" in error["message"]
    assert "'training-run-1' (step 'train' consumed it)" in error["message"]
    assert row_counts(database_url) == before


def test_a_produced_version_is_refused_naming_the_run(gql: Api, database_url: str) -> None:
    model = consumed_by_run(gql, gql.create_version("features"), "training-run-2")
    before = row_counts(database_url)

    error = gql.error(DELETE, id=model)

    assert error["extensions"]["code"] == "CONFLICT"
    assert error["extensions"]["runs"] == ["training-run-2"]
    assert "(step 'train' produced it)" in error["message"]
    assert row_counts(database_url) == before


def test_an_unknown_id_is_not_found(gql: Api) -> None:
    error = gql.error(DELETE, id="00000000-0000-4000-8000-000000000000")
    assert error["extensions"]["code"] == "NOT_FOUND"


def test_the_unused_filter_separates_what_prune_may_delete(gql: Api) -> None:
    features = gql.create_version("features")
    gql.create_version("scratch")
    consumed_by_run(gql, features, "training-run-3")

    assert labels(gql.data(UNUSED, unused=True)) == {"scratch:1"}
    assert labels(gql.data(UNUSED, unused=False)) == {"features:1", "model:1"}
    assert len(labels(gql.data(UNUSED, unused=None))) == 3


def test_batches_skip_versions_in_use_and_report_unknown_ids(gql: Api) -> None:
    features = gql.create_version("features")
    scratch = gql.create_version("scratch")
    consumed_by_run(gql, features, "training-run-4")
    unknown = "00000000-0000-4000-8000-000000000000"

    marked = gql.data(MARK, ids=[features, scratch, unknown])["markArtifactVersionsDataDeleted"]
    assert [v["id"] for v in marked["versions"]] == [scratch]
    assert marked["inUse"] == [features]
    assert marked["missing"] == [unknown]
    assert gql.data(VERSION, id=features)["artifactVersion"]["dataDeletedAt"] is None
    assert gql.data(VERSION, id=scratch)["artifactVersion"]["dataDeletedAt"] is not None

    deleted = gql.data(DELETE_MANY, ids=[features, scratch])["deleteArtifactVersions"]
    assert [v["id"] for v in deleted["versions"]] == [scratch]
    assert deleted["inUse"] == [features]
    assert deleted["removedArtifacts"] == ["scratch"]
    assert gql.data(VERSION, id=features)["artifactVersion"]["name"] == "features"


def test_batches_need_between_one_id_and_the_page_maximum(gql: Api) -> None:
    assert gql.error(MARK, ids=[])["extensions"]["code"] == "BAD_USER_INPUT"
    ids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(501)]
    error = gql.error(DELETE_MANY, ids=ids)
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert "at most 500" in error["message"]


def test_a_version_marked_data_deleted_cannot_be_consumed(gql: Api, database_url: str) -> None:
    scratch = gql.create_version("scratch")
    gql.data(MARK, ids=[scratch])
    run = gql.start_run("training", "training-run-5")
    before = row_counts(database_url)

    error = gql.error(
        START_CACHED,
        input={
            "runId": run,
            "name": "train",
            "inputs": [{"name": "d", "artifactVersionId": scratch}],
        },
    )

    assert error["extensions"]["code"] == "CONFLICT"
    assert error["extensions"]["reason"] == "ARTIFACT_DATA_DELETED"
    assert "scratch:1" in error["message"] and "pruned" in error["message"]
    assert row_counts(database_url) == before


def test_a_cache_hit_whose_output_is_marked_data_deleted_misses(
    gql: Api, database_url: str, tmp_path: Any
) -> None:
    data_dir = tmp_path / "store" / "model"  # the gql fixture's artifact store
    data_dir.mkdir(parents=True)
    uri = str(data_dir)
    run = gql.start_run("training", "training-run-6")
    step = gql.data(START_CACHED, input={"runId": run, "name": "train", "cacheKey": "k1"})
    out = dict(output("output", "model"))
    out["artifact"] = {**out["artifact"], "uri": uri}
    model = gql.finish_step(step["startStepRun"]["id"], [out])["outputs"][0]["artifactVersion"]
    gql.finish_run(run)
    cached = {"name": "train", "cacheKey": "k1", "useCache": True}

    hit_run = gql.start_run("training", "training-run-7")
    hit = gql.data(START_CACHED, input={"runId": hit_run, **cached})["startStepRun"]
    assert hit["status"] == "CACHED"

    engine = create_engine(sync_url(database_url))  # as an interrupted prune could leave it
    try:
        with engine.begin() as conn:
            conn.execute(
                update(models.ArtifactVersion)
                .where(models.ArtifactVersion.id == model["id"])
                .values(data_deleted_at=utcnow())
            )
    finally:
        engine.dispose()
    miss_run = gql.start_run("training", "training-run-8")
    miss = gql.data(START_CACHED, input={"runId": miss_run, **cached})["startStepRun"]
    assert miss["status"] == "RUNNING"
    assert "training-run-6" in miss["cacheReason"]
