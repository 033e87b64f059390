"""Lineage nodes built from only the columns their selection needs (api/graphql/lineage.py,
"slim nodes") answer exactly what the whole build answers, field by field, and the whole build
is used whenever the selection asks for anything else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from api.graphql import lineage
from sdk.client import operations as ops
from tests.api.client import Api, output

LINEAGE = """query ($id: ID!) { lineage(id: $id, direction: BOTH, depth: 5) {
  nodes { __typename %s } edges { source target kind name } truncated totalCount } }"""


@pytest.fixture
def middle(gql: Api, tmp_path: Path) -> str:
    """Runs of every kind downstream of one version: a custom version, sizes, a cached step,
    a step still running (no end), a failed one; returns the first version's id."""
    raw = gql.create_version("raw", version="v-one", size_bytes=12, tags=["source"])
    cleaned = ""
    for index in range(2):
        run = gql.start_run(run_name=f"run-{index}")
        start = {
            "runId": run,
            "name": "clean",
            "inputs": [{"name": "data", "artifactVersionId": raw}],
            "cacheKey": "clean-key",
            "cacheComponents": {"code": "c1"},
            "useCache": True,
        }
        started = gql.data(ops.START_STEP_RUN, input=start)["startStepRun"]
        if started["status"] == "RUNNING":
            (tmp_path / "store" / "clean" / "auto").mkdir(parents=True)
            outputs = [output("out", "clean", size_bytes=2**40, metadata={"a": 1})]
            done = gql.finish_step(started["id"], outputs)
            cleaned = done["outputs"][0]["artifactVersion"]["id"]
    assert started["status"] == "CACHED"
    gql.start_step(run, "train", inputs=[("data", cleaned)])  # left running
    failed = gql.start_step(run, "report", inputs=[("data", cleaned)])
    gql.data(
        "mutation ($input: FinishStepRunInput!) { finishStepRun(input: $input) { id } }",
        input={"stepRunId": failed, "status": "FAILED", "outputs": [], "error": "boom"},
    )
    return raw


