"""`lineageql artifacts alias set|remove|list|history`: movable names for one version."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from sdk.cli.artifacts import add_row, iso, table, when
from sdk.cli.common import (
    JsonOption,
    TokenOption,
    UrlOption,
    announce,
    cli_errors,
    console,
    make_client,
    print_json,
)
from sdk.client.records import Alias
from sdk.types import JsonObject

app = typer.Typer(
    help="Aliases: movable names for one version (my_model@production).", no_args_is_help=True
)

NameArgument = Annotated[str, typer.Argument(help="The artifact's name.")]
AliasArgument = Annotated[str, typer.Argument(help="The alias, e.g. production.")]
ForceOption = Annotated[bool, typer.Option("--force", help="Move or remove a protected alias.")]


@app.command("set")
def set_alias(
    name: NameArgument,
    alias: AliasArgument,
    version: Annotated[
        str | None, typer.Argument(help="The version to point at; unset: the latest.")
    ] = None,
    protect: Annotated[
        bool | None,
        typer.Option("--protect/--unprotect", help="Require --force to move it from now on."),
    ] = None,
    force: ForceOption = False,
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Point NAME@ALIAS at VERSION (creating or moving it); refused when another client moved
    it meanwhile, or when it is protected and --force is not given."""
    with cli_errors():
        client = make_client(url, token)
        moved = client.set_alias(name, alias, version, protected=protect, force=force)
    if as_json:
        print_json(_json(moved))
        return
    guard = " (protected)" if moved.protected else ""
    console().print(f"{name}@{alias} -> {name}:{moved.version}{guard}", markup=False)


@app.command("remove")
def remove_alias(
    name: NameArgument,
    alias: AliasArgument,
    force: ForceOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Remove NAME@ALIAS (the version stays)."""
    with cli_errors():
        make_client(url, token).remove_alias(name, alias, force=force)
    console().print(f"{name}@{alias} removed", markup=False)


@app.command("list")
def list_aliases(
    name: NameArgument,
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """The aliases of NAME and the versions they point at (`latest` is built in)."""
    with cli_errors():
        announce(url, as_json=as_json)
        found = make_client(url, token, reads=True).list_aliases(name)
    if as_json:
        print_json([_json(entry) for entry in found])
        return
    grid = table("alias", "version", "protected", "moved (UTC)")
    for entry in found:
        add_row(
            grid,
            entry.name,
            entry.version,
            "yes" if entry.protected else "",
            when(entry.updated_at),
        )
    console().print(grid)


@app.command("history")
def alias_history(
    name: NameArgument,
    alias: Annotated[str | None, typer.Argument(help="Only this alias.")] = None,
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Every move of NAME's aliases, oldest first: from, to, when, by which token."""
    with cli_errors():
        announce(url, as_json=as_json)
        moves = make_client(url, token, reads=True).alias_history(name, alias)
    if as_json:
        print_json([{**asdict(move), "moved_at": iso(move.moved_at)} for move in moves])
        return
    grid = table("alias", "from", "to", "when (UTC)", "by")
    for move in moves:
        add_row(
            grid,
            move.alias,
            move.from_version or "-",
            move.to_version or "(removed)",
            when(move.moved_at),
            move.moved_by or "-",
        )
    console().print(grid)


def _json(entry: Alias) -> JsonObject:
    return {**asdict(entry), "updated_at": iso(entry.updated_at)}
