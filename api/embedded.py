"""Run the schema in-process: the SDK's embedded transport. One event loop in a background
thread (an anyio blocking portal, as Starlette's TestClient does) owns the database engines, so
calls work from plain scripts and from notebooks that already run a loop of their own.

A request is handed to that loop with one `call_soon_threadsafe` and its answer handed back with
a lock (`LocalExecutor._run`): about half the cost of `BlockingPortal.call`, which adds a task
group, a cancel scope and a `concurrent.futures.Future` per call (about 30 µs of its 60)."""

from __future__ import annotations

import asyncio
import atexit
import functools
import threading
from collections.abc import Callable, Coroutine
from contextlib import AbstractContextManager
from typing import Any, TypeVar

import anyio
from anyio.from_thread import BlockingPortal, start_blocking_portal
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from api.collector import fewer_collections
from api.graphql.context import build_context
from api.graphql.schema import schema
from api.settings import Settings
from api.storage.engine import Database
from api.storage.identity import create_store_id, read_store_id
from api.storage.migrate import HEAD_REVISION, upgrade


async def ensure_schema(db: Database, url: str, artifact_store: str | None = None) -> None:
    """Upgrade the database unless it is already at the head revision (one cheap query), and
    give the store its identity when it has none yet."""
    try:
        async with db.read() as session:
            current = await session.scalar(text("SELECT version_num FROM alembic_version"))
    except DBAPIError:
        current = None
    if current != HEAD_REVISION:
        await anyio.to_thread.run_sync(
            functools.partial(upgrade, url, artifact_store=artifact_store)
        )
    async with db.read() as session:
        known = await read_store_id(session)
    if known is None:
        async with db.write() as session:
            await create_store_id(session)


T = TypeVar("T")

CAUSE_KEY = "lineageqlCause"  # an unexpected exception behind an embedded answer's errors


def _unexpected(error: Any) -> bool:
    return (error.extensions or {}).get("code") == "INTERNAL_SERVER_ERROR" and isinstance(
        error.original_error, Exception
    )


class LocalExecutor:
    """Executes GraphQL documents against the local store; thread-safe, one per settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._portal_cm: AbstractContextManager[BlockingPortal] | None = start_blocking_portal()
        self._portal = self._portal_cm.__enter__()
        self._loop: asyncio.AbstractEventLoop = self._portal.call(asyncio.get_running_loop)
        self._loop_thread = self._portal.call(threading.get_ident)
        self._running: set[asyncio.Task[Any]] = set()  # touched on the loop's thread only
        try:
            self._db: Database = self._portal.call(self._open)
        except BaseException:
            self.close()
            raise
        atexit.register(self.close)

    async def _open(self) -> Database:
        db = Database.from_settings(self.settings, inline_sqlite=True)
        await ensure_schema(db, self.settings.database_url, self.settings.artifact_store)
        return db

    async def _execute(
        self, query: str, variables: dict[str, Any] | None, operation_name: str | None
    ) -> dict[str, Any]:
        with fewer_collections():  # see api/collector.py
            result = await schema.execute(
                query,
                variable_values=variables,
                context_value=build_context(self._db, self.settings, embedded=True),
                operation_name=operation_name,
            )
        response: dict[str, Any] = {"data": result.data}
        if result.errors:
            response["errors"] = [error.formatted for error in result.errors]
            causes = [e.original_error for e in result.errors if _unexpected(e)]
            if causes:  # for the caller to chain: in-process, nothing is masked from it
                response[CAUSE_KEY] = causes[0]
        return response

    def execute(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        operation_name: str | None = None,
    ) -> dict[str, Any]:
        """The GraphQL response as a dict: `data`, and `errors` when there are any."""
        return self._run(self._execute, query, variables, operation_name)

    def _run(self, function: Callable[..., Coroutine[Any, Any, T]], *args: Any) -> T:
        """`await function(*args)` on the loop's thread, from any other thread; its result, or
        its exception raised here."""
        if threading.get_ident() == self._loop_thread:
            raise RuntimeError("a LocalExecutor cannot be called from its own event loop")
        done = threading.Lock()
        done.acquire()
        finished: list[asyncio.Task[T]] = []

        def settle(task: asyncio.Task[T]) -> None:
            self._running.discard(task)
            finished.append(task)
            done.release()

        def start() -> None:
            task = self._loop.create_task(coroutine)
            self._running.add(task)
            task.add_done_callback(settle)

        coroutine = function(*args)
        try:
            with self._lock:  # close() drains what was started before it, nothing after
                if self._portal_cm is None:
                    raise RuntimeError("this LocalExecutor is closed")
                self._loop.call_soon_threadsafe(start)
        except BaseException:
            coroutine.close()
            raise
        done.acquire()
        return finished[0].result()

    async def _drain(self) -> None:
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    def close(self) -> None:
        with self._lock:
            if self._portal_cm is None:
                return
            cm, self._portal_cm = self._portal_cm, None
        self._portal.call(self._drain)
        db = getattr(self, "_db", None)
        if db is not None:
            self._portal.call(db.dispose)
        cm.__exit__(None, None, None)
        atexit.unregister(self.close)
