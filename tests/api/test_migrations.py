"""Migrations on an empty database: they reach head, match the models, and are safe to repeat."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

import api
from api.storage import models  # noqa: F401  (registers the tables on Base.metadata)
from api.storage.base import Base
from api.storage.engine import Database, sync_url
from api.storage.migrate import HEAD_REVISION, alembic_config
from tests.conftest import DATABASES, ROOT, _admin

TABLES = {
    "pipelines",
    "pipeline_runs",
    "step_runs",
    "artifacts",
    "artifact_versions",
    "tags",
    "artifact_tags",
    "artifact_version_tags",
    "step_inputs",
    "step_outputs",
}


@pytest.fixture(params=DATABASES)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all: a new SQLite path, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    from sqlalchemy.engine import make_url

    base = request.getfixturevalue("postgres_base_url")
    name = f"e_{uuid.uuid4().hex[:16]}"
    _admin(base, f"CREATE DATABASE {name}")
    yield make_url(base).set(database=name).render_as_string(hide_password=False)
    _admin(base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _current_revision(url: str) -> str | None:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_empty_database_has_no_tables(empty_database_url: str) -> None:
    assert _tables(empty_database_url) <= {"alembic_version"}
    assert _current_revision(empty_database_url) is None


def test_upgrade_creates_every_table(empty_database_url: str) -> None:
    api.upgrade_database(empty_database_url)
    assert TABLES | {"alembic_version"} <= _tables(empty_database_url)


def test_upgrade_leaves_no_autogenerate_diff(empty_database_url: str) -> None:
    api.upgrade_database(empty_database_url)
    engine = create_engine(sync_url(empty_database_url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_head_revision_constant_matches_scripts() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite:///unused.db"))
    assert script.get_heads() == [HEAD_REVISION]


def test_upgrade_reaches_head_revision(empty_database_url: str) -> None:
    api.upgrade_database(empty_database_url)
    assert _current_revision(empty_database_url) == HEAD_REVISION


def test_second_upgrade_is_a_no_op(empty_database_url: str) -> None:
    api.upgrade_database(empty_database_url)
    before = _tables(empty_database_url)
    api.upgrade_database(empty_database_url)
    assert _tables(empty_database_url) == before
    assert _current_revision(empty_database_url) == HEAD_REVISION


def test_concurrent_upgrades_of_a_fresh_database_both_succeed(empty_database_url: str) -> None:
    code = "import sys, api; api.upgrade_database(sys.argv[1])"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code, empty_database_url],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outcomes = [(p.wait(timeout=120), p.communicate()[1]) for p in processes]
    for returncode, stderr in outcomes:
        assert returncode == 0, stderr
    assert _current_revision(empty_database_url) == HEAD_REVISION
    assert _tables(empty_database_url) >= TABLES


def test_db_upgrade_cli_migrates_the_configured_database(
    empty_database_url: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "LINEAGEQL_HOME": str(tmp_path / "home"),
        "LINEAGEQL_DATABASE_URL": empty_database_url,
    }
    env.pop("LINEAGEQL_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "sdk.cli", "db", "upgrade"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert _current_revision(empty_database_url) == HEAD_REVISION
    assert not (tmp_path / "home" / "metadata.db").exists()


async def _pragmas(db: Database) -> list[tuple[str, int]]:
    values = []
    for session_factory in (db.read, db.write):
        async with session_factory() as session:
            journal = await session.scalar(text("PRAGMA journal_mode"))
            foreign_keys = await session.scalar(text("PRAGMA foreign_keys"))
            values.append((journal, foreign_keys))
    return values


def test_sqlite_connections_use_wal_and_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'metadata.db'}"
    api.upgrade_database(url)
    db = Database.connect(url)

    async def check() -> list[tuple[str, int]]:
        try:
            return await _pragmas(db)
        finally:
            await db.dispose()

    assert anyio.run(check) == [("wal", 1), ("wal", 1)]
