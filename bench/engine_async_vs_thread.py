"""The server's database access on PostgreSQL: the async engine (psycopg 3 async, what the API
uses) against the sync engine (psycopg 3) run in a thread pool, on the same queries.

    .venv/bin/python bench/engine_async_vs_thread.py [--concurrency 1,8,32] [--requests 2000]
                                                     [--rounds 3] [--database-url URL]

On one event loop, `--concurrency` tasks each run "requests" until `--requests` are done. A
request is what a simple GraphQL query costs the database layer: two short read sessions (an
artifact by name with its tag names, then its latest version), as the API's loaders open them.
Both variants use a pool as large as the concurrency and read in autocommit, as the server does;
the sync variant runs each session with `anyio.to_thread.run_sync` in a pool of as many threads.
The two take turns, `--rounds` times; the medians of requests/s and p99 latency are printed.
Without `--database-url` a throwaway PostgreSQL server is started (as the tests do).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from sqlalchemy import Engine, create_engine, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.storage.engine import async_url, sync_url  # noqa: E402
from api.storage.migrate import upgrade  # noqa: E402
from api.storage.models import Artifact, ArtifactTag, ArtifactVersion, Tag  # noqa: E402

NAMES = [f"bench_{i}" for i in range(50)]


def _tags_of(name: str) -> Any:
    return (
        select(Tag.name)
        .join(ArtifactTag, ArtifactTag.tag_id == Tag.id)
        .join(Artifact, Artifact.id == ArtifactTag.artifact_id)
        .where(Artifact.name == name)
    )


def _latest_of(artifact_id: str) -> Any:
    return (
        select(ArtifactVersion)
        .where(ArtifactVersion.artifact_id == artifact_id)
        .order_by(ArtifactVersion.created_at.desc(), ArtifactVersion.seq.desc())
        .limit(1)
    )


def seed(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        tag_ids = [str(uuid.uuid4()) for _ in range(3)]
        session.execute(insert(Tag), [{"id": t, "name": f"tag{i}"} for i, t in enumerate(tag_ids)])
        for name in NAMES:
            artifact = Artifact(name=name)
            session.add(artifact)
            session.flush()
            session.execute(
                insert(ArtifactTag), [{"artifact_id": artifact.id, "tag_id": t} for t in tag_ids]
            )
            for n in range(1, 11):
                session.add(
                    ArtifactVersion(
                        artifact_id=artifact.id,
                        version=str(n),
                        seq=n,
                        uri=f"/store/{name}/{n}",
                        data_type="builtins:dict",
                        materializer="m:M",
                        source="SAVED",
                    )
                )


def async_request(engine: AsyncEngine) -> Callable[[str], Awaitable[None]]:
    from sqlalchemy.ext.asyncio import AsyncSession

    async def request(name: str) -> None:
        async with AsyncSession(engine) as session:
            artifact = await session.scalar(select(Artifact).where(Artifact.name == name))
            assert artifact is not None
            tags = (await session.scalars(_tags_of(name))).all()
        async with AsyncSession(engine) as session:
            latest = await session.scalar(_latest_of(artifact.id))
        assert latest is not None and len(tags) == 3

    return request


def thread_request(engine: Engine) -> Callable[[str], Awaitable[None]]:
    def first(name: str) -> str:
        with Session(engine) as session:
            artifact = session.scalar(select(Artifact).where(Artifact.name == name))
            assert artifact is not None
            assert len(session.scalars(_tags_of(name)).all()) == 3
            return artifact.id

    def second(artifact_id: str) -> None:
        with Session(engine) as session:
            assert session.scalar(_latest_of(artifact_id)) is not None

    async def request(name: str) -> None:
        artifact_id = await anyio.to_thread.run_sync(first, name)
        await anyio.to_thread.run_sync(second, artifact_id)

    return request


async def drive(
    request: Callable[[str], Awaitable[None]], concurrency: int, total: int
) -> tuple[float, float]:
    """requests/s and p99 latency (ms) of `total` requests from `concurrency` tasks."""
    latencies: list[float] = []
    remaining = total

    async def task(index: int) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            began = time.perf_counter()
            await request(NAMES[(index + remaining) % len(NAMES)])
            latencies.append(time.perf_counter() - began)

    started = time.perf_counter()
    await asyncio.gather(*(task(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return total / elapsed, latencies[int(0.99 * (len(latencies) - 1))] * 1000


async def run_round(url: str, concurrency: int, total: int) -> dict[str, tuple[float, float]]:
    results: dict[str, tuple[float, float]] = {}
    pool = {"pool_size": concurrency, "max_overflow": 0, "pool_pre_ping": True}
    async_engine = create_async_engine(async_url(url), **pool).execution_options(
        isolation_level="AUTOCOMMIT"
    )
    sync_engine = create_engine(sync_url(url), **pool).execution_options(
        isolation_level="AUTOCOMMIT"
    )
    limiter = anyio.to_thread.current_default_thread_limiter()
    limiter.total_tokens = max(concurrency, 1)
    try:
        for name, request in (
            ("async engine", async_request(async_engine)),
            ("sync engine in threads", thread_request(sync_engine)),
        ):
            await drive(request, concurrency, min(total, 100))  # warm the pool and caches
            results[name] = await drive(request, concurrency, total)
    finally:
        await async_engine.dispose()
        sync_engine.dispose()
    return results


@contextmanager
def _database(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    from tests.pgserver import postgres_server

    with postgres_server(Path(tempfile.mkdtemp(prefix="lineageql-engine-"))) as server_url:
        yield server_url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    with _database(args.database_url) as url:
        upgrade(url)
        seed(create_engine(sync_url(url)))
        figures: dict[tuple[int, str], list[tuple[float, float]]] = {}
        for _ in range(args.rounds):
            for concurrency in (int(c) for c in args.concurrency.split(",")):
                result = anyio.run(run_round, url, concurrency, args.requests)
                for name, values in result.items():
                    figures.setdefault((concurrency, name), []).append(values)
    print(f"medians of {args.rounds} rounds, {args.requests} requests each")
    print(f"{'concurrency':>11}  {'variant':<24} {'requests/s':>10} {'p99 ms':>8}")
    for (concurrency, name), measured in figures.items():
        rps = statistics.median(v[0] for v in measured)
        p99 = statistics.median(v[1] for v in measured)
        print(f"{concurrency:>11}  {name:<24} {rps:>10.1f} {p99:>8.1f}")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
