"""`lineageql runs list`, `lineageql runs show RUN` (an id, a name or a unique id prefix) and
`lineageql runs reap`: pipeline runs and their steps."""

from __future__ import annotations

from typing import Annotated

import typer

from sdk.cli.artifacts import LimitOption, add_row, collect, iso, more_hint, table, when
from sdk.cli.common import (
    JsonOption,
    TokenOption,
    UrlOption,
    WideOption,
    announce,
    cli_errors,
    console,
    make_client,
    print_json,
    short_ids,
)
from sdk.client import operations as ops
from sdk.client.views import parse_time
from sdk.errors import InputError, NotFoundError
from sdk.types import JsonObject

app = typer.Typer(help="Pipeline runs.", no_args_is_help=True)
STATUSES = ("RUNNING", "COMPLETED", "FAILED", "CACHED", "ABANDONED")


def duration(started: str | None, ended: str | None, status: str) -> str:
    """`850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`; `running` while it runs."""
    start, end = parse_time(started), parse_time(ended)
    if start is None or end is None:
        return "running" if status == "RUNNING" else "-"
    seconds = max((end - start).total_seconds(), 0.0)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _seconds(started: str | None, ended: str | None) -> float | None:
    start, end = parse_time(started), parse_time(ended)
    return None if start is None or end is None else (end - start).total_seconds()


