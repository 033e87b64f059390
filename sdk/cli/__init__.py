"""The `lineageql` command. Server commands import `api` lazily, so the SDK stays light.

Each module registers its commands on the Typer apps of `sdk.cli.app`; importing them here
is what puts the commands on the command line.
"""

from __future__ import annotations

from sdk.cli import aliases as _aliases
from sdk.cli import artifacts as _artifacts
from sdk.cli import lineage as _lineage
from sdk.cli import prune as _prune
from sdk.cli import runs as _runs
from sdk.cli import server as _server
from sdk.cli import tokens as _tokens
from sdk.cli.app import app
from sdk.cli.lineage import lineage_tree, parse_target
from sdk.cli.server import serve

__all__ = ["app", "lineage_tree", "main", "parse_target", "serve"]
_COMMAND_MODULES = (_aliases, _artifacts, _lineage, _prune, _runs, _server, _tokens)


def main() -> None:
    app()
