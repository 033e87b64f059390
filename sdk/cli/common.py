"""What every client command shares: the `--url`/`--token`/`--json` options, the client they
make, one-line errors with a non-zero exit, and output for people (rich) or scripts (JSON)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sdk.client.client import Client
from sdk.client.transport import HttpTransport
from sdk.errors import LineageQLError, NotFoundError

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
WideOption = Annotated[
    bool, typer.Option("--wide", help="Full ids, however narrow the terminal (default: short).")
]
SHORT_ID = 8  # hex digits of an id shown on a narrow terminal (more when needed to be unique)
WIDE_TERMINAL = 160  # columns from which full ids fit next to the other columns


def short_ids(ids: list[str], *, width: int, wide: bool) -> dict[str, str]:
    """How each id is shown: whole on a wide terminal (or with `--wide`, or piped), else its
    shortest prefix of at least 8 characters that no other listed id shares; commands that
    take an id accept such a prefix."""
    if wide or width >= WIDE_TERMINAL:
        return {i: i for i in ids}
    shown = {}
    for i in ids:
        size = SHORT_ID
        while size < len(i) and any(o != i and o.startswith(i[:size]) for o in ids):
            size += 1
        shown[i] = i[:size]
    return shown


def make_client(url: str | None, token: str | None, *, reads: bool = False) -> Client:
    """A client of the server at `url`, or of the embedded store when `url` is unset.

    For a command that only reads (`reads`), an embedded store must exist already: a wrong
    LINEAGEQL_HOME is an error naming the path, never a new empty store."""
    if url:
        return Client(HttpTransport(url, token))
    if reads:
        require_store()
    return Client()


def store_label(url: str | None) -> str:
    """Which store a command reads: the server's URL, or the embedded store's database."""
    if url:
        return f"server {url}"
    import api

    settings = api.Settings.from_env()
    return f"store {settings.home} ({_where(settings.database_url)})"


def require_store() -> None:
    """NotFoundError when the embedded store's SQLite database does not exist."""
    import api

    settings = api.Settings.from_env()
    path = _sqlite_file(settings.database_url)
    if path is not None and not path.exists():
        raise NotFoundError(
            f"no LineageQL store at {settings.home}: its database {path} does not exist "
            "(nothing was created). Run a pipeline there first, or point LINEAGEQL_HOME (or "
            "LINEAGEQL_DATABASE_URL, or --url for a server) at an existing store."
        )


def _sqlite_file(database_url: str) -> Path | None:
    from sqlalchemy.engine import make_url

    parsed = make_url(database_url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database or "")


def _where(database_url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(database_url).render_as_string(hide_password=True)


def announce(url: str | None, *, as_json: bool) -> None:
    """Name the store a read command reads, on stderr when a person watches it (a terminal;
    never with `--json`, so that scripts and one-line errors stay as they are)."""
    if not as_json and stderr_is_terminal():
        typer.echo(f"Reading {store_label(url)}", err=True)


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


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
