"""Run metadata through GraphQL on SQLite and PostgreSQL: `logMetadata` on versions, step runs
and pipeline runs (typed values, latest wins, refusals that change nothing), `runMetadata` at
registration, and filters and sorts by metadata checked against a Python filter over the same
random data, page by page."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from tests.api.client import Api, output, row_counts, version_input

LOG = """
mutation ($input: LogMetadataInput!) {
  logMetadata(input: $input) {
    owner id runMetadata { key value type loggedAt }
    artifactVersion { name version } stepRun { name } pipelineRun { name }
  }
}
"""
VERSION_METADATA = """
query ($id: ID!) { artifactVersion(id: $id) { metadata runMetadata { key value type } } }
"""
RUN_METADATA = """
query ($run: ID!, $step: ID!) {
  pipelineRun(id: $run) { runMetadata { key value type } steps { name runMetadata { key } } }
  stepRun(id: $step) { runMetadata { key value type } }
}
"""
VERSIONS = """
query ($filter: ArtifactVersionFilter, $order: MetadataOrder, $first: Int, $after: String) {
  artifactVersions(filter: $filter, orderBy: $order, first: $first, after: $after) {
    totalCount
    edges { node { id version } cursor }
    pageInfo { hasNextPage endCursor }
  }
}
"""
STEP_RUNS = """
query ($filter: StepRunFilter, $order: MetadataOrder, $first: Int, $after: String) {
  stepRuns(filter: $filter, orderBy: $order, first: $first, after: $after) {
    totalCount edges { node { id } } pageInfo { hasNextPage endCursor }
  }
}
"""
PIPELINE_RUNS = """
query ($filter: PipelineRunFilter, $order: MetadataOrder, $first: Int, $after: String) {
  pipelineRuns(filter: $filter, orderBy: $order, first: $first, after: $after) {
    totalCount edges { node { id } } pageInfo { hasNextPage endCursor }
  }
}
"""


def log(gql: Api, **target: Any) -> dict[str, Any]:
    result: dict[str, Any] = gql.data(LOG, input=target)["logMetadata"]
    return result


def entries(rows: list[dict[str, Any]]) -> dict[str, tuple[Any, str]]:
    return {row["key"]: (row["value"], row["type"]) for row in rows}


def test_log_on_a_version_by_id_and_by_name_types_inferred_and_given(gql: Api) -> None:
    first = gql.create_version("model")
    second = gql.create_version("model")

    by_id = log(gql, artifactVersionId=first, metadata={"accuracy": 0.91, "epochs": 3})
    latest = log(
        gql,
        artifactName="model",
        metadata={"notes": "ok", "flags": [1, "a"], "cfg": {"lr": 0.1}, "gone": None},
        values=[
            {"key": "data", "value": "s3://bucket/x", "type": "URI"},
            {"key": "size", "value": 2048, "type": "STORAGE_SIZE"},
            {"key": "dtype", "value": "float32", "type": "DTYPE"},
            {"key": "where", "value": "/tmp/x", "type": "PATH"},
            {"key": "shape", "value": [2, 3], "type": "TUPLE"},
        ],
    )
    by_name = log(gql, artifactName="model", artifactVersion="1", metadata={"epochs": 4})

    assert by_id["owner"] == "ARTIFACT_VERSION" and by_id["artifactVersion"]["version"] == "1"
    assert latest["id"] == second and latest["stepRun"] is None
    assert entries(latest["runMetadata"]) == {
        "cfg": ({"lr": 0.1}, "DICT"),
        "data": ("s3://bucket/x", "URI"),
        "dtype": ("float32", "DTYPE"),
        "flags": ([1, "a"], "LIST"),
        "gone": (None, "NULL"),
        "notes": ("ok", "STRING"),
        "shape": ([2, 3], "TUPLE"),
        "size": (2048, "STORAGE_SIZE"),
        "where": ("/tmp/x", "PATH"),
    }
    assert [row["key"] for row in latest["runMetadata"]] == sorted(entries(latest["runMetadata"]))
    # latest wins: epochs 3 became 4; extracted metadata is left alone
    assert entries(by_name["runMetadata"]) == {"accuracy": (0.91, "FLOAT"), "epochs": (4, "INT")}
    stored = gql.data(VERSION_METADATA, id=first)["artifactVersion"]
    assert stored["metadata"] == {} and entries(stored["runMetadata"]) == {
        "accuracy": (0.91, "FLOAT"),
        "epochs": (4, "INT"),
    }


def test_log_on_step_and_pipeline_runs(gql: Api) -> None:
    run = gql.start_run()
    step = gql.start_step(run, "train")
    log(gql, stepRunId=step, metadata={"loss": 0.2})
    gql.finish_step(step)
    log(gql, pipelineRunId=run, metadata={"git": "abc"})
    answer = gql.data(RUN_METADATA, run=run, step=step)
    assert entries(answer["stepRun"]["runMetadata"]) == {"loss": (0.2, "FLOAT")}
    assert entries(answer["pipelineRun"]["runMetadata"]) == {"git": ("abc", "STRING")}
    assert answer["pipelineRun"]["steps"][0]["runMetadata"] == [{"key": "loss"}]


def test_outputs_and_saved_versions_are_registered_with_their_metadata(gql: Api) -> None:
    run = gql.start_run()
    step = gql.start_step(run, "train")
    out = output("output", "model")
    out["artifact"]["runMetadata"] = [
        {"key": "accuracy", "value": 0.5},
        {"key": "bytes", "value": 10, "type": "STORAGE_SIZE"},
    ]
    version = gql.finish_step(step, [out])["outputs"][0]["artifactVersion"]["id"]
    saved = gql.data(
        "mutation ($input: ArtifactVersionInput!) { createArtifactVersion(input: $input) { id } }",
        input={**version_input("data"), "runMetadata": [{"key": "rows", "value": 7}]},
    )["createArtifactVersion"]["id"]
    assert entries(gql.data(VERSION_METADATA, id=version)["artifactVersion"]["runMetadata"]) == {
        "accuracy": (0.5, "FLOAT"),
        "bytes": (10, "STORAGE_SIZE"),
    }
    assert entries(gql.data(VERSION_METADATA, id=saved)["artifactVersion"]["runMetadata"]) == {
        "rows": (7, "INT")
    }


@pytest.mark.parametrize(
    ("target", "values", "message"),
    [
        ({}, {"metadata": {"a": 1}}, "exactly one target"),
        ({"artifactName": "model", "stepRunId": "x"}, {"metadata": {"a": 1}}, "exactly one"),
        ({"artifactName": "nope"}, {"metadata": {"a": 1}}, "no artifact is named 'nope'"),
        ({"artifactName": "model", "artifactVersion": "9"}, {"metadata": {}}, "no version '9'"),
        ({"stepRunId": "00000000-0000-0000-0000-000000000000"}, {}, "no step run has id"),
        ({"pipelineRunId": "nope"}, {}, "no pipeline run has id 'nope'"),
        ({"artifactName": "model"}, {"metadata": [1]}, "a JSON object"),
        ({"artifactName": "model"}, {"metadata": {"": 1}}, "metadata key"),
        (
            {"artifactName": "model"},
            {
                "metadata": {"ok": 1},
                "values": [{"key": "size", "value": -1, "type": "STORAGE_SIZE"}],
            },
            "metadata 'size': a STORAGE_SIZE value cannot be -1",
        ),
        (
            {"artifactName": "model"},
            {"values": [{"key": "u", "value": 3, "type": "URI"}]},
            "a URI value cannot be 3",
        ),
        (
            {"artifactName": "model"},
            {"metadata": {"a": 1}, "values": [{"key": "a", "value": 2}]},
            "'a' is given twice",
        ),
        ({"artifactName": "model"}, {"metadata": {"big": "x" * 70_000}}, "the limit is 65535"),
    ],
)
def test_refused_input_names_the_problem_and_changes_nothing(
    gql: Api, database_url: str, target: dict[str, Any], values: dict[str, Any], message: str
) -> None:
    version = gql.create_version("model")
    log(gql, artifactVersionId=version, metadata={"a": 0, "ok": 0})
    counts = row_counts(database_url)
    error = gql.error(LOG, input={**target, **values})
    assert error["extensions"]["code"] in ("BAD_USER_INPUT", "NOT_FOUND")
    assert message in error["message"]
    assert row_counts(database_url) == counts
    stored = gql.data(VERSION_METADATA, id=version)["artifactVersion"]["runMetadata"]
    assert entries(stored) == {"a": (0, "INT"), "ok": (0, "INT")}


def test_a_refused_output_metadata_registers_nothing(gql: Api, database_url: str) -> None:
    run = gql.start_run()
    step = gql.start_step(run, "train")
    out = output("output", "model")
    out["artifact"]["runMetadata"] = [{"key": "n", "value": "x", "type": "INT"}]
    counts = row_counts(database_url)
    error = gql.error(
        "mutation ($input: FinishStepRunInput!) { finishStepRun(input: $input) { id } }",
        input=gql.finish_step_input(step, [out]),
    )
    assert "metadata 'n': a INT value cannot be 'x'" in error["message"]
    assert row_counts(database_url) == counts


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ({"key": "a", "op": "GT", "value": [1]}, "a number or a string"),
        ({"key": "a", "op": "CONTAINS", "value": 1}, "the value is a string"),
        ({"key": "a", "op": "IN", "value": 1}, "a list of values"),
        ({"key": "a", "op": "GT", "value": True}, "a bool compares with EQ or NE"),
    ],
)
def test_a_bad_condition_is_refused(gql: Api, condition: dict[str, Any], message: str) -> None:
    error = gql.error(VERSIONS, filter={"metadata": [condition]})
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and message in error["message"]


def test_a_cursor_of_another_order_is_refused(gql: Api) -> None:
    gql.create_version("model")
    plain = gql.data(VERSIONS, first=1)["artifactVersions"]["pageInfo"]["endCursor"]
    error = gql.error(VERSIONS, order={"metadata": "a"}, after=plain)
    assert "invalid cursor" in error["message"]
    gql.data(LOG, input={"artifactName": "model", "metadata": {"a": 1, "b": 2}})
    by_a = gql.data(VERSIONS, order={"metadata": "a"}, first=1)["artifactVersions"]
    cursor = by_a["pageInfo"]["endCursor"]
    assert (
        gql.data(VERSIONS, order={"metadata": "a"}, after=cursor)["artifactVersions"]["edges"] == []
    )
    error = gql.error(VERSIONS, order={"metadata": "b"}, after=cursor)
    assert "a sort by metadata 'b' has cursors of its own" in error["message"]


# ---- the filter against Python, over random data ----------------------------------------

WORDS = ["alpha", "alp", "beta", "Beta", "gamma", "émile", "zeta", "ab", ""]


def _value(rng: random.Random, key: str) -> Any:
    if key == "accuracy":
        return rng.choice([round(rng.random(), 2), rng.randint(0, 1)])
    if key == "name":
        return rng.choice(WORDS) + rng.choice(["", "-x", "-y"])
    if key == "mixed":
        return rng.choice([rng.randint(-3, 3), rng.choice(WORDS), True, False, [1, 2], None])
    return rng.choice([True, False])


def sort_key(value: Any) -> tuple[int, float, str]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return 0, float(value), ""
    if isinstance(value, str):
        return 1, 0.0, value[:256]
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return 2, 0.0, text[:256]


def matches(stored: dict[str, Any], key: str, op: str, operand: Any) -> bool:
    """The reference: what a condition means, in Python."""
    if key not in stored:
        return False
    if op == "EXISTS":
        return True
    group, number, text = sort_key(stored[key])
    if op in ("CONTAINS", "STARTSWITH", "ENDSWITH"):
        test = {"CONTAINS": text.__contains__, "STARTSWITH": text.startswith}.get(op, text.endswith)
        return group == 1 and test(operand)
    if op == "IN":
        return any(matches(stored, key, "EQ", item) for item in operand)
    if op == "NE":
        return not matches(stored, key, "EQ", operand)
    og, onum, otext = sort_key(operand)
    if og != group:
        return False
    mine, theirs = (number, onum) if group == 0 else (text, otext)
    return {
        "EQ": mine == theirs,
        "GT": mine > theirs,
        "GTE": mine >= theirs,
        "LT": mine < theirs,
        "LTE": mine <= theirs,
    }[op]


CASES: list[tuple[list[tuple[str, str, Any]], tuple[str, bool] | None]] = [
    ([("accuracy", "GT", 0.5)], ("accuracy", True)),
    ([("accuracy", "LTE", 0.3)], ("accuracy", False)),
    ([("accuracy", "EQ", 1)], None),
    ([("accuracy", "NE", 1), ("flag", "EQ", True)], ("accuracy", False)),
    ([("name", "STARTSWITH", "al")], ("name", True)),
    ([("name", "CONTAINS", "et")], ("name", False)),
    ([("name", "ENDSWITH", "-x")], None),
    ([("name", "GTE", "beta")], ("name", False)),
    ([("name", "IN", ["alpha", "zeta-y", "Beta"])], ("accuracy", True)),
    ([("mixed", "EXISTS", True)], ("mixed", False)),
    ([("mixed", "EXISTS", False)], None),
    ([("mixed", "GT", 0)], ("mixed", True)),
    ([("mixed", "EQ", [1, 2])], None),
    ([], ("mixed", True)),
    ([("flag", "EQ", False), ("accuracy", "LT", 0.8)], ("name", True)),
]


def _pages(gql: Api, query: str, field: str, page: int, **variables: Any) -> list[str]:
    seen: list[str] = []
    after = None
    while True:
        answer = gql.data(query, first=page, after=after, **variables)[field]
        seen += [edge["node"]["id"] for edge in answer["edges"]]
        total = answer["totalCount"]
        if not answer["pageInfo"]["hasNextPage"]:
            break
        after = answer["pageInfo"]["endCursor"]
    assert total == len(seen)
    return seen


def expected(
    data: dict[str, dict[str, Any]],
    conditions: list[tuple[str, str, Any]],
    order: tuple[str, bool] | None,
) -> list[str] | set[str]:
    kept = [
        owner
        for owner, stored in data.items()
        if all(
            (not matches(stored, k, "EXISTS", None))
            if op == "EXISTS" and v is False
            else matches(stored, k, op, v)
            for k, op, v in conditions
        )
    ]
    if order is None:
        return set(kept)
    key, desc = order
    having = [owner for owner in kept if key in data[owner]]
    return sorted(having, key=lambda o: (*sort_key(data[o][key]), o), reverse=desc)


def _variables(
    conditions: list[tuple[str, str, Any]], order: tuple[str, bool] | None
) -> dict[str, Any]:
    metadata = [{"key": k, "op": op, "value": v} for k, op, v in conditions]
    return {
        "filter": {"metadata": metadata},
        "order": None if order is None else {"metadata": order[0], "desc": order[1]},
    }


def _random_metadata(rng: random.Random) -> dict[str, Any]:
    keys = [k for k in ("accuracy", "name", "mixed", "flag") if rng.random() < 0.8]
    return {key: _value(rng, key) for key in keys}


def test_version_filters_and_sorts_agree_with_python(gql: Api) -> None:
    rng = random.Random(20)
    data: dict[str, dict[str, Any]] = {}
    for i in range(45):
        version = gql.create_version(f"a{i % 4}")
        data[version] = _random_metadata(rng)
        if data[version]:
            log(gql, artifactVersionId=version, metadata=data[version])
    for conditions, order in CASES:
        found = _pages(gql, VERSIONS, "artifactVersions", 7, **_variables(conditions, order))
        want = expected(data, conditions, order)
        assert (found if order else set(found)) == want, (conditions, order)
        assert len(found) == len(set(found))
    # other filters combine with metadata ones
    combined = {"artifactName": "a1", "metadata": [{"key": "accuracy", "op": "GTE", "value": 0}]}
    found = _pages(gql, VERSIONS, "artifactVersions", 3, filter=combined, order=None)
    names = {v: f"a{i % 4}" for i, v in enumerate(data)}
    assert set(found) == {
        v for v in data if names[v] == "a1" and matches(data[v], "accuracy", "GTE", 0)
    }


def test_step_run_and_pipeline_run_filters_and_sorts_agree_with_python(gql: Api) -> None:
    rng = random.Random(21)
    steps: dict[str, dict[str, Any]] = {}
    runs: dict[str, dict[str, Any]] = {}
    for i in range(12):
        run = gql.start_run(run_name=f"run-{i}")
        runs[run] = _random_metadata(rng)
        if runs[run]:
            log(gql, pipelineRunId=run, metadata=runs[run])
        for name in ("a", "b"):
            step = gql.start_step(run, name)
            steps[step] = _random_metadata(rng)
            if steps[step]:
                log(gql, stepRunId=step, metadata=steps[step])
            gql.finish_step(step)
        gql.finish_run(run)
    for conditions, order in CASES[:8]:
        variables = _variables(conditions, order)
        for query, field, data in (
            (STEP_RUNS, "stepRuns", steps),
            (PIPELINE_RUNS, "pipelineRuns", runs),
        ):
            found = _pages(gql, query, field, 4, **variables)
            want = expected(data, conditions, order)
            assert (found if order else set(found)) == want, (field, conditions, order)


def test_step_runs_list_filters_by_run_name_and_status(gql: Api) -> None:
    run = gql.start_run(pipeline="p")
    step = gql.start_step(run, "train")
    gql.finish_step(step)
    other = gql.start_step(gql.start_run(pipeline="q"), "train")
    found = _pages(gql, STEP_RUNS, "stepRuns", 10, filter={"pipelineName": "p"}, order=None)
    assert found == [step]
    running = {"status": "RUNNING", "name": "train"}
    assert _pages(gql, STEP_RUNS, "stepRuns", 10, filter=running, order=None) == [other]
    assert _pages(gql, STEP_RUNS, "stepRuns", 10, filter={"runId": run}, order=None) == [step]


def test_metadata_of_a_new_version_input_is_checked_before_writing(gql: Api) -> None:
    error = gql.error(
        "mutation ($input: ArtifactVersionInput!) { createArtifactVersion(input: $input) { id } }",
        input={**version_input("m"), "runMetadata": [{"key": "p", "value": 1, "type": "PATH"}]},
    )
    assert "a PATH value cannot be 1" in error["message"]
    assert gql.data('{ artifact(name: "m") { name } }')["artifact"] is None


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"metadata": {"a": "x\u0000y"}}, "holds a NUL character"),
        ({"metadata": {"a": {"k\u0000": 1}}}, "holds a NUL character"),
        ({"metadata": {"a": "\ud800"}}, "lone surrogate"),
        ({"metadata": {"\ud800": 1}}, "lone surrogate"),
    ],
)
def test_text_no_database_can_store_is_refused(
    gql: Api, database_url: str, values: dict[str, Any], message: str
) -> None:
    gql.create_version("model")
    counts = row_counts(database_url)
    error = gql.error(LOG, input={"artifactName": "model", **values})
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and message in error["message"]
    assert row_counts(database_url) == counts


def test_too_many_conditions_or_values_are_refused(gql: Api) -> None:
    many = [{"key": f"k{i}", "op": "EXISTS"} for i in range(51)]
    assert "the limit is 50" in gql.error(VERSIONS, filter={"metadata": many})["message"]
    one_of = [{"key": "a", "op": "IN", "value": list(range(1001))}]
    assert "the limit is 1000" in gql.error(VERSIONS, filter={"metadata": one_of})["message"]
    assert gql.data(VERSIONS, filter={"metadata": many[:50]})["artifactVersions"]["edges"] == []


def test_many_matches_in_creation_order_agree_with_python(
    gql: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With more matches than the probe takes, SQLite tests each row in list order instead."""
    from api.storage import metadata as metadata_store

    monkeypatch.setattr(metadata_store, "FEW_MATCHES", 3)
    rng = random.Random(22)
    data: dict[str, dict[str, Any]] = {}
    for i in range(30):
        version = gql.create_version(f"a{i % 3}")
        data[version] = _random_metadata(rng)
        if data[version]:
            log(gql, artifactVersionId=version, metadata=data[version])
    for conditions, order in CASES:
        if order is None:
            found = _pages(gql, VERSIONS, "artifactVersions", 4, **_variables(conditions, None))
            assert set(found) == expected(data, conditions, None), conditions
            assert len(found) == len(set(found))
