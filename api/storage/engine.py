"""Engines and sessions. SQLite runs in WAL mode with foreign keys on; writers take the lock at
BEGIN (`BEGIN IMMEDIATE`), so concurrent writers queue on the busy timeout instead of failing.
PostgreSQL runs on psycopg 3's async driver (the event loop never waits on the database) with a
pool per process, sized from the settings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from api.errors import DatabaseBusy
from api.settings import Settings
from api.storage.base import load_json
from api.storage.inline_sqlite import inline_url

SQLITE_BUSY_TIMEOUT_MS = 60_000


def async_url(url: str) -> URL:
    """The async-driver form of a database URL (`sqlite+aiosqlite`, `postgresql+psycopg`)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    raise ValueError(
        f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}: "
        "use sqlite:///path/to/metadata.db or postgresql+psycopg://user@host/db"
    )


def sync_url(url: str) -> URL:
    """The blocking-driver form of a database URL, for migrations."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite")
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    return async_url(url)  # raises the explanatory error


def sqlite_path(url: str) -> Path | None:
    """The file of a file-based SQLite URL, else None."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def configure_sqlite_connection(dbapi_connection: Any) -> None:
    """Pragmas for every new SQLite connection; autocommit so that SQLAlchemy's BEGIN is ours."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def _make_sqlite_engine(url: URL, *, immediate: bool, inline: bool) -> AsyncEngine:
    """With `inline`, statements run on the event loop's thread (see inline_sqlite)."""
    engine = create_async_engine(inline_url(url) if inline else url, json_deserializer=load_json)
    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        configure_sqlite_connection(dbapi_connection)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine


@dataclass(frozen=True)
class PoolOptions:
    """Connection pool of one process: `size` kept open, up to `max_overflow` more under load,
    and a request waits at most `timeout` seconds for a free connection."""

    size: int = 10
    max_overflow: int = 20
    timeout: float = 30.0
    pre_ping: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> PoolOptions:
        return cls(
            size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            timeout=settings.db_pool_timeout,
            pre_ping=settings.db_pool_pre_ping,
        )


def _make_postgres_engine(url: URL, pool: PoolOptions) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=pool.size,
        max_overflow=pool.max_overflow,
        pool_timeout=pool.timeout,
        # Test each connection taken from the pool with one round trip, so that a connection the
        # server dropped (restart, failover, idle timeout) is replaced instead of failing a request.
        pool_pre_ping=pool.pre_ping,
        json_deserializer=load_json,  # handed to psycopg for json and jsonb columns
    )


