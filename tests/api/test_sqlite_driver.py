"""The embedded store's SQLite dialect (`api.storage.inline_sqlite`): what it relies on from
SQLAlchemy, and that it behaves as an asyncio dialect whose statements run on the loop's thread.

The dialect builds on SQLAlchemy's generic asyncio DBAPI adapter (`sqlalchemy.connectors.asyncio`),
which SQLAlchemy's documentation does not cover; pyproject.toml bounds SQLAlchemy below its next
minor release for that reason. These tests are the contract to check before raising the bound.
"""

from __future__ import annotations

import asyncio
import inspect
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy import event, text
from sqlalchemy.engine import AdaptedConnection, make_url
from sqlalchemy.exc import IntegrityError, InvalidRequestError, MissingGreenlet, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from api.storage.engine import Database
from api.storage.inline_sqlite import (
    DRIVER,
    InlineAdaptedConnection,
    InlineConnection,
    InlineSQLiteDialect,
    inline_url,
)

UPGRADE_HINT = (
    f"SQLAlchemy {sqlalchemy.__version__} changed what api/storage/inline_sqlite.py builds on. "
    "Compare that module with SQLAlchemy's own dialect on the same adapter "
    "(sqlalchemy/dialects/sqlite/aiosqlite.py) and with sqlalchemy/connectors/asyncio.py, fix "
    "it, and only then raise the SQLAlchemy bound in pyproject.toml"
)


def _url(path: Path) -> str:
    return inline_url(make_url(f"sqlite:///{path}")).render_as_string()


@pytest.fixture
def engine(tmp_path: Path) -> AsyncEngine:
    return create_async_engine(_url(tmp_path / "driver.db"))


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


async def _driver(connection: AsyncConnection) -> InlineConnection:
    driver = (await connection.get_raw_connection()).driver_connection
    assert isinstance(driver, InlineConnection), UPGRADE_HINT
    return driver


def test_what_the_dialect_uses_from_sqlalchemy_is_there() -> None:
    """Names and signatures: a failure here means an upgrade of SQLAlchemy moved them."""
    from sqlalchemy.connectors import asyncio as connectors_asyncio
    from sqlalchemy.dialects import registry
    from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite

    adapter = getattr(connectors_asyncio, "AsyncAdapt_dbapi_connection", None)
    assert adapter is not None, f"{UPGRADE_HINT}: AsyncAdapt_dbapi_connection is gone"
    assert issubclass(adapter, AdaptedConnection), f"{UPGRADE_HINT}: the adapter's base changed"
    assert list(inspect.signature(adapter.__init__).parameters) == [
        "self",
        "dbapi",
        "connection",
    ], f"{UPGRADE_HINT}: AsyncAdapt_dbapi_connection(dbapi, connection) changed"
    for name in ("cursor", "commit", "rollback", "close", "driver_connection"):
        assert hasattr(adapter, name), f"{UPGRADE_HINT}: the adapter has no {name}"
    assert "server_side" in inspect.signature(adapter.cursor).parameters, UPGRADE_HINT
    for name in (
        "import_dbapi",
        "get_pool_class",
        "create_connect_args",
        "on_connect",
        "set_isolation_level",
        "get_driver_connection",
        "do_terminate",
    ):
        assert callable(getattr(SQLiteDialect_pysqlite, name, None)), (
            f"{UPGRADE_HINT}: the pysqlite dialect has no {name}"
        )
    assert callable(getattr(registry, "register", None)), f"{UPGRADE_HINT}: no dialect registry"


def test_the_url_finds_the_dialect(engine: AsyncEngine) -> None:
    assert make_url(_url(Path("x.db"))).drivername == f"sqlite+{DRIVER}"
    assert isinstance(engine.dialect, InlineSQLiteDialect), UPGRADE_HINT
    assert engine.dialect.is_async
    assert isinstance(engine.pool, AsyncAdaptedQueuePool), UPGRADE_HINT


