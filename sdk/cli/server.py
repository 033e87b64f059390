"""Server-side commands: `serve`, `export-schema`, `db upgrade` (they import `api` lazily)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)


def serve(
    host: Annotated[
        str, typer.Option(metavar="ADDRESS", help="Address to bind; loopback by default.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="PORT", help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(metavar="N", help="Worker processes.")] = 1,
    insecure_no_auth: Annotated[
        bool,
        typer.Option(
            "--insecure-no-auth",
            help="Serve a non-loopback address without tokens (only behind an authenticating "
            "proxy).",
        ),
    ] = False,
    allowed_hosts: Annotated[
        str | None,
        typer.Option(
            "--allowed-hosts",
            metavar="NAMES",
            help="Comma-separated Host header names to accept besides localhost, 127.0.0.1 "
            "and [::1] (`*.example.com` for subdomains); default LINEAGEQL_ALLOWED_HOSTS.",
        ),
    ] = None,
) -> None:
    """Serve the GraphQL API over the configured store: GraphiQL at /graphql, the lineage
    explorer at /ui.

    Both pages are bundled in the package: they need no internet access.
    A non-loopback address needs a token (`lineageql tokens create`).
    On loopback, requests naming another host in their Host header are refused."""
    import api

    try:
        settings = api.Settings.from_env()
        hosts = (
            None
            if allowed_hosts is None
            else tuple(filter(None, map(str.strip, allowed_hosts.split(","))))
        )
        base = f"http://{f'[{host}]' if ':' in host else host}:{port}"
        typer.echo(
            f"LineageQL: GraphiQL at {base}/graphql, lineage explorer at {base}/ui "
            f"(store: {settings.home})"
        )
        api.serve(
            settings,
            host=host,
            port=port,
            workers=workers,
            insecure_no_auth=insecure_no_auth,
            allowed_hosts=hosts,
        )
    except ValueError as exc:  # a refused bind address, a bad setting or tokens file
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


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
    api.upgrade_database(settings.database_url, settings.artifact_store)
    typer.echo("database is at the newest revision")