@app.command("list")
def list_runs(
    pipeline: Annotated[
        str | None, typer.Option("--pipeline", "-p", help="Only runs of this pipeline.")
    ] = None,
    status: Annotated[
        str | None,
        typer.Option("--status", "-s", help="Only runs with this status: " + ", ".join(STATUSES)),
    ] = None,
    limit: LimitOption = 50,
    as_json: JsonOption = False,
    wide: WideOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """List pipeline runs, newest first. On a narrow terminal ids are shown as short unique
    prefixes (`runs show` takes them); `--wide` shows them whole."""
    with cli_errors():
        wanted = None if status is None else _status(status)
        announce(url, as_json=as_json)
        client = make_client(url, token, reads=True)
        if pipeline is not None:
            client.get_pipeline(pipeline)  # NotFoundError naming it, rather than an empty list
        flt = {"pipelineName": pipeline, "status": wanted}
        nodes, more = collect(client, ops.CLI_LIST_RUNS, "pipelineRuns", {"filter": flt}, limit)
    if as_json:
        print_json([_run_json(node) for node in nodes])
        return
    out = console()
    if not nodes:
        out.print("No pipeline runs match.", markup=False)
        return
    grid = table("id", "name", "pipeline", "status", "started (UTC)", "duration")
    ids = short_ids([node["id"] for node in nodes], width=out.width, wide=wide)
    if wide:
        out.width = max(out.width, 100_000)  # whole ids on one line; the terminal wraps rows
    for node in nodes:
        add_row(
            grid,
            ids[node["id"]],
            node["name"],
            node["pipeline"]["name"],
            node["status"],
            when(node["startedAt"]),
            duration(node["startedAt"], node["endedAt"], node["status"]),
        )
    out.print(grid)
    if more:
        out.print(more_hint(len(nodes), "runs", limit))


def _status(text: str) -> str:
    if text.upper() not in STATUSES:
        raise InputError(f"--status must be one of {', '.join(STATUSES)} (got {text!r})")
    return text.upper()


def _run_json(node: JsonObject) -> JsonObject:
    return {
        "id": node["id"],
        "name": node["name"],
        "pipeline_name": node["pipeline"]["name"],
        "status": node["status"],
        "started_at": iso(node["startedAt"]),
        "ended_at": iso(node["endedAt"]),
        "duration_seconds": _seconds(node["startedAt"], node["endedAt"]),
        "error": node["error"],
    }


@app.command("show")
def show_run(
    name_id_or_prefix: Annotated[
        str,
        typer.Argument(
            metavar="RUN",
            help="A run's id, its name, or a prefix of its id that only it has (`runs list`).",
        ),
    ],
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Show a run and its steps: status, duration, where a cached step came from, inputs and
    outputs. RUN is the run's id, its name, or a unique prefix of its id; an ambiguous prefix
    lists the runs it matches."""
    with cli_errors():
        announce(url, as_json=as_json)
        client = make_client(url, token, reads=True)
        run_id = client.resolve_run_id(name_id_or_prefix)
        run = client.execute(ops.CLI_SHOW_RUN, {"id": run_id})["pipelineRun"]
        if run is None:
            raise NotFoundError(
                f"no pipeline run has id {run_id!r}; `lineageql runs list` shows the ids"
            )
    if as_json:
        print_json({**_run_json(run), "steps": [_step_json(step) for step in run["steps"]]})
        return
    out = console()
    out.print(f"{run['name']}  ({run['id']})", markup=False, style="bold")
    length = duration(run["startedAt"], run["endedAt"], run["status"])
    out.print(
        f"pipeline: {run['pipeline']['name']}   status: {run['status']}   "
        f"started: {when(run['startedAt'])} UTC   duration: {length}",
        markup=False,
    )
    if run["error"]:
        out.print(f"error: {_first_line(run['error'])}", markup=False)
    if not run["steps"]:
        out.print("No steps.", markup=False)
        return
    grid = table("step", "status", "duration", "inputs", "outputs", "notes")
    for step in run["steps"]:
        add_row(
            grid,
            step["name"],
            step["status"],
            duration(step["startedAt"], step["endedAt"], step["status"]),
            _versions(step["inputs"]),
            _versions(step["outputs"]),
            _note(step),
        )
    out.print(grid)


def _versions(edges: list[JsonObject]) -> str:
    """`name:version` per line."""
    items = [f"{e['artifactVersion']['name']}:{e['artifactVersion']['version']}" for e in edges]
    return "\n".join(items) or "-"


def _note(step: JsonObject) -> str:
    original = step["originalStepRun"]
    if step["status"] == "CACHED" and original is not None:
        return f"cached from {original['run']['name']}"
    if step["error"]:
        return f"error: {_first_line(step['error'])}"
    return ""


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else ""


def _step_json(step: JsonObject) -> JsonObject:
    original = step["originalStepRun"]

    def edges(key: str) -> list[JsonObject]:
        return [
            {
                "name": e["name"],
                "artifact_name": e["artifactVersion"]["name"],
                "version": e["artifactVersion"]["version"],
                "artifact_version_id": e["artifactVersion"]["id"],
            }
            for e in step[key]
        ]

    return {
        "id": step["id"],
        "name": step["name"],
        "status": step["status"],
        "started_at": iso(step["startedAt"]),
        "ended_at": iso(step["endedAt"]),
        "duration_seconds": _seconds(step["startedAt"], step["endedAt"]),
        "cached_from": None
        if original is None
        else {
            "step_run_id": original["id"],
            "run_id": original["run"]["id"],
            "run_name": original["run"]["name"],
        },
        "cache_reason": step["cacheReason"],
        "error": step["error"],
        "inputs": edges("inputs"),
        "outputs": edges("outputs"),
    }


@app.command("reap")
def reap_runs(
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Record runs whose process stopped sending heartbeats (killed, lost) as ABANDONED, with
    their open steps. Listing or showing runs does it too; this does it now."""
    with cli_errors():
        client = make_client(url, token)
        reaped = client.execute(ops.REAP_ABANDONED_RUNS)["reapAbandonedRuns"]
    if as_json:
        print_json([_run_json(node) for node in reaped])
        return
    out = console()
    if not reaped:
        out.print("No run to reap: every RUNNING run is sending heartbeats.", markup=False)
        return
    for node in reaped:
        out.print(
            f"{node['name']} ({node['id']}, pipeline {node['pipeline']['name']}): ABANDONED — "
            f"{_first_line(node['error'] or '')}",
            markup=False,
        )
