"""SQLite for the embedded store without a thread hop per call.

SQLAlchemy's async SQLite dialect drives aiosqlite, which runs every cursor call (execute,
fetch, close, commit, ...) in a thread of its own and waits for the answer: about four hops
per statement. The embedded store's event loop is private to one process and only ever waits
on the database, so here the same calls run on the loop's thread directly: the connection
below has aiosqlite's asynchronous surface, as far as SQLAlchemy's adapter uses it, over a
plain `sqlite3` connection, and every coroutine finishes without suspending.

A call may block the loop while SQLite waits for another process's write lock (the busy
timeout), which is what a synchronous program does too; `Database` serialises this
process's own write transactions with an asyncio lock first, so two of them never wait on
each other inside SQLite. The server keeps aiosqlite: its loop must never block.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any


class _RunNow:
    """Stands in for aiosqlite's request queue (SQLAlchemy puts its isolation-level setter
    there): the function runs at once and its future is resolved."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:  # handed to the awaiting caller, as aiosqlite does
            future.set_exception(exc)


class InlineCursor:
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
    """The parts of `aiosqlite.Connection` that SQLAlchemy's aiosqlite adapter calls."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection  # None once closed
        self._tx = _RunNow()

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    def stop(self) -> None:
        """Force-close (SQLAlchemy's terminate)."""
        if self._connection is not None:
            self._connection = None
            self._conn.close()


def inline_creator(path: Path) -> Callable[[], Any]:
    """An `async_creator` for `create_async_engine`: connections to the SQLite file `path`."""

    async def connect() -> InlineConnection:
        # Closed or garbage-collected from whichever thread ends the pool; used on the loop's.
        return InlineConnection(sqlite3.connect(path, check_same_thread=False))

    return connect