def test_statements_run_on_the_loop_thread_without_a_thread_of_their_own(
    engine: AsyncEngine,
) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _thread_id(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function("thread_id", 0, threading.get_ident)

    async def check() -> tuple[int, int, int]:
        threads = threading.active_count()
        async with engine.connect() as connection:
            where = (await connection.execute(text("SELECT thread_id()"))).scalar_one()
        started = threading.active_count() - threads
        await engine.dispose()
        return where, threading.get_ident(), started

    where, loop_thread, started = run(check())
    assert where == loop_thread, "a statement ran off the event loop's thread"
    assert started == 0, "connecting started a thread (as aiosqlite does)"


def test_core_round_trip_commit_and_rollback(engine: AsyncEngine) -> None:
    async def check() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with engine.begin() as connection:  # AsyncConnection.execute requires an await
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
            await connection.execute(
                text("INSERT INTO t (v) VALUES (:v)"), [{"v": "a"}, {"v": "b"}]
            )
            returned = await connection.execute(text("INSERT INTO t (v) VALUES ('c') RETURNING id"))
            seen["returning"] = returned.scalar_one()
            inserted = await connection.execute(text("INSERT INTO t (v) VALUES ('d')"))
            seen["lastrowid"] = inserted.lastrowid
        async with engine.connect() as connection:
            await connection.execute(text("DELETE FROM t"))
            await connection.rollback()
            result = await connection.execute(text("SELECT id, v FROM t ORDER BY id"))
            seen["rows"] = [tuple(row) for row in result]
            updated = await connection.execute(text("UPDATE t SET v = 'z' WHERE id > 2"))
            seen["rowcount"] = updated.rowcount
            await connection.commit()
            seen["after"] = (
                await connection.execute(text("SELECT group_concat(v, '') FROM t"))
            ).scalar_one()
        await engine.dispose()
        return seen

    seen = run(check())
    assert seen["returning"] == 3
    assert seen["lastrowid"] == 4
    assert seen["rows"] == [(1, "a"), (2, "b"), (3, "c"), (4, "d")]
    assert seen["rowcount"] == 2
    assert seen["after"] == "abzz"


def test_driver_errors_become_sqlalchemy_errors(engine: AsyncEngine) -> None:
    async def check() -> None:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE u (k TEXT PRIMARY KEY)"))
            await connection.execute(text("INSERT INTO u VALUES ('x')"))
        async with engine.connect() as connection:
            with pytest.raises(IntegrityError) as duplicate:
                await connection.execute(text("INSERT INTO u VALUES ('x')"))
            assert isinstance(duplicate.value.orig, sqlite3.IntegrityError)
            await connection.rollback()
            with pytest.raises(OperationalError, match="no such table"):
                await connection.execute(text("SELECT * FROM missing"))
            await connection.rollback()
            # the connection is still good after both
            assert (await connection.execute(text("SELECT count(*) FROM u"))).scalar() == 1
        await engine.dispose()

    run(check())


def test_autocommit_isolation_is_set_and_reset(engine: AsyncEngine) -> None:
    async def check() -> list[str | None]:
        levels = []
        async with engine.connect() as connection:
            driver = await _driver(connection)
            levels.append(driver.isolation_level)
            auto = await connection.execution_options(isolation_level="AUTOCOMMIT")
            levels.append(driver.isolation_level)
            await auto.execute(text("SELECT 1"))
        async with engine.connect() as connection:  # the pool hands back the same connection
            again = await _driver(connection)
            assert again is driver
            levels.append(again.isolation_level)
        await engine.dispose()
        return levels

    assert run(check()) == ["", None, ""]  # sqlite3's default, autocommit, the default again


def test_dispose_closes_the_sqlite_connections(engine: AsyncEngine) -> None:
    async def check() -> InlineConnection:
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            assert isinstance(raw.dbapi_connection, InlineAdaptedConnection)
            driver: InlineConnection = raw.driver_connection
            assert not driver.closed
        await engine.dispose()
        return driver

    assert run(check()).closed


def test_terminate_closes_from_outside_the_loop(tmp_path: Path) -> None:
    dialect = InlineSQLiteDialect(dbapi=InlineSQLiteDialect.import_dbapi())
    adapted = dialect.loaded_dbapi.connect(str(tmp_path / "t.db"))
    dialect.do_terminate(adapted)  # the pool's way when it cannot await (garbage collection)
    assert dialect.get_driver_connection(adapted).closed


def test_io_outside_the_event_loop_fails_loudly(engine: AsyncEngine) -> None:
    """As with every asyncio driver: a lazy load or a stray synchronous call is an error, not a
    silent blocking call."""
    with pytest.raises(MissingGreenlet), engine.sync_engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def test_streaming_is_refused_in_so_many_words(engine: AsyncEngine) -> None:
    async def check() -> None:
        async with engine.connect() as connection:
            with pytest.raises(InvalidRequestError, match="server side cursors"):
                await connection.stream(text("SELECT 1"))
        await engine.dispose()

    run(check())


def test_the_embedded_database_uses_it_and_the_server_keeps_aiosqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'metadata.db'}"

    async def drivers(db: Database) -> list[tuple[str, type[Any]]]:
        found = []
        try:
            for engine in (db.read_engine, db.write_engine):
                async with engine.connect() as connection:
                    raw = await connection.get_raw_connection()
                    found.append((engine.dialect.driver, type(raw.driver_connection)))
        finally:
            await db.dispose()
        return found

    embedded = run(drivers(Database.connect(url, inline_sqlite=True)))
    assert embedded == [(DRIVER, InlineConnection)] * 2
    server = run(drivers(Database.connect(url)))
    assert [driver for driver, _ in server] == ["aiosqlite"] * 2


def test_write_sessions_begin_immediate_and_see_pragmas(tmp_path: Path) -> None:
    db = Database.connect(f"sqlite:///{tmp_path / 'metadata.db'}", inline_sqlite=True)

    async def check() -> tuple[Any, ...]:
        try:
            async with db.write() as session:
                await session.execute(text("CREATE TABLE w (v INTEGER)"))
            async with db.write() as session:
                await session.execute(text("INSERT INTO w VALUES (1)"))
                # BEGIN IMMEDIATE took the write lock: another connection cannot write now
                other = sqlite3.connect(tmp_path / "metadata.db", timeout=0)
                try:
                    with pytest.raises(sqlite3.OperationalError, match="locked"):
                        other.execute("INSERT INTO w VALUES (2)")
                finally:
                    other.close()
            async with db.read() as session:
                return (
                    await session.scalar(text("PRAGMA journal_mode")),
                    await session.scalar(text("PRAGMA foreign_keys")),
                    await session.scalar(text("SELECT sum(v) FROM w")),
                )
        finally:
            await db.dispose()

    assert run(check()) == ("wal", 1, 1)