@dataclass
class Database:
    """Session factories for reads and for writes (one engine each on SQLite, shared elsewhere)."""

    read_engine: AsyncEngine
    write_engine: AsyncEngine
    dialect: str

    # Set for inline SQLite: this process's write transactions take turns here, so none of
    # them waits inside SQLite (blocking the loop) for a lock another of them holds.
    write_turns: asyncio.Lock | None = None

    # Until when no RUNNING run's lease can have ended, as far as this process looked (see
    # api.graphql.query.sweep_abandoned); None: look at the next read of runs.
    leases_quiet_until: datetime | None = None

    def __post_init__(self) -> None:
        self._reader = async_sessionmaker(self.read_engine, expire_on_commit=False)
        self._writer = async_sessionmaker(self.write_engine, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings, *, inline_sqlite: bool = False) -> Database:
        """The database of `settings`, with its pool options (PostgreSQL)."""
        return cls.connect(
            settings.database_url,
            pool=PoolOptions.from_settings(settings),
            inline_sqlite=inline_sqlite,
        )

    @classmethod
    def connect(
        cls, url: str, *, pool: PoolOptions | None = None, inline_sqlite: bool = False
    ) -> Database:
        """Open `url`; `pool` sizes PostgreSQL's pool (SQLite needs none). `inline_sqlite`
        (the embedded store) runs a SQLite file's statements on the loop's own thread."""
        aurl = async_url(url)
        if aurl.get_backend_name() == "sqlite":
            path = sqlite_path(url)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            inline = inline_sqlite and path is not None
            return cls(
                read_engine=_make_sqlite_engine(aurl, immediate=False, inline=inline),
                write_engine=_make_sqlite_engine(aurl, immediate=True, inline=inline),
                dialect="sqlite",
                write_turns=asyncio.Lock() if inline else None,
            )
        engine = _make_postgres_engine(aurl, pool or PoolOptions())
        # Reads run in autocommit: under READ COMMITTED each statement takes its own snapshot
        # inside a transaction too, and this saves the BEGIN and ROLLBACK round trips of every
        # session (a GraphQL query opens one per loader batch). Same pool as the writers.
        reader = engine.execution_options(isolation_level="AUTOCOMMIT")
        return cls(read_engine=reader, write_engine=engine, dialect="postgresql")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A short read-only session: inside `shared_reads`, that block's session when no
        other read is using it, else one of its own."""
        shared = _SHARED_READS.get()
        with _busy_as_error():
            if shared is not None and shared.database is self and await shared.turn():
                async with shared.lend() as session:
                    yield session
            else:
                async with self._reader() as session:
                    yield session

    @asynccontextmanager
    async def shared_reads(self) -> AsyncIterator[None]:
        """Within this block (one GraphQL operation), reads on PostgreSQL take turns on one
        session and its connection instead of taking one from the pool each: each checkout
        costs a pre-ping round trip and the pool's bookkeeping (about 0.5 ms of server CPU),
        and a query's loaders, dispatched together, would take one each. A read waits for its
        turn at most TURN_WAIT_S, then takes a session of its own, so a read that waits on
        another read cannot deadlock.

        PostgreSQL only, where reads run in autocommit (each statement sees what is committed
        when it runs, as with a session of its own); SQLite's read sessions hold a snapshot,
        which a mutation's answer must not read from. Objects are expunged after each read, so
        none outlives its block as with a session of its own."""
        if self.dialect != "postgresql" or _SHARED_READS.get() is not None:
            yield
            return
        shared = _SharedReads(self)
        token = _SHARED_READS.set(shared)
        try:
            yield
        finally:
            _SHARED_READS.reset(token)
            await shared.close()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends, rolled back whole on any error."""
        turns = self.write_turns or nullcontext()
        with _busy_as_error():
            async with turns, self._writer() as session, session.begin():
                yield session

    async def dispose(self) -> None:
        await self.write_engine.dispose()
        if self.dialect == "sqlite":  # elsewhere the reader shares the writer's pool
            await self.read_engine.dispose()


class _SharedReads:
    """One operation's read session (see Database.shared_reads), lent to one read at a time."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.session: AsyncSession | None = None
        self.turns = asyncio.Lock()
        self.holder: asyncio.Task[Any] | None = None

    async def turn(self) -> bool:
        """Wait for the session, at most TURN_WAIT_S: whether this task has it now. A read
        inside a read of the same task, or one whose turn does not come in time (the holder
        reads long, or waits on something that needs a read itself), gets a session of its
        own instead: nothing ever waits on itself."""
        task = asyncio.current_task()
        if task is self.holder:
            return False
        try:
            async with asyncio.timeout(TURN_WAIT_S):
                await self.turns.acquire()
        except TimeoutError:
            return False
        self.holder = task
        return True

    @asynccontextmanager
    async def lend(self) -> AsyncIterator[AsyncSession]:
        """The session, for the task whose `turn` it is; the turn passes on when it ends."""
        try:
            if self.session is None:
                self.session = self.database._reader()
            try:
                yield self.session
            except BaseException:
                # The connection may be unusable after a failed statement: the next read
                # starts from a fresh session.
                await self.close()
                raise
            self.session.expunge_all()
        finally:
            self.holder = None
            self.turns.release()

    async def close(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            await session.close()


# How long a read waits for the shared session before it takes one of its own.
TURN_WAIT_S = 0.05
_SHARED_READS: ContextVar[_SharedReads | None] = ContextVar("lineageql_shared_reads", default=None)


@contextmanager
def _busy_as_error() -> Iterator[None]:
    """A SQLite file locked by another process past the busy timeout is DATABASE_BUSY (a
    caller's retry may succeed), not an unexpected error."""
    try:
        yield
    except OperationalError as exc:
        text = str(exc.orig or exc).lower()
        if "database is locked" in text or "database is busy" in text:
            raise DatabaseBusy(
                "the database file is locked by another process (a long write, or a process "
                "stopped mid-transaction); nothing was changed: retry"
            ) from exc
        raise
