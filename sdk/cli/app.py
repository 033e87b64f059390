"""The Typer apps every command module registers on; `sdk.cli` imports those modules."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="LineageQL: artifacts and lineage of ML pipelines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
artifacts_app = typer.Typer(help="List, tag and prune artifacts.", no_args_is_help=True)
versions_app = typer.Typer(help="Versions of artifacts.", no_args_is_help=True)
runs_app = typer.Typer(help="Pipeline runs.", no_args_is_help=True)
tokens_app = typer.Typer(help="Bearer tokens for a server.", no_args_is_help=True)

app.add_typer(db_app, name="db")
app.add_typer(artifacts_app, name="artifacts")
artifacts_app.add_typer(versions_app, name="versions")
app.add_typer(runs_app, name="runs")
app.add_typer(tokens_app, name="tokens")
