"""The `lineageql` command, composed in one place: each module of `sdk.cli` exports its Typer
app (a command group) or its command functions, and this module puts them on the command
line."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Annotated

import typer
from typer import _click as click
from typer.core import TyperOption

from sdk.cli import aliases, artifacts, lineage, prune, runs, server, tokens

app = typer.Typer(
    help="LineageQL: artifacts and lineage of ML pipelines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

app.command("serve")(server.serve)
app.command("export-schema")(server.export_schema)
app.command("lineage")(lineage.lineage)
app.add_typer(server.db_app, name="db")
app.add_typer(artifacts.app, name="artifacts")
artifacts.app.command("prune")(prune.prune)
artifacts.app.add_typer(artifacts.versions_app, name="versions")
artifacts.app.add_typer(aliases.app, name="alias")
app.add_typer(runs.app, name="runs")
app.add_typer(tokens.app, name="tokens")


def installed_version() -> str:
    try:
        return package_version("lineageql")
    except PackageNotFoundError:  # a source tree that was not installed
        return "unknown"


def show_version(value: bool) -> None:
    if value:
        typer.echo(f"lineageql {installed_version()}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=show_version,
            is_eager=True,
            help="Print the installed version and exit.",
        ),
    ] = False,
) -> None:
    """LineageQL: artifacts and lineage of ML pipelines."""


LABELS = {
    "str": "TEXT",
    "int": "INTEGER",
    "float": "FLOAT",
    "int range": "INTEGER",
    "float range": "FLOAT",
}


def option_metavar(self: TyperOption, ctx: click.Context) -> str | None:
    """What `--help` shows after an option: its metavar (the one it names, else TEXT,
    INTEGER, PATH, [a|b] for a choice) instead of Python's type (`<str>`); nothing for a flag."""
    if self.metavar is not None:
        return self.metavar
    shown = self.display_type(ctx)
    if shown is None:
        return None
    label = shown[1:-1] if shown.startswith("<") and shown.endswith(">") else shown
    if label == "bool":
        return None
    if "|" in label:
        return f"[{label}]"
    return LABELS.get(label, label.upper())


# Typer's rich help prints `<str>`, `<bool>`: every command's options go through this instead.
TyperOption.display_type_rich = option_metavar  # type: ignore[method-assign]
