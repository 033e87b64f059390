"""bench/load.py's lean HTTP client against a real `lineageql serve` on loopback: answers on one
kept-alive connection, a refused request's status and body, and a lost server as an error
rather than a hang."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import LiveServer

# The client is what is tested here; one database is enough.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

LOAD = Path(__file__).resolve().parent.parent / "bench" / "load.py"


@pytest.fixture(scope="module")
def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_load", LOAD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_answers_on_one_kept_alive_connection(
    load: ModuleType, store_env: dict[str, str], tmp_path: Path
) -> None:
    server = LiveServer({**os.environ, **store_env}, tmp_path / "server.log")

    async def main() -> list[tuple[int, object]]:
        connection = await load._Connection.open(server.url, {})
        answers = []
        for name in ("a", "b", "c"):
            query = "query ($n: String!) { artifact(name: $n) { name } }"
            status, raw = await connection.post(
                json.dumps({"query": query, "variables": {"n": name}}).encode()
            )
            answers.append((status, json.loads(raw)))
        status, raw = await connection.post(b"{not json")
        answers.append((status, raw))
        connection.close()
        return answers

    try:
        *answers, refused = asyncio.run(main())
    finally:
        server.stop()
    assert answers == [(200, {"data": {"artifact": None}})] * 3
    assert refused[0] == 400 and refused[1]


def test_a_lost_server_is_an_error_not_a_hang(
    load: ModuleType, store_env: dict[str, str], tmp_path: Path
) -> None:
    server = LiveServer({**os.environ, **store_env}, tmp_path / "server.log")

    async def main() -> BaseException | None:
        connection = await load._Connection.open(server.url, {})
        status, _ = await connection.post(b'{"query": "{ __typename }"}')
        assert status == 200
        await asyncio.to_thread(server.stop)
        try:
            async with asyncio.timeout(10):
                await connection.post(b'{"query": "{ __typename }"}')
                await connection.post(b'{"query": "{ __typename }"}')
        except OSError as exc:
            return exc
        return None

    error = asyncio.run(main())
    assert isinstance(error, ConnectionError), error
