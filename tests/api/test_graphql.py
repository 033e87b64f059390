"""The schema executed in-process (api.LocalExecutor) on SQLite and PostgreSQL: the mutation flow
of a pipeline run, queries and paging, and the error codes of the contract."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import api
from api.storage import models  # noqa: F401  (registers the tables on Base.metadata)
from api.storage import runs as run_store
from tests.api.client import (
    BIG_SIZE,
    CREATE_VERSION,
    FINISH_RUN,
    FINISH_STEP,
    START_RUN,
    START_STEP,
    VERSION_FIELDS,
    Api,
    output,
    row_counts,
    version_input,
)
from tests.api.test_visualization_routes import running


@pytest.fixture
def trained(gql: Api) -> dict[str, str]:
    """A completed run: step `train` consumed `raw` and produced `model` and `report`."""
    raw_id = gql.create_version("raw", tags=["source"])
    run_id = gql.start_run(run_name="training-1")
    step_id = gql.start_step(run_id, "train", inputs=[("dataset", raw_id)])
    gql.finish_step(
        step_id,
        [
            output(
                "model",
                "model",
                tags=["prod", "v1"],
                metadata={"accuracy": 0.93, "layers": [64, 32]},
                size_bytes=BIG_SIZE,
            ),
            output("report", "report", version="final", size_bytes=12),
        ],
    )
    gql.finish_run(run_id)
    return {"raw": raw_id, "run": run_id, "step": step_id}


# --- the mutation flow, read back --------------------------------------------------------------


def test_finish_step_returns_registered_outputs(gql: Api) -> None:
    run_id = gql.start_run()
    step_id = gql.start_step(run_id, "load")
    step = gql.finish_step(step_id, [output("a", "alpha"), output("b", "beta", version="v_x")])
    assert step["status"] == "COMPLETED"
    assert sorted((o["name"], o["artifactVersion"]["name"]) for o in step["outputs"]) == [
        ("a", "alpha"),
        ("b", "beta"),
    ]
    versions = {
        o["artifactVersion"]["name"]: o["artifactVersion"]["version"] for o in step["outputs"]
    }
    assert versions == {"alpha": "1", "beta": "v_x"}


def test_run_steps_list_inputs_and_outputs(gql: Api, trained: dict[str, str]) -> None:
    query = """
    query ($id: ID!) {
      pipelineRun(id: $id) {
        id name status pipeline { name }
        steps {
          name status
          inputs { name artifactVersion { id name version } }
          outputs { name artifactVersion { name version producer { id } } }
        }
      }
    }
    """
    run = gql.data(query, id=trained["run"])["pipelineRun"]
    assert (run["name"], run["status"], run["pipeline"]["name"]) == (
        "training-1",
        "COMPLETED",
        "training",
    )
    [step] = run["steps"]
    assert (step["name"], step["status"]) == ("train", "COMPLETED")
    assert step["inputs"] == [
        {
            "name": "dataset",
            "artifactVersion": {"id": trained["raw"], "name": "raw", "version": "1"},
        }
    ]
    assert [(o["name"], o["artifactVersion"]["name"]) for o in step["outputs"]] == [
        ("model", "model"),
        ("report", "report"),
    ]
    assert {o["artifactVersion"]["producer"]["id"] for o in step["outputs"]} == {trained["step"]}


def test_size_bytes_beyond_32_bits_round_trips(gql: Api, trained: dict[str, str]) -> None:
    query = 'query { artifactVersion(name: "model") { sizeBytes } }'
    assert gql.data(query)["artifactVersion"]["sizeBytes"] == BIG_SIZE


def test_tags_and_metadata_round_trip(gql: Api, trained: dict[str, str]) -> None:
    query = 'query { artifactVersion(name: "model") { tags metadata } }'
    version = gql.data(query)["artifactVersion"]
    assert sorted(version["tags"]) == ["prod", "v1"]
    assert version["metadata"] == {"accuracy": 0.93, "layers": [64, 32]}


def test_step_output_knows_its_producer_and_run(gql: Api, trained: dict[str, str]) -> None:
    query = VERSION_FIELDS + 'query { artifactVersion(name: "model") { ...V } }'
    version = gql.data(query)["artifactVersion"]
    assert version["source"] == "STEP_OUTPUT"
    assert version["producer"] == {"id": trained["step"], "name": "train"}
    assert version["run"] == {"id": trained["run"]}


def test_input_version_lists_its_consumers(gql: Api, trained: dict[str, str]) -> None:
    query = 'query { artifactVersion(name: "raw") { source consumers { id name } } }'
    version = gql.data(query)["artifactVersion"]
    assert version == {"source": "SAVED", "consumers": [{"id": trained["step"], "name": "train"}]}


def test_step_run_by_id(gql: Api, trained: dict[str, str]) -> None:
    query = "query ($id: ID!) { stepRun(id: $id) { name run { id } outputs { name } } }"
    step = gql.data(query, id=trained["step"])["stepRun"]
    assert step == {
        "name": "train",
        "run": {"id": trained["run"]},
        "outputs": [{"name": "model"}, {"name": "report"}],
    }


# --- lookups and paging ------------------------------------------------------------------------


def test_artifact_version_by_name_is_the_latest(gql: Api) -> None:
    for _ in range(3):
        gql.create_version("numbers")
    query = 'query { artifactVersion(name: "numbers") { version isCustomVersion } }'
    assert gql.data(query)["artifactVersion"] == {"version": "3", "isCustomVersion": False}


def test_artifact_version_by_name_and_version(gql: Api) -> None:
    first = gql.create_version("numbers")
    gql.create_version("numbers", version="raw_2023")
    gql.create_version("numbers")
    query = """
    query ($name: String, $version: String) {
      artifactVersion(name: $name, version: $version) { id version isCustomVersion }
    }
    """
    assert gql.data(query, name="numbers", version="1")["artifactVersion"]["id"] == first
    custom = gql.data(query, name="numbers", version="raw_2023")["artifactVersion"]
    assert (custom["version"], custom["isCustomVersion"]) == ("raw_2023", True)
    assert gql.data(query, name="numbers", version="9")["artifactVersion"] is None


def test_custom_version_does_not_consume_a_number(gql: Api) -> None:
    gql.create_version("numbers")
    gql.create_version("numbers", version="special")
    gql.create_version("numbers")
    query = 'query { artifact(name: "numbers") { versions { edges { node { version } } } } }'
    edges = gql.data(query)["artifact"]["versions"]["edges"]
    assert [e["node"]["version"] for e in edges] == ["1", "special", "2"]


VERSIONS_PAGE = """
query ($first: Int, $after: String, $newest: Boolean!) {
  artifact(name: "numbers") {
    versionCount
    versions(first: $first, after: $after, newestFirst: $newest) {
      totalCount
      edges { cursor node { version } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""


def _pages(gql: Api, *, newest: bool) -> list[tuple[list[str], bool, int]]:
    pages = []
    after = None
    while True:
        artifact = gql.data(VERSIONS_PAGE, first=2, after=after, newest=newest)["artifact"]
        conn = artifact["versions"]
        versions = [e["node"]["version"] for e in conn["edges"]]
        pages.append((versions, conn["pageInfo"]["hasNextPage"], conn["totalCount"]))
        assert conn["pageInfo"]["endCursor"] == conn["edges"][-1]["cursor"]
        if not conn["pageInfo"]["hasNextPage"]:
            return pages
        after = conn["pageInfo"]["endCursor"]


def test_versions_page_oldest_first_by_cursor(gql: Api) -> None:
    for _ in range(5):
        gql.create_version("numbers")
    assert _pages(gql, newest=False) == [
        (["1", "2"], True, 5),
        (["3", "4"], True, 5),
        (["5"], False, 5),
    ]


def test_versions_page_newest_first_by_cursor(gql: Api) -> None:
    for _ in range(5):
        gql.create_version("numbers")
    assert _pages(gql, newest=True) == [
        (["5", "4"], True, 5),
        (["3", "2"], True, 5),
        (["1"], False, 5),
    ]


def test_version_count_counts_every_version(gql: Api) -> None:
    for _ in range(5):
        gql.create_version("numbers")
    artifact = gql.data(VERSIONS_PAGE, first=1, after=None, newest=False)["artifact"]
    assert artifact["versionCount"] == 5


def test_artifact_versions_filter_by_tag(gql: Api) -> None:
    gql.create_version("a", tags=["prod"])
    gql.create_version("a")
    gql.create_version("b", tags=["prod", "eu"])
    gql.create_version("c", tags=["dev"])
    query = """
    query ($tag: String) {
      artifactVersions(filter: {tag: $tag}) { totalCount edges { node { name version tags } } }
    }
    """
    conn = gql.data(query, tag="prod")["artifactVersions"]
    assert conn["totalCount"] == 2
    nodes = [e["node"] for e in conn["edges"]]
    assert [(n["name"], n["version"]) for n in nodes] == [("a", "1"), ("b", "1")]
    assert all("prod" in n["tags"] for n in nodes)


def test_artifacts_filter_by_name_contains(gql: Api) -> None:
    for name in ("train_set", "test_set", "model", "set%_literal"):
        gql.create_version(name)
    query = """
    query ($part: String) { artifacts(filter: {nameContains: $part}) { edges { node { name } } } }
    """
    names = [e["node"]["name"] for e in gql.data(query, part="_set")["artifacts"]["edges"]]
    assert names == ["test_set", "train_set"]


def test_artifacts_name_filter_escapes_wildcards(gql: Api) -> None:
    for name in ("a%b", "axb"):
        gql.create_version(name)
    query = """
    query ($part: String) { artifacts(filter: {nameContains: $part}) { edges { node { name } } } }
    """
    names = [e["node"]["name"] for e in gql.data(query, part="%")["artifacts"]["edges"]]
    assert names == ["a%b"]


def test_pipeline_runs_filter_by_status(gql: Api) -> None:
    failed = gql.start_run(run_name="r-failed")
    gql.finish_run(failed, "FAILED")
    done = gql.start_run(run_name="r-done")
    gql.finish_run(done, "COMPLETED")
    gql.start_run(run_name="r-running")
    query = """
    query ($status: RunStatus) {
      pipelineRuns(filter: {status: $status}) { totalCount edges { node { id name status } } }
    }
    """
    conn = gql.data(query, status="FAILED")["pipelineRuns"]
    assert conn["totalCount"] == 1
    assert [e["node"] for e in conn["edges"]] == [
        {"id": failed, "name": "r-failed", "status": "FAILED"}
    ]
    everything = gql.data(query, status=None)["pipelineRuns"]
    assert [e["node"]["name"] for e in everything["edges"]] == ["r-running", "r-done", "r-failed"]


def test_pipeline_last_run_and_runs(gql: Api) -> None:
    gql.start_run(run_name="older")
    newest = gql.start_run(run_name="newer")
    query = """
    query { pipeline(name: "training") { name lastRun { id } runs { edges { node { name } } } } }
    """
    pipeline = gql.data(query)["pipeline"]
    assert pipeline["lastRun"] == {"id": newest}
    assert [e["node"]["name"] for e in pipeline["runs"]["edges"]] == ["newer", "older"]


def test_missing_objects_are_null(gql: Api) -> None:
    query = """
    query ($id: ID!) {
      artifact(name: "nope") { id }
      artifactVersion(name: "nope") { id }
      pipeline(name: "nope") { id }
      pipelineRun(id: $id) { id }
      stepRun(id: $id) { id }
    }
    """
    data = gql.data(query, id="00000000-0000-0000-0000-000000000000")
    assert set(data.values()) == {None}


# --- errors ------------------------------------------------------------------------------------


def test_unknown_run_id_is_not_found(gql: Api) -> None:
    error = gql.error(
        START_STEP, input={"runId": "00000000-0000-0000-0000-000000000000", "name": "s"}
    )
    assert error["extensions"]["code"] == "NOT_FOUND"


def test_unknown_input_version_is_not_found(gql: Api) -> None:
    run_id = gql.start_run()
    edges = [{"name": "x", "artifactVersionId": "00000000-0000-0000-0000-000000000000"}]
    error = gql.error(START_STEP, input={"runId": run_id, "name": "s", "inputs": edges})
    assert error["extensions"]["code"] == "NOT_FOUND"


def test_custom_version_twice_is_conflict(gql: Api) -> None:
    gql.create_version("numbers", version="raw_2023")
    error = gql.error(CREATE_VERSION, input=version_input("numbers", "raw_2023"))
    assert error["extensions"]["code"] == "CONFLICT"
    assert error["extensions"]["reason"] == "ARTIFACT_VERSION_EXISTS"
    assert "raw_2023" in error["message"]


def test_rejected_create_version_leaves_database_unchanged(gql: Api, database_url: str) -> None:
    gql.create_version("numbers", version="raw_2023")
    before = row_counts(database_url)
    duplicate = version_input("numbers", "raw_2023", tags=["brand_new_tag"])
    assert gql.error(CREATE_VERSION, input=duplicate)["extensions"]["code"] == "CONFLICT"
    assert row_counts(database_url) == before


def test_rejected_step_outputs_leave_database_unchanged(gql: Api, database_url: str) -> None:
    gql.create_version("numbers", version="raw_2023")
    run_id = gql.start_run()
    step_id = gql.start_step(run_id, "load")
    before = row_counts(database_url)
    outputs = [
        output("fresh", "fresh_artifact", tags=["new_tag"], metadata={"k": 1}),
        output("clash", "numbers", version="raw_2023", tags=["other_tag"]),
    ]
    error = gql.error(FINISH_STEP, input=gql.finish_step_input(step_id, outputs))
    assert error["extensions"]["reason"] == "ARTIFACT_VERSION_EXISTS"
    assert row_counts(database_url) == before
    query = "query ($id: ID!) { stepRun(id: $id) { status outputs { name } } }"
    assert gql.data(query, id=step_id)["stepRun"] == {"status": "RUNNING", "outputs": []}
    assert gql.data('query { artifact(name: "fresh_artifact") { id } }')["artifact"] is None


def test_step_can_finish_after_a_rejected_attempt(gql: Api) -> None:
    gql.create_version("numbers", version="raw_2023")
    run_id = gql.start_run()
    step_id = gql.start_step(run_id, "load")
    bad = [output("out", "numbers", version="raw_2023")]
    gql.error(FINISH_STEP, input=gql.finish_step_input(step_id, bad))
    step = gql.finish_step(step_id, [output("out", "numbers")])
    assert step["outputs"][0]["artifactVersion"]["version"] == "1"


def test_digit_only_custom_version_is_accepted_and_continues_the_numbers(gql: Api) -> None:
    custom = gql.data(CREATE_VERSION, input=version_input("numbers", "42"))
    auto = gql.data(CREATE_VERSION, input=version_input("numbers"))
    assert (
        custom["createArtifactVersion"]["version"],
        custom["createArtifactVersion"]["isCustomVersion"],
    ) == ("42", True)
    assert (
        auto["createArtifactVersion"]["version"],
        auto["createArtifactVersion"]["isCustomVersion"],
    ) == ("43", False)


def test_a_bad_custom_version_is_bad_user_input(gql: Api) -> None:
    error = gql.error(CREATE_VERSION, input=version_input("numbers", "v\n1"))
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


def test_step_output_source_is_refused_for_create_version(gql: Api) -> None:
    query = """
    mutation ($input: ArtifactVersionInput!) {
      createArtifactVersion(input: $input, source: STEP_OUTPUT) { id }
    }
    """
    error = gql.error(query, input=version_input("numbers"))
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


def test_page_size_above_maximum_is_limit_exceeded(gql: Api) -> None:
    error = gql.error("query { artifacts(first: 100000) { edges { cursor } } }")
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED"


def test_bad_cursor_is_bad_user_input(gql: Api) -> None:
    gql.create_version("numbers")
    for cursor in ("not-a-cursor", "WzEsMiwzXQ=="):  # garbage; valid base64 of [1,2,3]
        query = "query ($after: String) { artifacts(after: $after) { edges { cursor } } }"
        error = gql.error(query, after=cursor)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", cursor


def test_syntax_error_has_no_traceback(gql: Api) -> None:
    response = gql.execute("query { artifacts( ")
    [error] = response["errors"]
    assert error["message"].startswith("Syntax Error")
    assert "Traceback" not in str(response)
    assert "exception" not in error.get("extensions", {})


def test_syntax_error_has_code(gql: Api) -> None:
    error = gql.error("query { artifacts( ")
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


def test_unknown_field_has_code(gql: Api) -> None:
    error = gql.error("query { noSuchField }")
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def _broken(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("secret sql")


def test_unexpected_error_is_masked_over_http(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = api.Settings(
        home=tmp_path / "home", database_url=database_url, artifact_store=str(tmp_path / "s")
    )
    monkeypatch.setattr(run_store, "create_run", _broken)
    with running(settings) as client:
        body = {"query": START_RUN, "variables": {"input": {"pipelineName": "training"}}}
        response = client.post("/graphql", json=body).json()
    [error] = response["errors"]
    assert "secret" not in str(response)
    assert "server log" in error["message"]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert error["extensions"]["requestId"]


def test_unexpected_error_in_process_names_its_cause(
    gql: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process the caller holds the database anyway: it gets the exception (the SDK chains
    it as the cause), and there is no server log to send it to."""
    monkeypatch.setattr(run_store, "create_run", _broken)
    response = gql.execute(START_RUN, input={"pipelineName": "training"})
    [error] = response["errors"]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "RuntimeError: secret sql" in error["message"]
    assert "server log" not in error["message"]
    assert isinstance(response["lineageqlCause"], RuntimeError)


def test_finishing_a_finished_step_is_conflict(gql: Api) -> None:
    run_id = gql.start_run()
    step_id = gql.start_step(run_id, "load")
    gql.finish_step(step_id, [output("out", "numbers")])
    error = gql.error(FINISH_STEP, input=gql.finish_step_input(step_id, []))
    assert error["extensions"]["code"] == "CONFLICT"


def test_finishing_a_run_with_a_running_step_is_conflict(gql: Api) -> None:
    run_id = gql.start_run()
    gql.start_step(run_id, "load")
    error = gql.error(FINISH_RUN, input={"runId": run_id, "status": "COMPLETED"})
    assert error["extensions"]["code"] == "CONFLICT"
    query = "query ($id: ID!) { pipelineRun(id: $id) { status } }"
    assert gql.data(query, id=run_id)["pipelineRun"]["status"] == "RUNNING"


def test_starting_a_step_in_a_finished_run_is_conflict(gql: Api) -> None:
    run_id = gql.start_run()
    gql.finish_run(run_id)
    error = gql.error(START_STEP, input={"runId": run_id, "name": "late"})
    assert error["extensions"]["code"] == "CONFLICT"


def test_duplicate_run_name_is_conflict(gql: Api) -> None:
    gql.start_run(run_name="nightly")
    error = gql.error(START_RUN, input={"pipelineName": "training", "runName": "nightly"})
    assert error["extensions"]["code"] == "CONFLICT"
