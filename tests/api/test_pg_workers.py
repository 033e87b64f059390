"""PostgreSQL behind several server processes: atomic versions across workers, sized pools, and
an event loop that never waits on the database."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from api.settings import Settings
from api.storage.engine import Database, PoolOptions
from tests.conftest import ROOT, _close_transports, free_port

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

WORKERS = 3
CLIENTS = 4
SAVES_PER_CLIENT = 30

CLIENT = textwrap.dedent(
    """
    import sys
    from sdk import save_artifact

    for i in range(int(sys.argv[1])):
        save_artifact({"client": sys.argv[2], "i": i}, name="shared", tags=[sys.argv[2]])
    """
)


class MultiWorkerServer:
    """`lineageql serve --workers N` in a subprocess on a free loopback port."""

    def __init__(self, env: dict[str, str], workers: int, log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/graphql"
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115
        argv = ["serve", "--port", str(self.port), "--workers", str(workers)]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sdk.cli", *argv],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        self._wait_for_workers(workers)

    def _wait_for_workers(self, workers: int) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            if self.log_path.read_text().count("Application startup complete") >= workers:
                return
            time.sleep(0.1)
        raise RuntimeError(f"workers did not start: {self.log_path.read_text()[-3000:]}")

    def worker_pids(self) -> set[int]:
        return {int(pid) for pid in re.findall(r"Started server process \[(\d+)\]", self.log())}

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


@contextmanager
def serving(store_env: dict[str, str], tmp_path: Path, workers: int) -> Iterator[MultiWorkerServer]:
    """`MultiWorkerServer` on the store of `store_env`, stopped at the end."""
    env = {**os.environ, **store_env, "LINEAGEQL_DB_POOL_SIZE": "4"}
    env.pop("LINEAGEQL_URL", None)
    started = MultiWorkerServer(env, workers, tmp_path / "server.log")
    try:
        yield started
    finally:
        _close_transports()
        started.stop()


@pytest.fixture
def server(store_env: dict[str, str], tmp_path: Path) -> Iterator[MultiWorkerServer]:
    with serving(store_env, tmp_path, WORKERS) as started:
        yield started


@pytest.mark.slow
def test_clients_registering_through_several_workers_get_versions_1_to_n(
    server: MultiWorkerServer, store_env: dict[str, str], tmp_path: Path
) -> None:
    assert len(server.worker_pids()) == WORKERS
    script = tmp_path / "client.py"
    script.write_text(CLIENT)
    env = {**os.environ, **store_env, "LINEAGEQL_URL": server.url}
    env.pop("LINEAGEQL_DATABASE_URL")
    clients = [
        subprocess.Popen(
            [sys.executable, str(script), str(SAVES_PER_CLIENT), f"c{n}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n in range(CLIENTS)
    ]
    for client in clients:
        _, err = client.communicate(timeout=300)
        assert client.returncode == 0, err.decode()[-3000:]

    total = CLIENTS * SAVES_PER_CLIENT
    query = """query ($first: Int!) { artifact(name: "shared") { versionCount
        versions(first: $first) { edges { node { version tags metadata } } } } }"""
    answer = httpx.post(server.url, json={"query": query, "variables": {"first": total + 10}})
    artifact = answer.json()["data"]["artifact"]
    nodes = [edge["node"] for edge in artifact["versions"]["edges"]]
    assert artifact["versionCount"] == total
    assert sorted(int(node["version"]) for node in nodes) == list(range(1, total + 1))
    per_client: dict[str, list[int]] = {}
    for node in nodes:
        (tag,) = node["tags"]
        per_client.setdefault(tag, []).append(int(node["version"]))
    assert sorted(per_client) == [f"c{n}" for n in range(CLIENTS)]
    assert all(len(versions) == SAVES_PER_CLIENT for versions in per_client.values())
    # every worker process answered: each opened its own pool on the database
    assert server.process.poll() is None
    assert "Traceback" not in server.log()


def test_pool_options_come_from_the_environment(database_url: str) -> None:
    settings = Settings.from_env(
        {
            "LINEAGEQL_DATABASE_URL": database_url,
            "LINEAGEQL_DB_POOL_SIZE": "3",
            "LINEAGEQL_DB_MAX_OVERFLOW": "0",
            "LINEAGEQL_DB_POOL_TIMEOUT": "7",
            "LINEAGEQL_DB_POOL_PRE_PING": "off",
        }
    )
    expected = PoolOptions(size=3, max_overflow=0, timeout=7, pre_ping=False)
    assert PoolOptions.from_settings(settings) == expected
    assert PoolOptions.from_settings(Settings.from_env({})) == PoolOptions()
    db = Database.from_settings(settings)
    try:
        pool = db.read_engine.sync_engine.pool
        assert (pool.size(), pool.overflow()) == (3, -3)  # type: ignore[attr-defined]
        assert pool.timeout() == 7  # type: ignore[attr-defined]
        assert pool._pre_ping is False
    finally:
        asyncio.run(db.dispose())


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LINEAGEQL_DB_POOL_SIZE", "0"),
        ("LINEAGEQL_DB_MAX_OVERFLOW", "-1"),
        ("LINEAGEQL_DB_POOL_PRE_PING", "maybe"),
        ("X", ""),
    ],
)
def test_pool_options_refuse_impossible_values(
    database_url: str, variable: str, value: str
) -> None:
    env = {"LINEAGEQL_DATABASE_URL": database_url, variable: value}
    if variable == "X":
        env["LINEAGEQL_DB_POOL_TIMEOUT"] = "soon"
        variable = "LINEAGEQL_DB_POOL_TIMEOUT"
    with pytest.raises(ValueError, match=variable):
        Settings.from_env(env)


def test_a_request_waits_pool_timeout_for_a_connection_then_fails(database_url: str) -> None:
    db = Database.connect(database_url, pool=PoolOptions(size=1, max_overflow=0, timeout=1))

    async def scenario() -> float:
        async with db.read() as holder:
            await holder.execute(text("SELECT 1"))  # holds the only connection
            started = time.monotonic()
            with pytest.raises(PoolTimeoutError, match="QueuePool limit"):
                async with db.read() as waiter:
                    await waiter.execute(text("SELECT 1"))
            return time.monotonic() - started

    try:
        waited = asyncio.run(scenario())
    finally:
        asyncio.run(db.dispose())
    assert 0.9 <= waited < 5


def test_database_io_does_not_block_the_event_loop(database_url: str) -> None:
    db = Database.connect(database_url)

    async def scenario() -> tuple[int, float]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        async def sleep_in_database() -> None:
            async with db.read() as session:
                await session.execute(text("SELECT pg_sleep(0.5)"))

        task = asyncio.create_task(ticker())
        started = time.monotonic()
        await asyncio.gather(*(sleep_in_database() for _ in range(4)))
        elapsed = time.monotonic() - started
        task.cancel()
        await db.dispose()
        return ticks, elapsed

    ticks, elapsed = asyncio.run(scenario())
    assert elapsed < 1.5  # the four sleeps overlapped, on four pooled connections
    assert ticks >= 20  # and the loop kept running meanwhile (a blocked loop ticks ~0 times)


def test_reads_run_in_autocommit_and_writes_in_one_transaction(database_url: str) -> None:
    """now() is the start of the transaction: it moves between statements only without one."""
    db = Database.connect(database_url)
    two_clock_reads = text("SELECT now()"), text("SELECT now() FROM pg_sleep(0.02)")

    async def scenario() -> tuple[bool, bool]:
        async with db.read() as session:
            read = [await session.scalar(statement) for statement in two_clock_reads]
        async with db.write() as session:
            write = [await session.scalar(statement) for statement in two_clock_reads]
        await db.dispose()
        return read[0] != read[1], write[0] != write[1]

    assert asyncio.run(scenario()) == (True, False)
