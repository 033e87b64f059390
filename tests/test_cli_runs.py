"""`lineageql runs list` and `lineageql runs show`, in this process through Typer's runner:
embedded, and with `--url` against a live server; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import pytest

from sdk import Client, pipeline, step
from sdk.cli.runs import duration
from sdk.client.views import PipelineRun
from tests.test_cli_artifacts import Cli, assert_one_line_error, rows


@pytest.fixture
def cli(lineageql: str) -> Cli:
    return Cli(os.environ.get("LINEAGEQL_URL"))


@step
def load() -> Annotated[list[int], "numbers"]:
    return [3, 1, 2]


@step
def add(numbers: list[int], offset: int = 0) -> Annotated[int, "sum"]:
    return sum(numbers) + offset


@pipeline
def summing(offset: int = 0) -> None:
    add(load(), offset=offset)


@step
def explode() -> int:
    raise RuntimeError("boom: the data is bad\nsecond line")


@pipeline
def failing() -> None:
    explode()


@dataclass(frozen=True)
class Runs:
    first: PipelineRun  # summing, both steps executed
    cached: PipelineRun  # summing again: both steps CACHED from `first`
    failed: PipelineRun  # failing


@pytest.fixture
def runs(lineageql: str) -> Runs:
    first = summing()
    cached = summing()
    with pytest.raises(RuntimeError, match="boom"):
        failing()
    failed = Client().get_pipeline("failing").last_run
    return Runs(first=first, cached=cached, failed=failed)


def test_list_is_newest_first_with_status_and_duration(cli: Cli, runs: Runs) -> None:
    result = cli.ok("runs", "list")

    table = rows(result.stdout)
    assert table["id"] == ["id", "name", "pipeline", "status", "started (UTC)", "duration"]
    ids = [cells[0] for cells in table.values()][1:]
    assert ids == [runs.failed.id, runs.cached.id, runs.first.id]
    failed = table[runs.failed.id]
    assert failed[1:4] == [runs.failed.name, "failing", "FAILED"]
    assert datetime.strptime(failed[4], "%Y-%m-%d %H:%M:%S").year >= 2024
    assert re.fullmatch(r"\d+ ms|\d+\.\d s", failed[5])
    assert table[runs.first.id][2:4] == ["summing", "COMPLETED"]


def test_list_filters_by_pipeline_and_status(cli: Cli, runs: Runs) -> None:
    summing_runs = json.loads(cli.ok("runs", "list", "--pipeline", "summing", "--json").stdout)
    failed = json.loads(cli.ok("runs", "list", "--status", "failed", "--json").stdout)
    none = cli.ok("runs", "list", "--pipeline", "summing", "--status", "RUNNING")

    assert [r["id"] for r in summing_runs] == [runs.cached.id, runs.first.id]
    assert [(r["name"], r["status"]) for r in failed] == [(runs.failed.name, "FAILED")]
    assert "boom: the data is bad" in failed[0]["error"]
    assert none.stdout == "No pipeline runs match.\n"


def test_list_json_and_limit(cli: Cli, runs: Runs) -> None:
    answer = json.loads(cli.ok("runs", "list", "--limit", "2", "--json").stdout)
    limited = cli.ok("runs", "list", "--limit", "1")

    assert [r["id"] for r in answer] == [runs.failed.id, runs.cached.id]
    newest = answer[1]
    assert newest["pipeline_name"] == "summing"
    started = datetime.fromisoformat(newest["started_at"])
    ended = datetime.fromisoformat(newest["ended_at"])
    assert started.tzinfo is not None and started <= ended
    assert newest["duration_seconds"] == pytest.approx((ended - started).total_seconds())
    assert list(rows(limited.stdout)) == ["id", runs.failed.id]
    assert "showing the first 1 runs; use --limit 2 or more to see further" in limited.stdout


def test_show_lists_steps_with_inputs_outputs_and_durations(cli: Cli, runs: Runs) -> None:
    result = cli.ok("runs", "show", runs.first.id)

    lines = result.stdout.splitlines()
    assert lines[0] == f"{runs.first.name}  ({runs.first.id})"
    assert lines[1].startswith("pipeline: summing   status: COMPLETED   started: ")
    table = rows(result.stdout)
    assert table["step"] == ["step", "status", "duration", "inputs", "outputs", "notes"]
    assert table["load"][1] == "COMPLETED" and table["load"][3:] == ["-", "numbers:1"]
    assert table["add"][1] == "COMPLETED" and table["add"][3:] == ["numbers:1", "sum:1"]
    assert re.fullmatch(r"\d+ ms|\d+\.\d s", table["add"][2])


def test_show_says_where_cached_steps_came_from(cli: Cli, runs: Runs) -> None:
    result = cli.ok("runs", "show", runs.cached.id)
    answer = json.loads(cli.ok("runs", "show", runs.cached.id, "--json").stdout)

    table = rows(result.stdout)
    assert table["load"][1] == "CACHED"
    assert table["load"][-1] == f"cached from {runs.first.name}"
    assert table["add"][3:] == ["numbers:1", "sum:1", f"cached from {runs.first.name}"]
    steps = {s["name"]: s for s in answer["steps"]}
    assert steps["add"]["cached_from"] == {
        "step_run_id": runs.first.steps["add"].id,
        "run_id": runs.first.id,
        "run_name": runs.first.name,
    }
    assert [(e["name"], e["artifact_name"], e["version"]) for e in steps["add"]["inputs"]] == [
        ("numbers", "numbers", "1")
    ]
    assert steps["add"]["outputs"][0]["artifact_version_id"] == (
        runs.first.steps["add"].outputs["sum"].id
    )
    assert answer["status"] == "COMPLETED" and answer["pipeline_name"] == "summing"


def test_show_a_failed_run_gives_the_error_first_line(cli: Cli, runs: Runs) -> None:
    result = cli.ok("runs", "show", runs.failed.id)

    table = rows(result.stdout)
    assert table["explode"][1] == "FAILED"
    assert "boom: the data is bad" in table["explode"][-1]
    assert "second line" not in result.stdout


def test_show_finds_a_run_by_name_or_unique_id_prefix(cli: Cli, runs: Runs) -> None:
    by_id = json.loads(cli.ok("runs", "show", runs.first.id, "--json").stdout)
    by_name = json.loads(cli.ok("runs", "show", runs.first.name, "--json").stdout)
    ids = [runs.first.id, runs.cached.id, runs.failed.id]
    length = next(n for n in range(1, 37) if [i[:n] for i in ids].count(ids[0][:n]) == 1)
    by_prefix = json.loads(cli.ok("runs", "show", runs.first.id[:length], "--json").stdout)

    assert by_id == by_name == by_prefix
    assert by_name["id"] == runs.first.id and by_name["name"] == runs.first.name
    assert [s["name"] for s in by_name["steps"]] == ["load", "add"]


def test_show_lists_the_runs_an_ambiguous_prefix_matches(cli: Cli, runs: Runs) -> None:
    more = [summing(offset=n) for n in range(1, 15)]  # 17 runs: two share a first digit
    everyone = [runs.first, runs.cached, runs.failed, *more]
    digit = max("0123456789abcdef", key=lambda d: sum(r.id.startswith(d) for r in everyone))
    matching = [r for r in everyone if r.id.startswith(digit)]

    result = cli("runs", "show", digit)

    assert result.exit_code == 1 and result.stdout == ""
    assert f"error: {len(matching)} pipeline runs have ids starting with '{digit}': " in (
        result.stderr
    )
    for run in everyone:
        assert (f"{run.id} ({run.name}, pipeline " in result.stderr) is (run in matching)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("runs", "show", "00000000-0000-0000-0000-000000000000"),
            "no pipeline run has the id, name or id prefix "
            "'00000000-0000-0000-0000-000000000000'; `lineageql runs list` shows the runs",
        ),
        (
            ("runs", "show", "not-a-run"),
            "no pipeline run has the id, name or id prefix 'not-a-run'; "
            "`lineageql runs list` shows the runs",
        ),
        (
            ("runs", "list", "--status", "done"),
            "--status must be one of RUNNING, COMPLETED, FAILED, CACHED, ABANDONED (got 'done')",
        ),
        (
            ("runs", "list", "--pipeline", "nope"),
            "no pipeline is named 'nope'; it exists after its first run",
        ),
    ],
)
def test_errors_are_one_line(cli: Cli, runs: Runs, args: tuple[str, ...], message: str) -> None:
    assert_one_line_error(cli(*args), message)


@pytest.mark.parametrize(
    ("started", "ended", "status", "expected"),
    [
        ("2026-11-22T10:00:00+00:00", "2026-11-22T10:00:00.250000+00:00", "COMPLETED", "250 ms"),
        ("2026-11-22T10:00:00+00:00", "2026-11-22T10:00:12.340000+00:00", "COMPLETED", "12.3 s"),
        ("2026-11-22T10:00:00+00:00", "2026-11-22T10:04:05+00:00", "FAILED", "4 min 05 s"),
        ("2026-11-22T10:00:00+00:00", "2026-11-22T12:03:00+00:00", "COMPLETED", "2 h 03 min"),
        ("2026-11-22T10:00:00+00:00", None, "RUNNING", "running"),
        ("2026-11-22T10:00:00+00:00", None, "FAILED", "-"),
    ],
)
def test_durations_read_well(started: str, ended: str | None, status: str, expected: str) -> None:
    assert duration(started, ended, status) == expected


def test_a_narrow_terminal_shows_short_unique_ids_that_show_accepts(
    cli: Cli, runs: Runs, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rich.console import Console

    monkeypatch.setattr("sdk.cli.runs.console", lambda: Console(width=100, highlight=False))
    table = rows(cli.ok("runs", "list").stdout)
    short = [cells[0] for cells in table.values()][1:]
    assert all(len(s) == 8 for s in short)
    assert short == [r.id[:8] for r in (runs.failed, runs.cached, runs.first)]
    assert runs.first.name in cli.ok("runs", "show", short[2]).stdout
    wide = rows(cli.ok("runs", "list", "--wide").stdout)
    assert [cells[0] for cells in wide.values()][1:] == [
        runs.failed.id,
        runs.cached.id,
        runs.first.id,
    ]


def test_short_ids_grow_until_they_are_unique() -> None:
    from sdk.cli.common import short_ids

    ids = ["abcdef01-1", "abcdef01-2", "12345678-9"]
    assert short_ids(ids, width=80, wide=False) == {
        "abcdef01-1": "abcdef01-1",
        "abcdef01-2": "abcdef01-2",
        "12345678-9": "12345678",
    }
    assert short_ids(["abcdef0123", "abcdef0199"], width=80, wide=False) == {
        "abcdef0123": "abcdef012",
        "abcdef0199": "abcdef019",
    }
    assert short_ids(ids, width=200, wide=False)["12345678-9"] == "12345678-9"
    assert short_ids(ids, width=80, wide=True)["12345678-9"] == "12345678-9"
