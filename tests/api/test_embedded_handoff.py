"""The embedded store's hand-off between the caller's thread and its event loop: any thread may
call, answers and exceptions come back to the caller that asked, close() waits for the calls
already started, and no call is lost or left waiting."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

import api


@pytest.fixture
def executor(tmp_path: Path) -> Any:
    settings = api.Settings(
        home=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'metadata.db'}",
        artifact_store=str(tmp_path / "store"),
    )
    executor = api.LocalExecutor(settings)
    yield executor
    executor.close()


def test_calls_from_many_threads_each_get_their_own_answer(executor: Any) -> None:
    answers: dict[int, list[Any]] = {}

    def ask(n: int) -> None:
        answers[n] = [
            executor.execute("query Q($n: String!) { artifact(name: $n) { id } }", {"n": f"a{n}"})
            for _ in range(50)
        ]

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == list(range(6))
    assert all(a == [{"data": {"artifact": None}}] * 50 for a in answers.values())


def test_an_exception_reaches_the_caller(executor: Any) -> None:
    async def fail() -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        executor._run(fail)
    assert executor.execute("{ __typename }") == {"data": {"__typename": "Query"}}


def test_calling_from_the_executors_own_loop_is_refused(executor: Any) -> None:
    async def inside() -> str:
        try:
            executor.execute("{ __typename }")
        except RuntimeError as exc:
            return str(exc)
        return "answered"

    assert "its own event loop" in executor._portal.call(inside)


def test_close_waits_for_calls_in_flight_and_refuses_later_ones(executor: Any) -> None:
    started, release = threading.Event(), threading.Event()

    async def slow() -> str:
        started.set()
        while not release.is_set():
            await asyncio.sleep(0.01)
        return "done"

    result: list[str] = []
    caller = threading.Thread(target=lambda: result.append(executor._run(slow)))
    caller.start()
    assert started.wait(10)
    closer = threading.Thread(target=executor.close)
    closer.start()
    closer.join(0.2)
    assert closer.is_alive()  # waiting for the call in flight
    release.set()
    closer.join(10)
    caller.join(10)
    assert result == ["done"] and not closer.is_alive()
    with pytest.raises(RuntimeError, match="closed"):
        executor.execute("{ __typename }")
