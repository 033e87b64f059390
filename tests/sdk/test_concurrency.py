"""Concurrent writers get gap-free, duplicate-free auto versions (SQLite file and PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sdk import Client

WRITER = textwrap.dedent(
    """
    import sys
    from sdk import save_artifact

    for i in range(int(sys.argv[1])):
        save_artifact({"writer": sys.argv[2], "i": i}, name="shared")
    """
)


@pytest.mark.slow
def test_two_processes_saving_100_times_each_get_versions_1_to_200(
    store_env: dict[str, str], tmp_path: Path
) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    env = {**os.environ, **store_env}
    env.pop("LINEAGEQL_URL", None)
    writers = [
        subprocess.Popen(
            [sys.executable, str(script), "100", name],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name in ("a", "b")
    ]
    for writer in writers:
        _, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err.decode()[-3000:]

    versions = Client().list_artifact_versions(name="shared")
    numbers = [v.version for v in versions]
    assert numbers == [str(n) for n in range(1, 201)]
    by_writer = {"a": 0, "b": 0}
    for version in versions:
        by_writer[version.load()["writer"]] += 1
    assert by_writer == {"a": 100, "b": 100}


def test_threads_of_one_process_share_the_embedded_store(store_env: dict[str, str]) -> None:
    """The embedded store runs SQLite on its event loop's thread; writers of one process take
    turns before SQLite's lock, so threads saving at once neither deadlock nor lose a version."""
    import threading

    from sdk import save_artifact

    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            for i in range(20):
                save_artifact({"writer": name, "i": i}, name="threaded")
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in "abcd"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a writer hung"
    assert not errors, errors
    numbers = [v.version for v in Client().list_artifact_versions(name="threaded")]
    assert numbers == [str(n) for n in range(1, 81)]


def test_the_embedded_store_runs_sqlite_inline(tmp_path: Path) -> None:
    import api
    from api.storage.inline_sqlite import InlineConnection

    settings = api.Settings.from_env({"LINEAGEQL_HOME": str(tmp_path / "home")})
    executor = api.LocalExecutor(settings)
    try:
        assert executor.execute("{ artifacts { totalCount } }")["data"]["artifacts"] == {
            "totalCount": 0
        }
        db = executor._db

        async def driver_connections() -> list[object]:
            found = []
            for engine in (db.read_engine, db.write_engine):
                async with engine.connect() as connection:
                    raw = await connection.get_raw_connection()
                    found.append(raw.driver_connection)
            return found

        connections = executor._portal.call(driver_connections)
        assert all(isinstance(c, InlineConnection) for c in connections)
    finally:
        executor.close()
