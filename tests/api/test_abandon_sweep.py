"""Runs whose heartbeats stopped are recorded ABANDONED when runs are read (sweep_abandoned),
with one look at the leases per SWEEP_PAUSE rather than one per read, and never later than the
earliest lease end it saw."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from api.graphql import query
from tests.api.client import Api

START = """
mutation ($input: StartPipelineRunInput!) { startPipelineRun(input: $input) { id status } }
"""
RUN = "query ($id: ID!) { pipelineRun(id: $id) { id status error } }"
RUNS = "{ pipelineRuns { edges { node { id status } } } }"


@contextmanager
def lease_looks() -> Iterator[list[str]]:
    """The statements that look at the leases, while open."""
    looks: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "min(pipeline_runs.lease_expires_at)" in statement:
            looks.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield looks
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def start(gql: Api, heartbeat: float) -> str:
    data = gql.data(START, input={"pipelineName": "swept", "heartbeatInterval": heartbeat})
    return str(data["startPipelineRun"]["id"])


def test_reads_within_the_pause_look_at_the_leases_once(gql: Api) -> None:
    run = start(gql, heartbeat=60)  # its lease ends in four minutes
    with lease_looks() as looks:
        for _ in range(5):
            assert gql.data(RUN, id=run)["pipelineRun"]["status"] == "RUNNING"
        gql.data(RUNS)
    assert len(looks) <= 1  # none if the start's own read looked a moment ago
    time.sleep(query.SWEEP_PAUSE.total_seconds() + 0.05)
    with lease_looks() as looks:
        gql.data(RUN, id=run)
        gql.data(RUN, id=run)
    assert len(looks) == 1


def test_an_ended_lease_is_seen_at_the_first_read_after_it_even_within_a_pause(
    gql: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(query, "SWEEP_PAUSE", query.SWEEP_PAUSE * 600)  # a minute's pause
    run = start(gql, heartbeat=0.05)  # its lease: 0.2 s
    assert gql.data(RUN, id=run)["pipelineRun"]["status"] == "RUNNING"
    time.sleep(0.4)
    found = gql.data(RUN, id=run)["pipelineRun"]
    assert found["status"] == "ABANDONED" and "no heartbeat" in found["error"]


def test_a_run_started_after_a_look_is_swept_once_its_lease_ends(gql: Api) -> None:
    gql.data(RUNS)  # a look with no run: a pause of SWEEP_PAUSE
    run = start(gql, heartbeat=0.05)
    time.sleep(0.4)
    assert gql.data(RUN, id=run)["pipelineRun"]["status"] == "ABANDONED"
