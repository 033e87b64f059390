"""What every client command shares: the `--url`/`--token`/`--json` options, the client they
make, one-line errors with a non-zero exit, and output for people (rich) or scripts (JSON)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sdk.client.client import Client
from sdk.client.transport import HttpTransport
from sdk.errors import LineageQLError

if TYPE_CHECKING:
    from rich.console import Console

UrlOption = Annotated[
    str | None,
    typer.Option(
        envvar="LINEAGEQL_URL", metavar="URL", help="A server's GraphQL URL; unset: embedded."
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(envvar="LINEAGEQL_TOKEN", metavar="TOKEN", help="Bearer token for the server."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def make_client(url: str | None, token: str | None) -> Client:
    """A client of the server at `url`, or of the embedded store when `url` is unset."""
    return Client(HttpTransport(url, token)) if url else Client()


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn a LineageQL error (or a refused argument) into `error: …` on stderr and exit 1."""
    try:
        yield
    except (LineageQLError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def console() -> Console:
    """Rich console on stdout; piped output is never wrapped, so scripts see whole lines."""
    from rich.console import Console

    out = Console(highlight=False)
    if not out.is_terminal:
        out.width = 100_000
    return out


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))
