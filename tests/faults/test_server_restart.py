"""The server killed with SIGKILL and started again while a pipeline runs over HTTP: the run
ends cleanly (its requests are retried with their idempotency keys), and every version that
was registered loads."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from sdk import Client, pipeline, step
from sdk.errors import LineageQLError
from tests.conftest import LiveServer, _close_transports


class FixedPortServer(LiveServer):
    """`lineageql serve` on a port chosen by the caller (to start again on the same one)."""

    def __init__(self, env: dict[str, str], log_path: Path, port: int) -> None:
        import tests.conftest as conftest

        chosen = conftest.free_port
        conftest.free_port = lambda: port  # LiveServer asks for its port once, here
        try:
            super().__init__(env, log_path)
        finally:
            conftest.free_port = chosen


@step
def produce(index: int) -> list[int]:
    time.sleep(0.15)
    return list(range(index))


@step
def count(values: list[int]) -> int:
    time.sleep(0.15)
    return len(values)


@pipeline(enable_cache=False)
def steady() -> None:
    for index in range(6):
        count(produce(index))


def test_a_server_killed_and_restarted_mid_run(
    store_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {**os.environ, **store_env}
    first = LiveServer(env, tmp_path / "first.log")
    servers = [first]
    monkeypatch.setenv("LINEAGEQL_URL", first.url)
    monkeypatch.delenv("LINEAGEQL_DATABASE_URL")
    monkeypatch.setenv("LINEAGEQL_RETRIES", "10")
    monkeypatch.setenv("LINEAGEQL_RETRY_BACKOFF", "0.2")

    def kill_and_restart() -> None:
        time.sleep(0.8)  # a few steps in
        first.process.send_signal(signal.SIGKILL)
        first.process.wait()
        servers.append(FixedPortServer(env, tmp_path / "second.log", first.port))

    chaos = threading.Thread(target=kill_and_restart)
    chaos.start()
    try:
        try:
            run = steady()
            status = run.status
        except LineageQLError:  # a clean failure is allowed; a hang or data loss is not
            status = "FAILED"
        chaos.join()
        assert first.process.returncode == -signal.SIGKILL  # the fault happened
        runs = Client().list_pipeline_runs(pipeline_name="steady")
        assert len(runs) == 1 and runs[0].status == status
        assert status in {"COMPLETED", "FAILED"}
        versions = Client().list_artifact_versions()
        assert versions
        for version in versions:
            version.load()  # every registered version loads
        names = [v.name for v in versions]
        assert len(names) == len(set(names))  # no output registered twice
        if status == "COMPLETED":
            assert len(versions) == 12
    finally:
        chaos.join()
        _close_transports()
        for server in servers:
            server.stop()
