"""One GraphQL operation's reads on PostgreSQL take turns on one session (Database.shared_reads):
fewer pool checkouts, the same answers, nothing stale, nothing deadlocked."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import DBAPIError
from starlette.testclient import TestClient

import api
from api.app import create_app
from api.storage.engine import TURN_WAIT_S, Database
from api.storage.models import Artifact
from tests.api.client import CREATE_VERSION, version_input


def _run(database_url: str, body: Any) -> Any:
    async def main() -> Any:
        db = Database.connect(database_url)
        try:
            return await body(db)
        finally:
            await db.dispose()

    return anyio.run(main)


async def _connection_of(session: Any) -> Any:
    connection = await session.connection()
    return connection.sync_connection.connection.dbapi_connection


def test_reads_take_turns_on_one_session_on_postgresql(database_url: str) -> None:
    async def body(db: Database) -> tuple[bool, bool]:
        async with db.shared_reads():
            async with db.read() as first:
                first_connection = await _connection_of(first)
            async with db.read() as second:
                second_connection = await _connection_of(second)
        return first is second, first_connection is second_connection

    same_session, same_connection = _run(database_url, body)
    if database_url.startswith("postgresql"):
        assert same_session and same_connection
    else:  # SQLite's read sessions hold a snapshot: never shared
        assert not same_session


def test_a_read_that_starts_while_another_reads_gets_its_own_session(database_url: str) -> None:
    async def body(db: Database) -> list[Any]:
        held = asyncio.Event()
        release = asyncio.Event()
        sessions: list[Any] = []

        async def holder() -> None:
            async with db.read() as session:
                sessions.append(session)
                held.set()
                await release.wait()

        async def other() -> None:
            await held.wait()
            async with db.read() as session:  # its turn does not come: a session of its own
                sessions.append(session)
                await session.execute(text("SELECT 1"))
            release.set()

        async with db.shared_reads():
            await asyncio.wait_for(asyncio.gather(holder(), other()), timeout=30)
        return sessions

    first, second = _run(database_url, body)
    assert first is not second


def test_reads_started_together_take_turns(database_url: str) -> None:
    async def body(db: Database) -> set[int]:
        sessions: set[int] = set()

        async def read() -> None:
            async with db.read() as session:
                await session.execute(text("SELECT 1"))
                sessions.add(id(session))

        async with db.shared_reads():
            await asyncio.gather(*(read() for _ in range(5)))
        return sessions

    assert len(_run(database_url, body)) == (1 if database_url.startswith("postgresql") else 5)


def test_nothing_read_outlives_its_block_and_writes_are_seen(database_url: str) -> None:
    async def body(db: Database) -> tuple[bool, list[str], list[str]]:
        async with db.shared_reads():
            async with db.read() as session:
                before = list(await session.scalars(select(Artifact.name)))
                kept = bool(session.identity_map)
            async with db.write() as session:
                session.add(Artifact(name="written"))
            async with db.read() as session:
                assert not session.identity_map  # expunged after the first block
                after = list(await session.scalars(select(Artifact.name)))
        return kept, before, after

    _, before, after = _run(database_url, body)
    assert "written" not in before
    assert "written" in after  # each statement sees what is committed when it runs


def test_a_failed_statement_leaves_the_next_read_a_working_session(database_url: str) -> None:
    async def body(db: Database) -> int:
        async with db.shared_reads():
            with pytest.raises(DBAPIError):
                async with db.read() as session:
                    await session.execute(text("SELECT no_such_column FROM artifacts"))
            async with db.read() as session:
                return int(await session.scalar(text("SELECT 1")) or 0)

    assert _run(database_url, body) == 1


@pytest.fixture
def app_client(database_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, Database]]:
    settings = api.Settings(
        home=tmp_path / "home", database_url=database_url, artifact_store=str(tmp_path / "store")
    )
    with TestClient(create_app(settings)) as client:
        yield client, client.app.state.db  # type: ignore[attr-defined]


def _checkouts(db: Database) -> list[int]:
    counted: list[int] = []

    def on_checkout(*_: Any) -> None:
        counted.append(1)

    event.listen(db.read_engine.sync_engine.pool, "checkout", on_checkout)
    return counted


def test_a_query_with_several_loaders_takes_one_connection_over_http(
    app_client: tuple[TestClient, Database], database_url: str
) -> None:
    client, db = app_client
    for _ in range(3):
        response = client.post(
            "/graphql",
            json={"query": CREATE_VERSION, "variables": {"input": version_input("a", tags=["t"])}},
        )
        assert "errors" not in response.json()
    query = """{ artifact(name: "a") { name tags versionCount latestVersion { version tags }
                 versions { edges { node { version tags producer { id } } } } } }"""
    counted = _checkouts(db)
    response = client.post("/graphql", json={"query": query})
    answer = response.json()
    assert "errors" not in answer, answer
    assert answer["data"]["artifact"]["versionCount"] == 3
    assert [e["node"]["version"] for e in answer["data"]["artifact"]["versions"]["edges"]] == [
        "1",
        "2",
        "3",
    ]
    if database_url.startswith("postgresql"):
        assert len(counted) == 1
    else:
        assert len(counted) > 1  # SQLite: a session per read, as before


def test_a_read_inside_a_read_gets_its_own_session_at_once(database_url: str) -> None:
    async def body(db: Database) -> tuple[bool, float]:
        loop = asyncio.get_running_loop()
        async with db.shared_reads(), db.read() as outer:
            started = loop.time()
            async with db.read() as inner:
                await inner.execute(text("SELECT 1"))
            waited = loop.time() - started
        return outer is inner, waited

    same, waited = _run(database_url, body)
    assert not same
    assert waited < TURN_WAIT_S  # no wait for a turn it holds itself
