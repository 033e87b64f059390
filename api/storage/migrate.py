"""Alembic, configured in code. `upgrade(url)` brings any database to the head revision.

Concurrent first use is safe: SQLite upgrades hold a lock on a file beside the database (an
OS file lock through `filelock`, on POSIX and Windows alike), and PostgreSQL upgrades hold an
advisory lock (taken in `migrations/env.py`)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock

from api.storage.engine import sqlite_path, sync_url

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
HEAD_REVISION = "0010"
PG_MIGRATION_LOCK = 7_216_450_113


def alembic_config(url: str, artifact_store: str | None = None):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", sync_url(url).render_as_string(hide_password=False))
    config.attributes["pg_lock_id"] = PG_MIGRATION_LOCK
    # Migration 0004 rewrites the locations inside this store as store-relative ones.
    config.attributes["artifact_store"] = artifact_store
    return config


def migration_lock_path(database: Path) -> Path:
    """The lock file that serialises the upgrades of the SQLite file `database`."""
    return database.with_name(database.name + ".migrate.lock")


@contextmanager
def _file_lock(path: Path | None) -> Iterator[None]:
    """Hold the migration lock of the SQLite file `path` (none for other databases): upgrades
    from other processes, and other threads of this one, wait until it is released. The lock
    is the operating system's, so it goes when its holder does, even one that crashed."""
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(migration_lock_path(path)):
        yield


@contextmanager
def _quiet_alembic() -> Iterator[None]:
    """Alembic logs its plugin set-up at INFO; a user's INFO logging need not show it."""
    logger = logging.getLogger("alembic")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def upgrade(url: str, revision: str = "head", artifact_store: str | None = None) -> None:
    """Run every pending migration (blocking); `artifact_store` is the store the database
    describes (its absolute locations inside it become store-relative)."""
    from alembic import command

    with _file_lock(sqlite_path(url)), _quiet_alembic():
        command.upgrade(alembic_config(url, artifact_store), revision)
