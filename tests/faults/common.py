"""What the verification and save-fault tests share: a SQLite-only store, the CLI through
Typer's runner, and where a version's data is."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from sdk import Client
from sdk.cli import app
from sdk.client.views import ArtifactVersion


def cli(*args: str) -> Result:
    """`lineageql …` in this process, on the embedded store of the environment."""
    return CliRunner().invoke(app, list(args), env={"LINEAGEQL_URL": None})


def verify_json(*args: str) -> tuple[int, dict[str, Any]]:
    """`lineageql artifacts verify --json …`: the exit code and the parsed report."""
    result = cli("artifacts", "verify", "--json", *args)
    assert "Traceback" not in result.output
    return result.exit_code, json.loads(result.stdout)


def folder(version: ArtifactVersion) -> Path:
    """The local folder (or file) holding `version`'s data."""
    return Path(Client().store.path(version.uri))


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path) -> str:
    """These tests are about files and processes, not the database: the shared fixture's
    fresh migrated SQLite file, without its PostgreSQL twin (import it into a test module)."""
    path = tmp_path / "metadata.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"
