"""`lineageql runs list`, `lineageql runs show RUN` (an id, a name or a unique id prefix) and
`lineageql runs reap`: pipeline runs and their steps."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from sdk.cli.artifacts import LimitOption, add_row, iso, more_hint, table, when
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
from sdk.cli.metadata import DescOption, SortOption, WhereOption, sort_by, where_filters
from sdk.client.openlineage import OpenLineageRun
from sdk.client.views import ArtifactVersion, PipelineRun, StepRun, parse_time
from sdk.errors import InputError
from sdk.types import JsonObject

app = typer.Typer(help="Pipeline runs.", no_args_is_help=True)
STATUSES = ("RUNNING", "COMPLETED", "FAILED", "CACHED", "ABANDONED")


def duration(started: datetime | str | None, ended: datetime | str | None, status: str) -> str:
    """`850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`; `running` while it runs."""
    start, end = _time(started), _time(ended)
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


def _time(value: datetime | str | None) -> datetime | None:
    return value if isinstance(value, datetime) or value is None else parse_time(value)


def _seconds(started: datetime | str | None, ended: datetime | str | None) -> float | None:
    start, end = _time(started), _time(ended)
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
    where: WhereOption = None,
    sort: SortOption = None,
    desc: DescOption = False,
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
        filters, order = where_filters(where), sort_by(sort, desc)
        announce(url, as_json=as_json)
        client = make_client(url, token, reads=True)
        if pipeline is not None:
            client.get_pipeline(pipeline)  # NotFoundError naming it, rather than an empty list
        found = client.list_pipeline_runs(
            pipeline_name=pipeline,
            status=wanted,
            limit=limit + 1,
            with_steps=False,
            metadata=filters,
            sort_by=order,
        )
    runs, more = found[:limit], len(found) > limit
    if as_json:
        print_json([_run_json(run) for run in runs])
        return
    out = console()
    if not runs:
        out.print("No pipeline runs match.", markup=False)
        return
    grid = table("id", "name", "pipeline", "status", "started (UTC)", "duration")
    ids = short_ids([run.id for run in runs], width=out.width, wide=wide)
    if wide:
        out.width = max(out.width, 100_000)  # whole ids on one line; the terminal wraps rows
    for run in runs:
        add_row(
            grid,
            ids[run.id],
            run.name,
            _pipeline(run),
            run.status,
            when(run.started_at),
            duration(run.started_at, run.ended_at, run.status),
        )
    out.print(grid)
    if more:
        out.print(more_hint(len(runs), "runs", limit))


def _pipeline(run: PipelineRun) -> str:
    """The pipeline's name, marked when another tool's OpenLineage events made the run."""
    if run.openlineage is None:
        return run.pipeline_name
    return f"{run.pipeline_name} {run.openlineage.label}"


def _status(text: str) -> str:
    if text.upper() not in STATUSES:
        raise InputError(f"--status must be one of {', '.join(STATUSES)} (got {text!r})")
    return text.upper()


def _run_json(run: PipelineRun) -> JsonObject:
    return {
        "id": run.id,
        "name": run.name,
        "pipeline_name": run.pipeline_name,
        "status": run.status,
        "started_at": iso(run.started_at),
        "ended_at": iso(run.ended_at),
        "duration_seconds": _seconds(run.started_at, run.ended_at),
        "error": run.error,
        "openlineage": None if run.openlineage is None else run.openlineage.to_dict(),
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
        run = client.get_pipeline_run(client.resolve_run_id(name_id_or_prefix))
        steps = list(run.steps.values())
    if as_json:
        print_json({**_run_json(run), "steps": [_step_json(step) for step in steps]})
        return
    out = console()
    out.print(f"{run.name}  ({run.id})", markup=False, style="bold")
    length = duration(run.started_at, run.ended_at, run.status)
    out.print(
        f"pipeline: {run.pipeline_name}   status: {run.status}   "
        f"started: {when(run.started_at)} UTC   duration: {length}",
        markup=False,
    )
    if run.error:
        out.print(f"error: {_first_line(run.error)}", markup=False)
    if run.openlineage is not None:
        out.print(_origin(run.openlineage), markup=False)
    if not steps:
        out.print("No steps.", markup=False)
        return
    grid = table("step", "status", "duration", "inputs", "outputs", "notes")
    for step in steps:
        add_row(
            grid,
            step.name,
            step.status,
            duration(step.started_at, step.ended_at, step.status),
            _versions(step.inputs),
            _versions(step.outputs),
            _note(step),
        )
    out.print(grid)


def _versions(versions: dict[str, ArtifactVersion]) -> str:
    """`name:version` per line."""
    return "\n".join(f"{v.name}:{v.version}" for v in versions.values()) or "-"


def _origin(origin: OpenLineageRun) -> str:
    """`[OpenLineage: spark 1.23.0] job spark/orders, 2 events, last COMPLETE at ...`."""
    count = f"{origin.event_count} event{'s' if origin.event_count != 1 else ''}"
    return (
        f"{origin.label} job {origin.namespace}/{origin.job}, {count}, "
        f"last {origin.last_event_type} at {when(origin.last_event_time)} UTC"
    )


def _note(step: StepRun) -> str:
    notes = [step.openlineage.label] if step.openlineage is not None else []
    if step.status == "CACHED" and step.original_run_name is not None:
        notes.append(f"cached from {step.original_run_name}")
    elif step.error:
        notes.append(f"error: {_first_line(step.error)}")
    return "\n".join(notes)


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else ""


def _step_json(step: StepRun) -> JsonObject:
    def edges(versions: dict[str, ArtifactVersion]) -> list[JsonObject]:
        return [
            {
                "name": name,
                "artifact_name": v.name,
                "version": v.version,
                "artifact_version_id": v.id,
            }
            for name, v in versions.items()
        ]

    return {
        "id": step.id,
        "name": step.name,
        "status": step.status,
        "started_at": iso(step.started_at),
        "ended_at": iso(step.ended_at),
        "duration_seconds": _seconds(step.started_at, step.ended_at),
        "cached_from": None
        if step.original_step_run_id is None
        else {
            "step_run_id": step.original_step_run_id,
            "run_id": step.original_run_id,
            "run_name": step.original_run_name,
        },
        "cache_reason": step.cache_reason,
        "error": step.error,
        "inputs": edges(step.inputs),
        "outputs": edges(step.outputs),
        "openlineage": None if step.openlineage is None else step.openlineage.to_dict(),
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
        reaped = client.reap_abandoned_runs()
    if as_json:
        print_json([_run_json(run) for run in reaped])
        return
    out = console()
    if not reaped:
        out.print("No run to reap: every RUNNING run is sending heartbeats.", markup=False)
        return
    for run in reaped:
        out.print(
            f"{run.name} ({run.id}, pipeline {run.pipeline_name}): ABANDONED — "
            f"{_first_line(run.error or '')}",
            markup=False,
        )
