"""Failures reach the user as LineageQLErrors that say what to do, with the cause chained, and
the library prints no traceback of its own."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text

import api.storage.engine
import api.storage.runs
from api.storage.migrate import alembic_config, upgrade
from sdk import Client, load_artifact, pipeline, save_artifact, step
from sdk.errors import DatabaseBusyError, GraphQLError
from tests.conftest import _close_transports


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An embedded store in its default layout under `tmp_path/project/.lineageql`."""
    home = tmp_path / "project" / ".lineageql"
    for variable in ("LINEAGEQL_URL", "LINEAGEQL_DATABASE_URL", "LINEAGEQL_ARTIFACT_STORE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("LINEAGEQL_HOME", str(home))
    yield home
    _close_transports()


def test_a_locked_database_is_database_busy_and_registers_nothing(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_artifact(1, "first")  # the store exists
    _close_transports()
    monkeypatch.setattr(api.storage.engine, "SQLITE_BUSY_TIMEOUT_MS", 200)
    other = sqlite3.connect(home / "metadata.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process's long write holds the lock
    try:
        with pytest.raises(DatabaseBusyError, match="locked by another process.*retry"):
            save_artifact(2, "second")
    finally:
        other.execute("ROLLBACK")
        other.close()
    left = [p for p in (home / "artifacts" / "_saved" / "second").rglob("*") if p.is_file()]
    assert left == []  # the refused save left no data behind
    assert load_artifact("first") == 1
    assert save_artifact(2, "second").version == "1"  # and the next one works


def test_an_unexpected_embedded_error_names_its_cause_and_prints_no_traceback(
    home: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(api.storage.runs, "create_run", broken)

    @step
    def one() -> int:
        return 1

    @pipeline
    def unlucky() -> None:
        one()

    with pytest.raises(GraphQLError) as caught:
        unlucky()
    message = str(caught.value)
    assert "embedded store" in message and "No space left on device" in message
    assert "server log" not in message
    assert isinstance(caught.value.__cause__, OSError)
    assert caught.value.code == "INTERNAL_SERVER_ERROR"
    assert "Traceback" not in capfd.readouterr().err


def test_locations_written_before_store_relative_ones_are_migrated(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database from before migration 0004 holds absolute paths: upgrading it with its store
    rewrites them store-relative, so the store can then be moved."""
    version = save_artifact({"k": "v"}, "legacy")
    _close_transports()
    url = f"sqlite:///{home / 'metadata.db'}"
    store = str(home / "artifacts")
    command.downgrade(alembic_config(url), "0003")
    engine = create_engine(url)
    with engine.begin() as conn:  # as 0003 wrote it: the absolute path
        conn.execute(
            text("UPDATE artifact_versions SET uri = :uri WHERE id = :id"),
            {"uri": f"{store}/{version.store_path}", "id": version.id},
        )
    upgrade(url, artifact_store=store)
    with engine.connect() as conn:
        stored = conn.scalar(
            text("SELECT uri FROM artifact_versions WHERE id = :id"), {"id": version.id}
        )
    engine.dispose()
    assert stored == version.store_path and not stored.startswith("/")
    moved = tmp_path / "moved" / ".lineageql"
    moved.parent.mkdir()
    shutil.move(str(home), str(moved))
    monkeypatch.setenv("LINEAGEQL_HOME", str(moved))
    assert Client().get_artifact_version("legacy").load() == {"k": "v"}
