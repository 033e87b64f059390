"""SQLite for the embedded store without a thread hop per call.

SQLAlchemy's async SQLite dialect drives aiosqlite, which runs every cursor call (execute,
fetch, close, commit, ...) in a thread of its own and waits for the answer: about four hops
per statement. The embedded store's event loop is private to one process and only ever waits
on the database, so here the same calls run on the loop's thread directly.

This is a dialect of its own, `sqlite+lineageql_inline`, registered with SQLAlchemy's dialect
registry and built the way SQLAlchemy builds its asyncio dialects, on nothing of aiosqlite's:

- `InlineSQLiteDialect` is the pysqlite dialect (same SQL, types, URL and connect arguments)
  declared asynchronous, with a DBAPI module (`InlineDBAPI`) whose `connect` opens a plain
  `sqlite3` connection;
- `InlineAdaptedConnection` is SQLAlchemy's generic asyncio DBAPI adapter
  (`sqlalchemy.connectors.asyncio`), which gives the engine the synchronous PEP 249 surface it
  drives and awaits the driver connection's coroutines;
- `InlineConnection` and `InlineCursor` are that driver connection: the asynchronous connection
  protocol SQLAlchemy's adapter expects of an asyncio driver (`AsyncIODBAPIConnection`,
  `AsyncIODBAPICursor`), over `sqlite3`, every coroutine finishing without suspending.

The generic adapter is not covered by SQLAlchemy's documented API, so pyproject.toml bounds
SQLAlchemy below its next minor release and tests/api/test_sqlite_driver.py checks what this
module relies on (it fails with what to look at when an upgrade changes it).

A call may block the loop while SQLite waits for another process's write lock (the busy
timeout), which is what a synchronous program does too; `Database` serialises this
process's own write transactions with an asyncio lock first, so two of them never wait on
each other inside SQLite. The server keeps aiosqlite: its loop must never block.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Any, cast

from sqlalchemy import pool
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection, AsyncIODBAPIConnection
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL
from sqlalchemy.engine.interfaces import DBAPIConnection, DBAPIModule

DRIVER = "lineageql_inline"
"""The driver name of URLs for this dialect: `sqlite+lineageql_inline:///path/to/file.db`."""


class InlineCursor:
    """An asyncio driver's cursor over a `sqlite3` cursor; every coroutine completes at once."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        self._cursor.execute(sql, () if parameters is None else parameters)
        return self

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> InlineCursor:
        self._cursor.executemany(sql, rows)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    """An asyncio driver's connection over a `sqlite3` connection (the adapted connection's
    `driver_connection`); every coroutine completes at once."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._conn.isolation_level = value  # type: ignore[assignment]  # "" is sqlite3's too

    def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        if not self._closed:  # nothing is left to roll back on a closed connection
            self._conn.rollback()

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Close at once, from any thread (the pool's terminate, or garbage collection)."""
        if not self._closed:
            self._closed = True
            self._conn.close()


class InlineAdaptedConnection(AsyncAdapt_dbapi_connection):
    """What the engine and the pool hold: SQLAlchemy's generic asyncio adapter over an
    `InlineConnection`, with the pysqlite connection attributes its SQLite dialect uses."""

    __slots__ = ()

    def __init__(self, dbapi: InlineDBAPI, connection: InlineConnection) -> None:
        super().__init__(dbapi, cast(AsyncIODBAPIConnection, connection))

    @property
    def isolation_level(self) -> str | None:
        return self.driver_connection.isolation_level  # type: ignore[no-any-return]

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self.driver_connection.isolation_level = value

    def create_function(self, *args: Any, **kwargs: Any) -> None:
        self.driver_connection.create_function(*args, **kwargs)

    def terminate(self) -> None:
        self.driver_connection.stop()


class InlineDBAPI:
    """The DBAPI module of the dialect: `sqlite3`'s exceptions and constants, and a `connect`
    that answers adapted connections."""

    paramstyle = "qmark"
    apilevel = sqlite3.apilevel
    threadsafety = sqlite3.threadsafety
    sqlite_version = sqlite3.sqlite_version
    sqlite_version_info = sqlite3.sqlite_version_info
    Binary = sqlite3.Binary
    PARSE_COLNAMES = sqlite3.PARSE_COLNAMES
    PARSE_DECLTYPES = sqlite3.PARSE_DECLTYPES

    Warning = sqlite3.Warning
    Error = sqlite3.Error
    InterfaceError = sqlite3.InterfaceError
    DatabaseError = sqlite3.DatabaseError
    DataError = sqlite3.DataError
    OperationalError = sqlite3.OperationalError
    IntegrityError = sqlite3.IntegrityError
    InternalError = sqlite3.InternalError
    ProgrammingError = sqlite3.ProgrammingError
    NotSupportedError = sqlite3.NotSupportedError

    def connect(self, *args: Any, **kwargs: Any) -> InlineAdaptedConnection:
        # Used on the loop's thread, but closed from whichever thread ends the pool.
        kwargs["check_same_thread"] = False
        return InlineAdaptedConnection(self, InlineConnection(sqlite3.connect(*args, **kwargs)))


class InlineSQLiteDialect(SQLiteDialect_pysqlite):
    """pysqlite's dialect, asynchronous, over `InlineDBAPI`."""

    driver = DRIVER
    is_async = True
    has_terminate = True
    supports_statement_cache = True
    # `AsyncConnection.stream()` says it is unsupported; nothing here streams.
    supports_server_side_cursors = False

    @classmethod
    def import_dbapi(cls) -> DBAPIModule:
        return cast(DBAPIModule, InlineDBAPI())

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        if url.database in (None, "", ":memory:") or url.query.get("mode") == "memory":
            return pool.StaticPool  # one connection: the only one that sees the database
        return pool.AsyncAdaptedQueuePool

    def get_driver_connection(self, connection: DBAPIConnection) -> InlineConnection:
        return cast(InlineAdaptedConnection, connection).driver_connection  # type: ignore[no-any-return]

    def do_terminate(self, dbapi_connection: DBAPIConnection) -> None:
        cast(InlineAdaptedConnection, dbapi_connection).terminate()


dialect = InlineSQLiteDialect

registry.register(f"sqlite.{DRIVER}", __name__, "InlineSQLiteDialect")


def inline_url(url: URL) -> URL:
    """`url` (any SQLite URL) with this module's driver."""
    return url.set(drivername=f"sqlite+{DRIVER}")
