"""Lineage through the SDK, over both transports and both databases: three pipelines where
each consumes the previous one's artifact (by `ExternalArtifact` name, by a `Client` version)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import pytest

import sdk.client.client
from sdk import ArtifactConfig, Client, ExternalArtifact, InputError, NotFoundError, pipeline, step
from sdk.client.lineage import LineageEdge, LineageGraph, StepRunNode
from sdk.client.transport import Transport
from sdk.client.views import ArtifactVersion, PipelineRun, StepRun


@step
def load_raw() -> Annotated[list[int], "raw"]:
    return [3, 1, 2]


@step
def clean_data(raw: list[int]) -> Annotated[list[int], "clean"]:
    return sorted(raw)


@pipeline
def prepare() -> None:
    clean_data(load_raw())


@step
def train_model(data: list[int]) -> Annotated[int, ArtifactConfig(name="model", tags=["trained"])]:
    return sum(data)


@pipeline
def training() -> None:
    train_model(ExternalArtifact(name="clean"))


@step
def evaluate_model(model: int) -> Annotated[float, "score"]:
    return model / 10


@pipeline
def evaluation() -> None:
    evaluate_model(Client().get_artifact_version("model"))


@dataclass(frozen=True)
class World:
    """prepare: load_raw → raw → clean_data → clean; training: clean → train_model → model;
    evaluation: model → evaluate_model → score."""

    prepare: PipelineRun
    training: PipelineRun
    evaluation: PipelineRun

    def step(self, name: str) -> StepRun:
        runs = (self.prepare, self.training, self.evaluation)
        return next(run.steps[name] for run in runs if name in run.steps)

    def version(self, step_name: str) -> ArtifactVersion:
        return self.step(step_name).output


def build_world() -> World:
    """Runs the three pipelines once each, in order, on the configured store."""
    return World(prepare=prepare(), training=training(), evaluation=evaluation())


@pytest.fixture
def world(lineageql: str) -> World:
    return build_world()


def edges_of(graph: LineageGraph) -> set[tuple[str, str, str, str]]:
    return {(e.source, e.target, e.kind, e.name) for e in graph.edges}


def test_upstream_of_a_model_reaches_the_raw_data_of_another_pipeline(world: World) -> None:
    raw, clean, model = (world.version(s) for s in ("load_raw", "clean_data", "train_model"))
    load, cleaning, train = (world.step(s) for s in ("load_raw", "clean_data", "train_model"))

    graph = model.upstream(depth=5)

    assert set(graph.nodes) == {model.id, train.id, clean.id, cleaning.id, raw.id, load.id}
    assert edges_of(graph) == {
        (train.id, model.id, "PRODUCED", "model"),
        (clean.id, train.id, "CONSUMED", "data"),
        (cleaning.id, clean.id, "PRODUCED", "clean"),
        (raw.id, cleaning.id, "CONSUMED", "raw"),
        (load.id, raw.id, "PRODUCED", "raw"),
    }
    assert graph.truncated is False


def test_lineage_nodes_are_sdk_views(world: World) -> None:
    model, train = world.version("train_model"), world.step("train_model")

    graph = model.upstream()

    version_node, step_node = graph.nodes[model.id], graph.nodes[train.id]
    assert isinstance(version_node, ArtifactVersion) and version_node.load() == 6
    assert version_node.tags == ("trained",)
    assert isinstance(step_node, StepRunNode)
    assert (step_node.name, step_node.status) == ("train_model", "COMPLETED")
    assert step_node.cached is False
    assert (step_node.run_id, step_node.run_name) == (world.training.id, world.training.name)
    assert step_node.pipeline_name == "training"
    assert step_node.step_run.inputs["data"].name == "clean"
    assert all(isinstance(edge, LineageEdge) for edge in graph.edges)


def test_graph_helpers_follow_the_edges(world: World) -> None:
    clean, model = world.version("clean_data"), world.version("train_model")
    train, cleaning = world.step("train_model"), world.step("clean_data")

    graph = Client().get_lineage(clean.id, direction="BOTH", depth=5)

    assert [s.id for s in graph.producers_of(clean.id)] == [cleaning.id]
    assert [s.id for s in graph.consumers_of(clean.id)] == [train.id]
    assert [v.id for v in graph.inputs_of(train.id)] == [clean.id]
    assert [v.id for v in graph.outputs_of(train.id)] == [model.id]
    assert {v.name for v in graph.artifact_versions} == {"raw", "clean", "model", "score"}
    assert {s.name for s in graph.step_runs} == {
        "load_raw",
        "clean_data",
        "train_model",
        "evaluate_model",
    }
    assert graph.producers_of(world.version("load_raw").id)[0].name == "load_raw"
    assert graph.inputs_of(world.step("load_raw").id) == []


def test_downstream_of_raw_reaches_training_and_evaluation(world: World) -> None:
    raw, score = world.version("load_raw"), world.version("evaluate_model")

    graph = raw.downstream()

    assert {s.pipeline_name for s in graph.step_runs} == {"prepare", "training", "evaluation"}
    assert {s.name for s in graph.step_runs} == {"clean_data", "train_model", "evaluate_model"}
    assert score.id in graph.nodes
    assert world.step("load_raw").id not in graph.nodes
    assert [s.name for s in graph.consumers_of(world.version("train_model").id)] == [
        "evaluate_model"
    ]
    assert graph.truncated is False


def test_direction_is_case_insensitive_and_checked(world: World) -> None:
    clean = world.version("clean_data")
    client = Client()

    assert client.get_lineage(clean.id, "upstream").nodes.keys() == (
        client.get_lineage(clean.id, "UPSTREAM").nodes.keys()
    )
    with pytest.raises(InputError, match="direction must be one of UPSTREAM, DOWNSTREAM, BOTH"):
        client.get_lineage(clean.id, "sideways")


def test_depth_cut_reports_truncated_with_fewer_nodes(world: World) -> None:
    clean, model = world.version("clean_data"), world.version("train_model")
    train = world.step("train_model")

    cut = model.upstream(depth=1)

    assert set(cut.nodes) == {model.id, train.id, clean.id}
    assert cut.truncated is True
    assert len(model.upstream(depth=5).nodes) > len(cut.nodes)


def test_lineage_path_follows_derivation_one_way(world: World) -> None:
    raw, clean, model = (world.version(s) for s in ("load_raw", "clean_data", "train_model"))
    client = Client()

    path = client.get_lineage_path(raw.id, model.id)
    back = client.get_lineage_path(model.id, raw.id)

    assert set(path.nodes) == {
        raw.id,
        world.step("clean_data").id,
        clean.id,
        world.step("train_model").id,
        model.id,
    }
    assert len(path.edges) == 4
    assert (back.nodes, back.edges) == ({}, [])


def test_latest_only_keeps_the_newest_model(world: World) -> None:
    newer = training().steps["train_model"].output
    clean = world.version("clean_data")
    client = Client()

    every = client.get_lineage(clean.id, "DOWNSTREAM", artifact_name="model")
    latest = client.get_lineage(clean.id, "DOWNSTREAM", artifact_name="model", latest_only=True)

    assert sorted(v.version for v in every.artifact_versions) == ["1", "2"]
    assert every.step_runs == []
    assert [v.id for v in latest.artifact_versions] == [newer.id]


def test_filters_by_tag_and_node_kind(world: World) -> None:
    raw = world.version("load_raw")
    client = Client()

    tagged = client.get_lineage(raw.id, "DOWNSTREAM", tag="trained")
    steps = client.get_lineage(raw.id, "DOWNSTREAM", node_kind="step_run")

    assert [v.name for v in tagged.artifact_versions] == ["model"]
    assert steps.artifact_versions == [] and len(steps.step_runs) == 3
    assert steps.edges == []
    with pytest.raises(InputError, match="node_kind must be one of ARTIFACT_VERSION, STEP_RUN"):
        client.get_lineage(raw.id, node_kind="dataset")


def test_as_of_hides_what_was_built_later(world: World) -> None:
    raw = world.version("load_raw")
    before_training = world.prepare.ended_at
    assert before_training is not None

    graph = Client().get_lineage(raw.id, "DOWNSTREAM", depth=5, as_of=before_training)

    assert {s.name for s in graph.step_runs} == {"clean_data"}
    with pytest.raises(InputError, match="timezone-aware"):
        Client().get_lineage(raw.id, as_of=datetime(2026, 1, 1))


def test_unknown_and_malformed_ids_are_refused(lineageql: str) -> None:
    with pytest.raises(NotFoundError, match="no artifact version or step run"):
        Client().get_lineage("00000000-0000-4000-8000-000000000000")
    with pytest.raises(InputError, match="not an id"):
        Client().get_lineage("model")


def test_lineage_from_a_step_run(world: World) -> None:
    train = world.step("train_model")

    graph = Client().get_lineage(train.id, "UPSTREAM", depth=5)

    assert graph.inputs_of(train.id)[0].name == "clean"
    assert {s.name for s in graph.step_runs} == {"train_model", "clean_data", "load_raw"}


class CountingTransport:
    """Passes documents on, counting them."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.calls = 0

    def execute(self, document: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        self.calls += 1
        return self.inner.execute(document, variables)


def test_every_page_is_fetched(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = world.version("load_raw")
    whole = Client().get_lineage(raw.id, "BOTH", depth=5)
    monkeypatch.setattr(sdk.client.client, "LINEAGE_PAGE", 2)
    counting = CountingTransport(Client().transport)

    paged = Client(counting).get_lineage(raw.id, "BOTH", depth=5)

    assert counting.calls == (len(whole.nodes) + 1) // 2
    assert paged.nodes.keys() == whole.nodes.keys()
    assert edges_of(paged) == edges_of(whole) and len(paged.edges) == len(whole.edges)
    assert paged.truncated is whole.truncated is False


@pytest.fixture
def small_lineage_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server whose lineage pages hold at most 3 nodes (set before the server starts)."""
    monkeypatch.setenv("LINEAGEQL_MAX_LINEAGE_PAGE_SIZE", "3")


def test_page_size_drops_to_the_server_maximum(small_lineage_pages: None, lineageql: str) -> None:
    world = build_world()
    model = world.version("train_model")

    graph = model.upstream(depth=5)

    assert len(graph.nodes) == 6 and len(graph.edges) == 5
