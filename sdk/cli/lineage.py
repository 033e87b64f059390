"""`lineageql lineage`: the lineage of one artifact version as a tree or JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from sdk.cli.common import TokenOption, UrlOption, announce, cli_errors, console, make_client
from sdk.client.client import split_name_version
from sdk.client.lineage import LineageGraph, LineageNode, StepRunNode

if TYPE_CHECKING:
    from rich.text import Text
    from rich.tree import Tree


def parse_target(text: str) -> tuple[str, str | None]:
    """NAME or NAME:VERSION as (name, version), as the client splits them."""
    return split_name_version(text)


def lineage(
    target: Annotated[
        str,
        typer.Argument(
            metavar="NAME[:VERSION]",
            help="NAME (its latest version), NAME:VERSION, or a version id.",
        ),
    ],
    upstream: Annotated[
        bool,
        typer.Option(
            "--upstream/--downstream",
            help="How the version was made (default), or what was built from it.",
        ),
    ] = True,
    depth: Annotated[int, typer.Option(min=0, help="Artifact-to-artifact hops to walk.")] = 3,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print {root, nodes, edges, truncated} as JSON.")
    ] = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Print the lineage of an artifact version as a tree; repeated nodes say "(see above)"."""
    with cli_errors():
        announce(url, as_json=False)
        client = make_client(url, token, reads=True)
        version = client.get_artifact_version(*parse_target(target))
        direction = "UPSTREAM" if upstream else "DOWNSTREAM"
        graph = client.get_lineage(version.id, direction=direction, depth=depth)
    if as_json:
        typer.echo(json.dumps({"root": version.id, **graph.to_dict()}, indent=2))
        return
    out = console()
    out.print(lineage_tree(graph, version.id, upstream=upstream))
    if graph.truncated:
        out.print(f"… cut at depth {depth}: use --depth {depth + 1} or more to see further")


def lineage_tree(graph: LineageGraph, root_id: str, *, upstream: bool) -> Tree:
    """`root_id` with producers and their inputs (upstream), or consumers and their outputs
    (downstream), recursively; a node met again is labelled "(see above)", without subtree."""
    from rich.tree import Tree

    tree = Tree(_label(graph.nodes[root_id]))
    _grow(tree, graph, root_id, upstream, {root_id})
    return tree


def _grow(branch: Tree, graph: LineageGraph, node_id: str, upstream: bool, seen: set[str]) -> None:
    for child in _children(graph, node_id, upstream):
        if child.id in seen:
            branch.add(_label(child, repeated=True))
            continue
        seen.add(child.id)
        _grow(branch.add(_label(child)), graph, child.id, upstream, seen)


def _children(graph: LineageGraph, node_id: str, upstream: bool) -> Sequence[LineageNode]:
    if isinstance(graph.nodes[node_id], StepRunNode):
        return graph.inputs_of(node_id) if upstream else graph.outputs_of(node_id)
    return graph.producers_of(node_id) if upstream else graph.consumers_of(node_id)


def _label(node: LineageNode, *, repeated: bool = False) -> Text:
    """`name:version @production` for a version (with its aliases), `step (run name, STATUS)
    [cached]` for a step run; what another tool's OpenLineage events made is marked
    `[OpenLineage: spark 1.23.0]`."""
    from rich.text import Text

    if isinstance(node, StepRunNode):
        label = Text.assemble((node.name, "bold cyan"), f" ({node.run_name}, {node.status})")
        if node.cached:
            label.append(" [cached]", "yellow")
    else:
        label = Text(f"{node.name}:{node.version}", "bold")
        for alias in node.aliases or ():
            label.append(f" @{alias}", "green")
    if node.openlineage is not None:
        label.append(f" {node.openlineage.label}", "magenta")
    if repeated:
        label.append(" (see above)", "dim")
    return label
