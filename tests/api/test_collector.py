"""The collector's pace during operations (api/collector.py): raised, still collecting, and put
back as found."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

import api
import api.embedded
from api.collector import OPERATION_THRESHOLD, fewer_collections
from tests.api.client import Api


@pytest.fixture(autouse=True)
def default_thresholds() -> Iterator[None]:
    found = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        yield
    finally:
        gc.set_threshold(*found)


def test_the_first_threshold_is_raised_within_and_put_back_after() -> None:
    with fewer_collections():
        assert gc.get_threshold() == (OPERATION_THRESHOLD, 10, 10)
    assert gc.get_threshold() == (700, 10, 10)


def test_put_back_after_an_error_too() -> None:
    with pytest.raises(ValueError), fewer_collections():
        raise ValueError("boom")
    assert gc.get_threshold() == (700, 10, 10)


def test_overlapping_operations_put_it_back_only_when_the_last_ends() -> None:
    entered, release = threading.Barrier(3), threading.Event()
    seen: list[tuple[int, int, int]] = []

    def operation() -> None:
        with fewer_collections():
            entered.wait()
            release.wait()
            seen.append(gc.get_threshold())

    threads = [threading.Thread(target=operation) for _ in range(2)]
    for thread in threads:
        thread.start()
    entered.wait()
    with fewer_collections():  # a third, nested in time with both
        release.set()
        for thread in threads:
            thread.join()
        assert gc.get_threshold()[0] == OPERATION_THRESHOLD
    assert seen == [(OPERATION_THRESHOLD, 10, 10)] * 2
    assert gc.get_threshold() == (700, 10, 10)


def test_a_threshold_the_program_sets_meanwhile_is_kept() -> None:
    with fewer_collections():
        gc.set_threshold(5000, 20, 20)
    assert gc.get_threshold() == (5000, 20, 20)


@pytest.mark.parametrize("found", [(0, 10, 10), (50_000, 10, 10)])
def test_a_collector_off_or_already_slower_is_left_alone(found: tuple[int, int, int]) -> None:
    gc.set_threshold(*found)
    with fewer_collections():
        assert gc.get_threshold() == found
    assert gc.get_threshold() == found


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_cyclic_garbage_is_still_collected_within() -> None:
    """Raised, not switched off: a cycle dropped inside goes once enough is allocated."""
    with fewer_collections():
        cycle = Cycle()
        gone = weakref.ref(cycle)
        del cycle
        kept = [[] for _ in range(3 * OPERATION_THRESHOLD)]  # containers: they count
        assert gone() is None
        del kept


def test_the_embedded_executor_runs_operations_raised(
    gql: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[int, int, int]] = []
    real = api.embedded.schema

    class Spy:
        async def execute(self, *args: Any, **kwargs: Any) -> Any:
            seen.append(gc.get_threshold())
            return await real.execute(*args, **kwargs)

    monkeypatch.setattr(api.embedded, "schema", Spy())
    assert gql.data("{ artifacts(first: 1) { totalCount } }")["artifacts"]["totalCount"] == 0
    assert seen == [(OPERATION_THRESHOLD, 10, 10)]
    assert gc.get_threshold() == (700, 10, 10)


def test_a_served_process_keeps_the_raised_threshold() -> None:
    from api.collector import serve_thresholds

    serve_thresholds()
    assert gc.get_threshold() == (OPERATION_THRESHOLD, 10, 10)
    with fewer_collections():
        pass
    assert gc.get_threshold() == (OPERATION_THRESHOLD, 10, 10)
