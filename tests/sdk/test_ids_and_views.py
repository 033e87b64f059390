"""Ids are UUIDs (a `uuid.UUID` or its string everywhere an id is taken); runs by id, name or
unique id prefix; the views' conveniences the docs use: `ArtifactVersion.data`,
`Artifact.versions["1"]`, outputs by their resolved names, a lineage graph to iterate and hand
to networkx; and every SDK error importable from `sdk.errors`."""

from __future__ import annotations

import ast
import importlib
from collections import Counter
from typing import Annotated
from uuid import UUID

import networkx as nx
import pytest

import sdk.errors
from sdk import (
    Client,
    ExternalArtifact,
    InputError,
    NotFoundError,
    load_artifact,
    pipeline,
    save_artifact,
    step,
)
from sdk.client.lineage import StepRunNode
from sdk.client.views import ArtifactVersion
from sdk.errors import LineageQLError
from tests.conftest import ROOT


@step
def produce() -> Annotated[list[int], "numbers"]:
    return [1, 2, 3]


@step
def total(numbers: list[int]) -> Annotated[int, "total"]:
    return sum(numbers)


@pipeline
def chain() -> None:
    total(produce())


@pytest.mark.usefixtures("lineageql")
def test_every_id_argument_takes_a_uuid_or_its_string() -> None:
    saved = save_artifact([4, 5], name="numbers_in")
    run = chain()
    as_uuid = UUID(saved.id)

    assert Client().get_artifact_version(as_uuid).id == saved.id
    assert Client().get_artifact_version(name_id_or_prefix=as_uuid).id == saved.id
    assert Client().get_artifact_version(saved.id).id == saved.id
    assert load_artifact(as_uuid) == [4, 5]
    assert load_artifact(saved.id) == [4, 5]
    assert Client().get_pipeline_run(UUID(run.id)).id == run.id
    assert Client().get_pipeline_run(id=UUID(run.id)).id == run.id
    step_id = run.steps["total"].id
    assert Client().get_step_run(UUID(step_id)).outputs["total"].load() == 6
    assert step_id in Client().get_lineage(UUID(step_id))
    output = run.steps["total"].outputs["total"]
    path = Client().get_lineage_path(UUID(run.steps["produce"].output.id), UUID(output.id))
    assert step_id in path
    tagged = Client().update_artifact_version(as_uuid, add_tags=["by-uuid"])
    assert tagged.tags == ("by-uuid",)

    @pipeline(enable_cache=False)
    def by_uuid() -> None:
        total(ExternalArtifact(id=as_uuid))

    used = by_uuid().steps["total"]
    assert used.inputs["numbers"].id == saved.id
    assert used.outputs["total"].load() == 9

    missing = UUID("00000000-0000-4000-8000-000000000000")
    with pytest.raises(NotFoundError, match="no artifact version has id"):
        Client().get_artifact_version(missing)
    with pytest.raises(NotFoundError, match="no pipeline run has id"):
        Client().get_pipeline_run(missing)
    with pytest.raises(InputError, match="an id"):
        Client().get_artifact_version(as_uuid, version="1")
    with pytest.raises(InputError, match="not both"):
        Client().get_artifact_version("numbers_in", name_id_or_prefix="numbers_in")
    with pytest.raises(InputError, match="uuid.UUID or a string"):
        Client().get_step_run(42)  # type: ignore[arg-type]


@pytest.mark.usefixtures("lineageql")
def test_runs_by_id_name_or_unique_prefix_and_ambiguous_prefixes_list_them() -> None:
    # 17 runs: by pigeonhole, two ids share their first hex digit
    runs = [chain() for _ in range(17)]
    client = Client()
    last = runs[-1]

    assert client.get_pipeline_run(last.name).id == last.id
    assert client.get_pipeline_run(last.id.upper()).id == last.id
    unique = next(
        last.id[:n] for n in range(1, 37) if sum(r.id.startswith(last.id[:n]) for r in runs) == 1
    )
    assert client.get_pipeline_run(unique).id == last.id
    assert client.get_pipeline_run(last.id[:8]).steps["total"].outputs["total"].load() == 6

    digit, count = Counter(r.id[0] for r in runs).most_common(1)[0]
    assert count >= 2
    with pytest.raises(InputError) as caught:
        client.get_pipeline_run(digit)
    message = str(caught.value)
    assert f"{count} pipeline runs have ids starting with {digit!r}" in message
    for run in runs:
        assert (run.id in message) is run.id.startswith(digit)
    assert "Give more of the id, or the run's name" in message

    with pytest.raises(NotFoundError, match="no pipeline run has the id, name or id prefix"):
        client.get_pipeline_run("no-such-run")