def _ask(gql: Api, selection: str, start: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    """The answer with slim nodes, and with the whole build."""
    slim = gql.data(LINEAGE % selection, id=start)
    with monkeypatch.context() as patch:
        patch.setattr(lineage, "slim_nodes", lambda info: lineage.SlimNodes())
        whole = gql.data(LINEAGE % selection, id=start)
    return slim, whole


def _fragments(version_fields: str, step_fields: str) -> str:
    return f"... on ArtifactVersion {{ {version_fields} }} ... on StepRun {{ {step_fields} }}"


@pytest.mark.parametrize("field", sorted(lineage.SLIM_VERSION_FIELDS))
def test_each_version_field_answers_as_the_whole_build(
    gql: Api, middle: str, field: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    slim, whole = _ask(gql, _fragments(field, "id"), middle, monkeypatch)
    assert slim == whole
    assert len(slim["lineage"]["nodes"]) >= 6


@pytest.mark.parametrize("field", sorted(lineage.SLIM_STEP_FIELDS))
def test_each_step_field_answers_as_the_whole_build(
    gql: Api, middle: str, field: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    slim, whole = _ask(gql, _fragments("id", field), middle, monkeypatch)
    assert slim == whole


def test_all_listed_fields_together_and_the_fixture_covers_their_values(
    gql: Api, middle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    every = _fragments(" ".join(lineage.SLIM_VERSION_FIELDS), " ".join(lineage.SLIM_STEP_FIELDS))
    slim, whole = _ask(gql, every, middle, monkeypatch)
    assert slim == whole
    nodes = slim["lineage"]["nodes"]
    steps = [n for n in nodes if n["__typename"] == "StepRun"]
    versions = [n for n in nodes if n["__typename"] == "ArtifactVersion"]
    assert {s["status"] for s in steps} >= {"COMPLETED", "RUNNING", "FAILED", "CACHED"}
    assert any(s["endedAt"] is None for s in steps)
    assert any(v["isCustomVersion"] for v in versions)
    assert {v["sizeBytes"] for v in versions} >= {12, 2**40}


def _slim_of(gql: Api, document: str, start: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    seen: list[lineage.SlimNodes] = []
    choose = lineage.slim_nodes

    def spy(info: Any) -> lineage.SlimNodes:
        seen.append(choose(info))
        return seen[-1]

    with monkeypatch.context() as patch:
        patch.setattr(lineage, "slim_nodes", spy)
        gql.data(document, id=start)
    assert seen
    return seen[0]  # the outermost lineage field's (a node's `upstream` asks again)


def test_the_slim_build_is_chosen_only_for_listed_fields(
    gql: Api, middle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = _slim_of(gql, LINEAGE % _fragments("id name", "status"), middle, monkeypatch)
    assert plain.version is not None and plain.step is not None
    assert plain.columns["version_columns"] == ("artifact_name", "id")
    assert plain.columns["step_columns"] == ("id", "status")
    for selection, version_slim, step_slim in (
        (_fragments("id metadata", "id"), False, True),  # a field not listed
        (_fragments("id tags", "id"), False, True),  # a resolver
        (_fragments("id", "id run { id }"), False, False),  # a sub-selection: both whole
        (_fragments("id upstream(depth: 1) { totalCount }", "id"), False, False),  # arguments
    ):
        chosen = _slim_of(gql, LINEAGE % selection, middle, monkeypatch)
        assert (chosen.version is not None, chosen.step is not None) == (version_slim, step_slim)
        slim, whole = _ask(gql, selection, middle, monkeypatch)
        assert slim == whole


def test_fragments_at_every_level_are_followed(
    gql: Api, middle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = """query ($id: ID!) { lineage(id: $id, direction: BOTH, depth: 5) { ...G } }
      fragment G on LineageGraph { nodes { ...N ... on StepRun { name } } totalCount }
      fragment N on LineageNode { __typename ... on ArtifactVersion { ...V } }
      fragment V on ArtifactVersion { id version createdAt }"""
    chosen = _slim_of(gql, document, middle, monkeypatch)
    assert chosen.version is not None and chosen.step is not None
    assert set(chosen.columns["version_columns"] or ()) == {"id", "version", "created_at"}
    assert set(chosen.columns["step_columns"] or ()) == {"id", "name"}
    answer = gql.data(document, id=middle)
    with monkeypatch.context() as patch:
        patch.setattr(lineage, "slim_nodes", lambda info: lineage.SlimNodes())
        assert gql.data(document, id=middle) == answer
    with_extra = document.replace("createdAt }", "createdAt metadata }")
    assert _slim_of(gql, with_extra, middle, monkeypatch).version is None


def test_lineage_path_and_a_versions_upstream_take_it_too(
    gql: Api, middle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = middle
    middle = gql.data('{ artifactVersion(name: "clean") { id } }')["artifactVersion"]["id"]
    for document in (
        f'query ($id: ID!) {{ lineagePath(from: "{raw}", to: $id) {{ nodes {{ __typename '
        "... on ArtifactVersion { id name version } ... on StepRun { id name status } } } }",
        "query ($id: ID!) { artifactVersion(id: $id) { upstream(depth: 3) { nodes { "
        "... on ArtifactVersion { id version } ... on StepRun { id status } } } } }",
    ):
        chosen = _slim_of(gql, document, middle, monkeypatch)
        assert chosen.version is not None and chosen.step is not None
        answer = gql.data(document, id=middle)
        with monkeypatch.context() as patch:
            patch.setattr(lineage, "slim_nodes", lambda info: lineage.SlimNodes())
            assert gql.data(document, id=middle) == answer


def test_slim_nodes_are_named_tuples_that_answer_as_their_type() -> None:
    """A slim node is a named tuple of the selected attributes, converted as the whole build
    converts them, with nothing else to read; it answers as its node type on the fast path
    (`stand_in`) and in Strawberry's union resolution (`__strawberry_definition__`; the
    general path is compared in tests/api/test_fast_lists.py)."""
    from api.graphql import execution
    from api.graphql.types import StepRun
    from api.storage.models import RunStatus

    slim = lineage._slim_type(StepRun, lineage.SLIM_STEP_FIELDS, {"id", "name", "status"})
    assert slim is not None
    build = slim.builder(("id", "name", "status"))
    node = build(("s-1", "train", "COMPLETED"))
    assert isinstance(node, tuple) and node.id == "s-1" and node.name == "train"
    assert node.status is RunStatus.COMPLETED
    assert build(("s-2", "score", None)).status is None
    with pytest.raises(AttributeError):
        _ = node.parameters
    assert type(node).__strawberry_definition__ is StepRun.__strawberry_definition__
    assert isinstance(node, execution._STAND_INS[StepRun])
    assert slim.builder(("status", "id", "name"))(("FAILED", "s-3", "x")).id == "s-3"
