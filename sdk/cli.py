"""The `lineageql` command. Server commands import `api` lazily, so the SDK stays light."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sdk.client import Client
from sdk.errors import InputError, LineageQLError
from sdk.lineage import LineageGraph, LineageNode, StepRunNode
from sdk.transport import HttpTransport

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text
    from rich.tree import Tree

app = typer.Typer(
    help="LineageQL: artifacts and lineage of ML pipelines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind; loopback by default.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Serve the GraphQL API (GraphiQL at GET /graphql) over the configured store."""
    import api

    settings = api.Settings.from_env()
    typer.echo(f"LineageQL: GraphiQL at http://{host}:{port}/graphql (store: {settings.home})")
    api.serve(settings, host=host, port=port, workers=workers)


@app.command("export-schema")
def export_schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Print the GraphQL schema (SDL) generated from the code."""
    import api

    sdl = api.export_schema()
    if output is None:
        sys.stdout.write(sdl)
    else:
        output.write_text(sdl)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations to LINEAGEQL_DATABASE_URL (or the embedded database)."""
    import api

    settings = api.Settings.from_env()
    api.upgrade_database(settings.database_url)
    typer.echo("database is at the newest revision")


VERSION_SEPARATOR = re.compile(r"(?<!:):(?!:)")  # one colon; `::` belongs to default names


def parse_target(text: str) -> tuple[str, str | None]:
    """NAME or NAME:VERSION as (name, version); the `::` of `pipeline::step::output` stays in
    the name, so `pipeline::step::output:2` is version 2 of that artifact."""
    separators = [match.start() for match in VERSION_SEPARATOR.finditer(text)]
    if not separators:
        return text, None
    name, version = text[: separators[-1]], text[separators[-1] + 1 :]
    if not name or not version:
        raise InputError(f"{text!r} is not NAME or NAME:VERSION (e.g. `model` or `model:3`)")
    return name, version


@app.command()
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
    url: Annotated[
        str | None,
        typer.Option(envvar="LINEAGEQL_URL", help="A server's GraphQL URL; unset: embedded."),
    ] = None,
    token: Annotated[
        str | None, typer.Option(envvar="LINEAGEQL_TOKEN", help="Bearer token for the server.")
    ] = None,
) -> None:
    """Print the lineage of an artifact version as a tree; repeated nodes say "(see above)"."""
    try:
        client = Client(HttpTransport(url, token)) if url else Client()
        version = client.get_artifact_version(*parse_target(target))
        direction = "UPSTREAM" if upstream else "DOWNSTREAM"
        graph = client.get_lineage(version.id, direction=direction, depth=depth)
    except LineageQLError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps({"root": version.id, **graph.to_dict()}, indent=2))
        return
    console = _console()
    console.print(lineage_tree(graph, version.id, upstream=upstream))
    if graph.truncated:
        console.print(f"… cut at depth {depth}: use --depth {depth + 1} or more to see further")


def _console() -> Console:
    """Rich console on stdout; piped output is never wrapped, so scripts see whole lines."""
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = 100_000
    return console


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
    """`name:version` for a version, `step (run name, STATUS) [cached]` for a step run."""
    from rich.text import Text

    if isinstance(node, StepRunNode):
        label = Text.assemble((node.name, "bold cyan"), f" ({node.run_name}, {node.status})")
        if node.cached:
            label.append(" [cached]", "yellow")
    else:
        label = Text(f"{node.name}:{node.version}", "bold")
    if repeated:
        label.append(" (see above)", "dim")
    return label


def main() -> None:
    app()


if __name__ == "__main__":
    main()