@pytest.mark.usefixtures("lineageql")
def test_versions_by_version_string_data_once_and_outputs_by_resolved_name() -> None:
    first = save_artifact([1], name="numbers")
    save_artifact([2], name="numbers", version="raw_2023")
    save_artifact([3], name="numbers")
    versions = Client().get_artifact("numbers").versions

    assert [v.version for v in versions] == ["1", "raw_2023", "2"]  # oldest first
    assert versions["1"].id == versions[0].id == first.id
    assert versions["raw_2023"].load() == [2]
    assert versions[-1].version == "2" and len(versions) == 3
    assert "raw_2023" in versions and "7" not in versions
    assert versions.keys() == ["1", "raw_2023", "2"] and versions.get("7") is None
    with pytest.raises(NotFoundError, match="numbers has no version '7'"):
        versions["7"]

    version = Client().get_artifact_version("numbers", "raw_2023")
    assert version.data == [2] and version.data is version.data
    assert version.read() == [2]

    @step
    def split() -> Annotated[list[int], "{split}_data"]:
        return [7]

    @pipeline
    def placeholders() -> None:
        total(split.with_options(substitutions={"split": "train"})())

    outputs = placeholders().steps["split"].outputs
    by_name = outputs["train_data"]
    assert by_name is outputs["{split}_data"] and by_name.name == "train_data"
    assert "train_data" in outputs and outputs.get("test_data") is None
    assert by_name.load() == [7] and by_name.version == "1"
    assert list(outputs) == ["{split}_data"]
    with pytest.raises(NotFoundError, match="no input or output is named 'test_data'"):
        outputs["test_data"]


@pytest.mark.usefixtures("lineageql")
def test_a_lineage_graph_is_iterable_and_becomes_networkx() -> None:
    run = chain()
    numbers, result = run.steps["produce"].output, run.steps["total"].output
    graph = result.upstream()

    nodes = list(graph)
    assert len(graph) == len(nodes) == 4
    assert {type(n) for n in nodes} == {ArtifactVersion, StepRunNode}
    assert numbers in graph and numbers.id in graph and UUID(numbers.id) in graph
    assert run.steps["produce"] in graph and "not-an-id" not in graph
    assert {n.name for n in graph if isinstance(n, ArtifactVersion)} == {"numbers", "total"}

    digraph = graph.to_networkx()
    assert isinstance(digraph, nx.DiGraph)
    assert set(digraph.nodes) == set(graph.nodes)
    assert nx.ancestors(digraph, result.id) == {
        numbers.id,
        run.steps["produce"].id,
        run.steps["total"].id,
    }
    assert list(nx.topological_sort(digraph))[0] == run.steps["produce"].id
    assert digraph.nodes[numbers.id]["kind"] == "ARTIFACT_VERSION"
    assert digraph.nodes[numbers.id]["node"] == numbers
    assert digraph.edges[numbers.id, run.steps["total"].id] == {
        "kind": "CONSUMED",
        "name": "numbers",
    }


def _sdk_error_classes() -> set[str]:
    """Names of the exception classes defined anywhere in `sdk`."""
    names: set[str] = set()
    for path in (ROOT / "sdk").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Error"):
                names.add(node.name)
    return names


def test_every_sdk_error_derives_from_the_base_and_is_importable_from_sdk_errors() -> None:
    names = _sdk_error_classes()
    assert {"StepOutputError", "PruneError", "StoreSecretError", "MaterializerError"} <= names
    for name in sorted(names):
        cls = getattr(sdk.errors, name)
        assert issubclass(cls, LineageQLError), name
    module = importlib.import_module("sdk.errors")
    with pytest.raises(AttributeError):
        module.NoSuchError  # noqa: B018


@pytest.mark.usefixtures("lineageql")
def test_load_artifact_asks_only_what_loading_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """`load_artifact` sends one lean LoadVersion (no tags, visualizations, producer or
    OpenLineage: loading reads none of them), by id, name, name and version, and alias, with
    the same errors as `get_artifact_version`."""
    from sdk.client.client import Client as ClientClass

    first = save_artifact({"n": 1}, name="lean_load", tags=["t"])
    save_artifact({"n": 2}, name="lean_load")
    Client().set_alias("lean_load", "best", 1)
    sent: list[str] = []
    execute = ClientClass.execute

    def spy(self: ClientClass, document: str, variables: dict | None = None) -> dict:
        sent.append(document.split("(")[0].split()[-1])
        return execute(self, document, variables)

    monkeypatch.setattr(ClientClass, "execute", spy)
    assert load_artifact("lean_load") == {"n": 2}
    assert load_artifact("lean_load", 1) == {"n": 1}
    assert load_artifact(first.id) == {"n": 1}
    assert sent == ["LoadVersion"] * 3
    assert load_artifact("lean_load@best") == {"n": 1}  # the alias lookup answers in full
    with pytest.raises(NotFoundError, match="has no version '9'; latest versions: '2', '1'"):
        load_artifact("lean_load", 9)
    with pytest.raises(NotFoundError, match="no artifact is named 'no_such_artifact'"):
        load_artifact("no_such_artifact")
    lean = Client().version_to_load("lean_load", 1)
    full = Client().get_artifact_version("lean_load", 1)
    assert (lean.id, lean.uri, lean.materializer, lean.content_hash) == (
        full.id,
        full.uri,
        full.materializer,
        full.content_hash,
    )
    assert full.tags == ("t",) and lean.tags == ()
