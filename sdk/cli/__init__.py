"""The `lineageql` command (composed in `sdk.cli.app`). Server commands import `api` lazily,
so the SDK stays light."""

from __future__ import annotations

from sdk.cli.app import app
from sdk.cli.lineage import lineage_tree, parse_target
from sdk.cli.server import serve

__all__ = ["app", "lineage_tree", "main", "parse_target", "serve"]


def main() -> None:
    app()
