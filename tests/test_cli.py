"""`lineageql lineage`: the tree, `--json`, and one-line errors; embedded on both databases,
and once through a live server with `--url`."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from sdk import Client, InputError, pipeline, step
from sdk.cli import app, lineage_tree, parse_target
from sdk.client.lineage import LineageEdge, LineageGraph, LineageNode, StepRunNode
from sdk.client.views import ArtifactVersion
from tests.conftest import LiveServer, free_port
from tests.sdk.test_lineage import World, build_world, edges_of


def lineageql(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def world(store_env: dict[str, str]) -> World:
    return build_world()


def test_upstream_tree_shows_how_a_model_was_made(world: World) -> None:
    prepare, training = world.prepare.name, world.training.name

    result = lineageql("lineage", "model", "--depth", "5")

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "model:1\n"
        f"└── train_model ({training}, COMPLETED)\n"
        "    └── clean:1\n"
        f"        └── clean_data ({prepare}, COMPLETED)\n"
        "            └── raw:1\n"
        f"                └── load_raw ({prepare}, COMPLETED)\n"
    )


def test_upstream_is_the_default_direction(world: World) -> None:
    assert (
        lineageql("lineage", "model").stdout == lineageql("lineage", "model", "--upstream").stdout
    )


def test_downstream_tree_reaches_other_pipelines(world: World) -> None:
    result = lineageql("lineage", "raw:1", "--downstream")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "raw:1"
    assert [line.split(" (")[0].lstrip("└─ ") for line in lines[1:]] == [
        "clean_data",
        "clean:1",
        "train_model",
        "model:1",
        "evaluate_model",
        "score:1",
    ]
    assert f"evaluate_model ({world.evaluation.name}, COMPLETED)" in result.stdout


def test_depth_cut_ends_with_a_hint(world: World) -> None:
    result = lineageql("lineage", "model", "--depth", "1")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "model:1",
        f"└── train_model ({world.training.name}, COMPLETED)",
        "    └── clean:1",
        "… cut at depth 1: use --depth 2 or more to see further",
    ]


@step
def seed() -> Annotated[int, "seed"]:
    return 3


@step
def double(value: int) -> Annotated[int, "doubled"]:
    return 2 * value


@step
def square(value: int) -> Annotated[int, "squared"]:
    return value * value


@step
def combine(a: int, b: int) -> Annotated[int, "combined"]:
    return a + b


@pipeline
def diamond() -> None:
    value = seed()
    combine(double(value), square(value))


def test_a_node_met_twice_is_marked_see_above(store_env: dict[str, str]) -> None:
    run = diamond().name

    up = lineageql("lineage", "combined", "--depth", "5")
    down = lineageql("lineage", "seed", "--downstream", "--depth", "5")

    assert up.stdout.splitlines() == [
        "combined:1",
        f"└── combine ({run}, COMPLETED)",
        "    ├── doubled:1",
        f"    │   └── double ({run}, COMPLETED)",
        "    │       └── seed:1",
        f"    │           └── seed ({run}, COMPLETED)",
        "    └── squared:1",
        f"        └── square ({run}, COMPLETED)",
        "            └── seed:1 (see above)",
    ]
    assert down.stdout.splitlines() == [
        "seed:1",
        f"├── double ({run}, COMPLETED)",
        "│   └── doubled:1",
        f"│       └── combine ({run}, COMPLETED)",
        "│           └── combined:1",
        f"└── square ({run}, COMPLETED)",
        "    └── squared:1",
        f"        └── combine ({run}, COMPLETED) (see above)",
    ]


def test_json_matches_the_sdk(world: World) -> None:
    model = world.version("train_model")
    graph = Client().get_lineage(model.id, "UPSTREAM", depth=2)

    result = lineageql("lineage", "model", "--json", "--depth", "2")

    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["root"] == model.id
    assert [node["id"] for node in answer["nodes"]] == list(graph.nodes)
    assert {(e["source"], e["target"], e["kind"], e["name"]) for e in answer["edges"]} == (
        edges_of(graph)
    )
    assert answer["truncated"] is graph.truncated is True
    kinds = {node["name"]: node["kind"] for node in answer["nodes"]}
    assert kinds["model"] == "ARTIFACT_VERSION" and kinds["train_model"] == "STEP_RUN"


def test_name_alone_is_the_latest_version(world: World) -> None:
    second = build_world()

    latest = json.loads(lineageql("lineage", "raw", "--json").stdout)
    first = json.loads(lineageql("lineage", "raw:1", "--json").stdout)

    assert latest["root"] == second.version("load_raw").id
    assert first["root"] == world.version("load_raw").id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("model", ("model", None)),
        ("model:3", ("model", "3")),
        ("raw:raw_2023", ("raw", "raw_2023")),
        ("training::train_model::output", ("training::train_model::output", None)),
        ("training::train_model::output:2", ("training::train_model::output", "2")),
    ],
)
def test_parse_target_keeps_double_colons_in_the_name(
    text: str, expected: tuple[str, str | None]
) -> None:
    assert parse_target(text) == expected


@pytest.mark.parametrize("text", ["model:", ":3"])
def test_parse_target_refuses_an_empty_part(text: str) -> None:
    with pytest.raises(InputError, match="is not NAME or NAME:VERSION"):
        parse_target(text)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("nope", "error: no artifact is named 'nope' (and no artifact version has that id)\n"),
        ("raw:9", "error: artifact 'raw' has no version '9'; latest versions: '1'\n"),
        ("raw:", "error: 'raw:' is not NAME or NAME:VERSION (e.g. `model` or `model:3`)\n"),
    ],
)
def test_errors_are_one_line_on_stderr(world: World, target: str, message: str) -> None:
    result = lineageql("lineage", target)

    assert (result.exit_code, result.stdout, result.stderr) == (1, "", message)


def test_an_unreachable_server_is_one_line_too(store_env: dict[str, str]) -> None:
    url = f"http://127.0.0.1:{free_port()}/graphql"

    result = lineageql("lineage", "model", "--url", url)

    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: cannot reach the LineageQL server at {url}")
    assert len(result.stderr.splitlines()) == 1


def test_lineage_over_a_live_server(
    world: World, store_env: dict[str, str], tmp_path: Path
) -> None:
    embedded = lineageql("lineage", "raw", "--downstream", "--depth", "5").stdout
    server = LiveServer({**os.environ, **store_env}, tmp_path / "server.log")
    try:
        remote = lineageql("lineage", "raw", "--downstream", "--depth", "5", "--url", server.url)
    finally:
        server.stop()

    assert remote.exit_code == 0, remote.output
    assert remote.stdout == embedded and "evaluate_model" in remote.stdout


class NoTransport:
    def execute(self, document: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        raise AssertionError("the tree must be drawn from the graph alone")


def _version(id: str, name: str, client: Client) -> ArtifactVersion:
    return ArtifactVersion(
        id=id,
        name=name,
        version="1",
        is_custom_version=False,
        uri=f"memory://{name}",
        data_type="builtins.int",
        materializer="builtin",
        content_hash=None,
        size_bytes=None,
        metadata={},
        tags=(),
        created_at=datetime.now(UTC),
        source="STEP_OUTPUT",
        producer_id=None,
        client=client,
    )


def _step(id: str, name: str, client: Client, original: str | None = None) -> StepRunNode:
    return StepRunNode(
        id=id,
        name=name,
        status="CACHED" if original else "COMPLETED",
        run_id="r",
        run_name="run-2",
        pipeline_name="p",
        original_step_run_id=original,
        started_at=datetime.now(UTC),
        ended_at=None,
        client=client,
    )


def test_a_cached_consumer_is_marked() -> None:
    client = Client(NoTransport())
    nodes: list[LineageNode] = [_version("v", "data", client), _step("s1", "fit", client)]
    nodes.append(_step("s2", "fit", client, original="s1"))
    graph = LineageGraph(
        nodes={node.id: node for node in nodes},
        edges=[LineageEdge("v", "s1", "CONSUMED", "x"), LineageEdge("v", "s2", "CONSUMED", "x")],
        truncated=False,
    )
    out = io.StringIO()

    Console(file=out, width=200).print(lineage_tree(graph, "v", upstream=False))

    assert out.getvalue().splitlines() == [
        "data:1",
        "├── fit (run-2, COMPLETED)",
        "└── fit (run-2, CACHED) [cached]",
    ]
