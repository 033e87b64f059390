"""Mutations that create something take a `clientKey`: a repeat answers with what the first
request created, never a second row; a key names one operation."""

from __future__ import annotations

from tests.api.client import CREATE_VERSION, START_RUN, Api, row_counts, version_input

CREATE_WITH_KEY = """
mutation ($input: ArtifactVersionInput!, $key: String) {
  createArtifactVersion(input: $input, clientKey: $key) { id version }
}
"""


def test_a_repeated_key_returns_the_first_answer(gql: Api, database_url: str) -> None:
    first = gql.data(CREATE_WITH_KEY, input=version_input("model"), key="k-1")
    before = row_counts(database_url)
    again = gql.data(CREATE_WITH_KEY, input=version_input("model"), key="k-1")
    assert again == first
    assert row_counts(database_url) == before
    other = gql.data(CREATE_WITH_KEY, input=version_input("model"), key="k-2")
    assert other["createArtifactVersion"]["version"] == "2"
    plain = gql.data(CREATE_VERSION, input=version_input("model"))  # no key: a new version
    assert plain["createArtifactVersion"]["version"] == "3"


def test_runs_and_steps_are_created_once_per_key(gql: Api, database_url: str) -> None:
    start = {"pipelineName": "p", "clientKey": "run-key"}
    run = gql.data(START_RUN, input=start)["startPipelineRun"]
    assert gql.data(START_RUN, input=start)["startPipelineRun"] == run
    step = {"runId": run["id"], "name": "load", "clientKey": "step-key"}
    query = "mutation ($input: StartStepRunInput!) { startStepRun(input: $input) { id } }"
    first = gql.data(query, input=step)
    before = row_counts(database_url)
    assert gql.data(query, input=step) == first
    assert row_counts(database_url) == before


def test_a_key_reused_for_another_operation_is_refused(gql: Api, database_url: str) -> None:
    gql.data(START_RUN, input={"pipelineName": "p", "clientKey": "shared"})
    before = row_counts(database_url)
    error = gql.error(CREATE_WITH_KEY, input=version_input("model"), key="shared")
    assert error["extensions"]["code"] == "CONFLICT"
    assert error["extensions"]["reason"] == "IDEMPOTENCY_KEY_REUSED"
    assert row_counts(database_url) == before
    error = gql.error(CREATE_WITH_KEY, input=version_input("model"), key="x" * 129)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
