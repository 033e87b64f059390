"""`lineageql tokens create`: a bearer token for a server, stored only as a hash."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="Bearer tokens for a server.", no_args_is_help=True)


@app.command("create")
def create(
    scope: Annotated[
        str,
        typer.Option(
            help="read: queries only; write: queries and mutations.",
            metavar="read|write",
            show_default=False,
        ),
    ],
    name: Annotated[
        str | None,
        typer.Option(help="A name to recognise the token by (default: SCOPE-N)."),
    ] = None,
) -> None:
    """Create a token and print it once; the server's tokens file keeps only its SHA-256.

    The file is LINEAGEQL_TOKENS_FILE, else `tokens.json` under LINEAGEQL_HOME; a running
    server picks the new token up on its next request. Clients send it as LINEAGEQL_TOKEN."""
    import api

    try:
        settings = api.Settings.from_env()
        token, created = api.create_token(settings, scope.strip().lower(), name)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"Created {scope} token {created!r}; its hash is in {settings.tokens_path}. "
        "This is the only time the token is shown:",
        err=True,
    )
    typer.echo(token)
