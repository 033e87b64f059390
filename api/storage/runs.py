"""Pipelines, pipeline runs and step runs, with the input/output edges lineage walks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, func, insert, literal, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import BadUserInput, Conflict, NotFound
from api.storage import cache, prune
from api.storage.artifacts import (
    NewVersion,
    create_version,
    validate_name,
    version_tags,
)
from api.storage.base import new_id, utcnow
from api.storage.models import (
    ArtifactVersion,
    Pipeline,
    PipelineRun,
    RunStatus,
    StepInput,
    StepOutput,
    StepRun,
)

# Opening and closing runs and steps are Core statements that read and write exactly the columns
# needed (no unit of work, no identity map); the rows they hand back are instances of the mapped
# classes built from those columns, never added to a session.
_PIPELINES = cast(Table, Pipeline.__table__)
_RUNS = cast(Table, PipelineRun.__table__)
_STEPS = cast(Table, StepRun.__table__)
_INPUTS = cast(Table, StepInput.__table__)
_OUTPUTS = cast(Table, StepOutput.__table__)
_INSERT_PIPELINE = insert(_PIPELINES)
_INSERT_RUN = insert(_RUNS)
_INSERT_STEP = insert(_STEPS)
_INSERT_INPUTS = insert(_INPUTS)
_INSERT_OUTPUTS = insert(_OUTPUTS)
_PIPELINE_ID = select(_PIPELINES.c.id).where(_PIPELINES.c.name == bindparam("name"))
_RUN_NAMED = select(_RUNS.c.id).where(_RUNS.c.name == bindparam("name"))
_RUN_BY_ID = select(_RUNS).where(_RUNS.c.id == bindparam("id"))
# The run a step opens in, and whether the run has a step of that name already: one row.
_RUN_FOR_STEP = select(
    _RUNS.c.name,
    _RUNS.c.status,
    _RUNS.c.pipeline_id,
    select(_STEPS.c.id)
    .where(_STEPS.c.run_id == _RUNS.c.id, _STEPS.c.name == bindparam("name"))
    .limit(1)
    .scalar_subquery()
    .label("taken"),
).where(_RUNS.c.id == bindparam("run_id"))
# Closes a RUNNING step run; no row when there is no such step or it is no longer RUNNING.
_CLOSE_STEP = (
    update(_STEPS)
    .where(_STEPS.c.id == bindparam("step_id"), _STEPS.c.status == RunStatus.RUNNING)
    .values(
        status=bindparam("new_status"),
        error=bindparam("new_error"),
        ended_at=bindparam("ended"),
    )
    .returning(*_STEPS.c)
)
_STEP_BY_ID = select(_STEPS.c.name, _STEPS.c.status).where(_STEPS.c.id == bindparam("id"))
_OPEN_STEP = (
    select(_STEPS.c.name)
    .where(_STEPS.c.run_id == bindparam("run_id"), _STEPS.c.status == RunStatus.RUNNING)
    .limit(1)
)
_CLOSE_RUN = (
    update(_RUNS)
    .where(_RUNS.c.id == bindparam("run_id"))
    .values(
        status=bindparam("new_status"), error=bindparam("new_error"), ended_at=bindparam("ended")
    )
)

LEASE_INTERVALS = 4  # heartbeat intervals without a heartbeat before a run is ABANDONED
MIN_HEARTBEAT = 0.05
MAX_HEARTBEAT = 86_400.0


@dataclass(frozen=True)
class NewStepRun:
    run_id: str
    name: str
    parameters: dict[str, Any] = field(default_factory=dict)
    code_hash: str | None = None
    cache_key: str | None = None
    cache_components: dict[str, Any] | None = None
    use_cache: bool = False
    cache_off_reason: str | None = None  # why the caller did not ask for a cache lookup
    inputs: Sequence[tuple[str, str]] = ()  # (input name, artifact version id)


@dataclass(frozen=True)
class StepResult:
    step_run_id: str
    status: RunStatus
    error: str | None = None
    outputs: Sequence[tuple[str, NewVersion]] = ()  # (output name, version to register)


@dataclass(frozen=True)
class RunFilter:
    pipeline_name: str | None = None
    status: RunStatus | None = None
    name: str | None = None
    id_prefix: str | None = None


@dataclass(frozen=True)
class StepFilter:
    name: str | None = None
    status: RunStatus | None = None
    run_id: str | None = None
    pipeline_name: str | None = None


def step_runs_stmt(flt: StepFilter | None) -> Select[StepRun]:
    stmt = select(StepRun)
    if flt is None:
        return stmt
    if flt.name is not None:
        stmt = stmt.where(StepRun.name == flt.name)
    if flt.status is not None:
        stmt = stmt.where(StepRun.status == flt.status)
    if flt.run_id is not None:
        stmt = stmt.where(StepRun.run_id == flt.run_id)
    if flt.pipeline_name is not None:
        stmt = stmt.where(
            StepRun.run_id.in_(
                select(PipelineRun.id).join(Pipeline).where(Pipeline.name == flt.pipeline_name)
            )
        )
    return stmt


async def get_pipeline(session: AsyncSession, name: str) -> Pipeline | None:
    return await session.scalar(select(Pipeline).where(Pipeline.name == name))


def pipelines_stmt() -> Select[Pipeline]:
    return select(Pipeline)


def runs_stmt(flt: RunFilter | None, pipeline_id: str | None = None) -> Select[PipelineRun]:
    stmt = select(PipelineRun)
    if pipeline_id is not None:
        stmt = stmt.where(PipelineRun.pipeline_id == pipeline_id)
    if flt is not None and flt.pipeline_name is not None:
        stmt = stmt.join(Pipeline).where(Pipeline.name == flt.pipeline_name)
    if flt is not None and flt.status is not None:
        stmt = stmt.where(PipelineRun.status == flt.status)
    if flt is not None and flt.name is not None:
        stmt = stmt.where(PipelineRun.name == flt.name)
    if flt is not None and flt.id_prefix is not None:
        stmt = stmt.where(PipelineRun.id.startswith(flt.id_prefix.lower(), autoescape=True))
    return stmt


async def last_runs(session: AsyncSession, pipeline_ids: Sequence[str]) -> dict[str, PipelineRun]:
    rows = await session.scalars(
        select(PipelineRun)
        .where(PipelineRun.pipeline_id.in_(pipeline_ids))
        .order_by(PipelineRun.started_at.desc(), PipelineRun.id.desc())
    )
    newest: dict[str, PipelineRun] = {}
    for row in rows:
        newest.setdefault(row.pipeline_id, row)
    return newest


async def run_counts(
    session: AsyncSession, pipeline_ids: Sequence[str]
) -> dict[str, dict[str, int]]:
    """Each pipeline's runs counted by status (pipelines without runs are left out)."""
    rows = await session.execute(
        select(PipelineRun.pipeline_id, PipelineRun.status, func.count())
        .where(PipelineRun.pipeline_id.in_(pipeline_ids))
        .group_by(PipelineRun.pipeline_id, PipelineRun.status)
    )
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for pipeline_id, status, count in rows:
        counts[pipeline_id][status] = int(count)
    return counts


async def steps_of_runs(session: AsyncSession, run_ids: Sequence[str]) -> dict[str, list[StepRun]]:
    rows = await session.scalars(
        select(StepRun).where(StepRun.run_id.in_(run_ids)).order_by(StepRun.started_at, StepRun.id)
    )
    grouped: dict[str, list[StepRun]] = defaultdict(list)
    for row in rows:
        grouped[row.run_id].append(row)
    return grouped


async def edges_of_steps(
    session: AsyncSession, step_ids: Sequence[str], *, outputs: bool
) -> dict[str, list[tuple[str, str]]]:
    """(name, artifact version id) of each step's inputs, or of its outputs."""
    edge = StepOutput if outputs else StepInput
    rows = await session.execute(
        select(edge.step_run_id, edge.name, edge.artifact_version_id)
        .where(edge.step_run_id.in_(step_ids))
        .order_by(edge.name)
    )
    grouped: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for step_id, name, version_id in rows:
        grouped[step_id].append((name, version_id))
    return grouped


async def inputs_and_outputs_of_steps(
    session: AsyncSession, step_ids: Sequence[str]
) -> tuple[dict[str, list[tuple[str, str]]], dict[str, list[tuple[str, str]]]]:
    """`edges_of_steps` of both kinds, inputs then outputs, in one statement."""
    inputs = select(
        literal(0).label("outputs"),
        StepInput.step_run_id,
        StepInput.name,
        StepInput.artifact_version_id,
    ).where(StepInput.step_run_id.in_(step_ids))
    outputs = select(
        literal(1), StepOutput.step_run_id, StepOutput.name, StepOutput.artifact_version_id
    ).where(StepOutput.step_run_id.in_(step_ids))
    both = union_all(inputs, outputs)
    rows = await session.execute(
        both.order_by(both.selected_columns.outputs, both.selected_columns.name)
    )
    grouped: tuple[dict[str, list[tuple[str, str]]], ...] = (defaultdict(list), defaultdict(list))
    for kind, step_id, name, version_id in rows:
        grouped[kind][step_id].append((name, version_id))
    return grouped[0], grouped[1]


async def consumers_of_versions(
    session: AsyncSession, version_ids: Sequence[str]
) -> dict[str, list[StepRun]]:
    rows = await session.execute(
        select(StepInput.artifact_version_id, StepRun)
        .join(StepRun, StepRun.id == StepInput.step_run_id)
        .where(StepInput.artifact_version_id.in_(version_ids))
        .order_by(StepRun.started_at, StepRun.id)
    )
    grouped: dict[str, list[StepRun]] = defaultdict(list)
    for version_id, step in rows:
        grouped[version_id].append(step)
    return grouped


async def create_run(
    session: AsyncSession,
    pipeline_name: str,
    run_name: str | None,
    heartbeat_interval: float | None = None,
) -> PipelineRun:
    validate_name(pipeline_name, "pipeline name")
    pipeline_id = await session.scalar(_PIPELINE_ID, {"name": pipeline_name})
    if pipeline_id is None:
        pipeline_id = new_id()
        await session.execute(
            _INSERT_PIPELINE, {"id": pipeline_id, "name": pipeline_name, "created_at": utcnow()}
        )
    now = utcnow()
    name = run_name or f"{pipeline_name}-{now:%Y_%m_%d-%H_%M_%S_%f}"
    validate_name(name, "run name")
    if await session.scalar(_RUN_NAMED, {"name": name}):
        raise Conflict(f"a pipeline run named {name!r} already exists; choose another run name")
    lease = _lease(heartbeat_interval)
    values: dict[str, Any] = {
        "id": new_id(),
        "pipeline_id": pipeline_id,
        "name": name,
        "status": RunStatus.RUNNING,
        "started_at": now,
        "ended_at": None,
        "error": None,
        "heartbeat_at": None if lease is None else now,
        "lease_expires_at": None if lease is None else now + lease,
    }
    await session.execute(_INSERT_RUN, values)
    return PipelineRun(**values)


def _lease(heartbeat_interval: float | None) -> timedelta | None:
    """How long a run stays RUNNING after a heartbeat: LEASE_INTERVALS heartbeat intervals."""
    if heartbeat_interval is None:
        return None
    if not MIN_HEARTBEAT <= heartbeat_interval <= MAX_HEARTBEAT:
        raise BadUserInput(
            f"heartbeatInterval must be between {MIN_HEARTBEAT} and {MAX_HEARTBEAT} seconds "
            f"(got {heartbeat_interval})"
        )
    return timedelta(seconds=heartbeat_interval * LEASE_INTERVALS)


async def record_heartbeat(session: AsyncSession, run_id: str) -> PipelineRun:
    """Extend a RUNNING run's lease by the length it was given; an ABANDONED run stays so."""
    run = await session.get(PipelineRun, run_id)
    if run is None:
        raise NotFound(f"no pipeline run has id {run_id!r}", id=run_id)
    if run.status == RunStatus.RUNNING and run.heartbeat_at and run.lease_expires_at:
        now = utcnow()
        run.lease_expires_at = now + (run.lease_expires_at - run.heartbeat_at)
        run.heartbeat_at = now
        await session.flush()
    return run


def expired_runs_stmt(now: datetime) -> Select[str]:
    return select(PipelineRun.id).where(
        PipelineRun.status == RunStatus.RUNNING, PipelineRun.lease_expires_at < now
    )


_EARLIEST_LEASE_END = select(func.min(PipelineRun.lease_expires_at)).where(
    PipelineRun.status == RunStatus.RUNNING
)


async def earliest_lease_end(session: AsyncSession) -> datetime | None:
    """When the first lease of a RUNNING run ends (past: a sweep is due); None without one."""
    found: datetime | None = await session.scalar(_EARLIEST_LEASE_END)
    return found


async def abandon_expired(session: AsyncSession) -> list[PipelineRun]:
    """Record every RUNNING run whose heartbeats stopped (and its open step runs) ABANDONED,
    with the reason; returns those runs. Their outputs were never registered, and nothing is
    cached from an abandoned step run (only COMPLETED ones are)."""
    now = utcnow()
    ids = list(await session.scalars(expired_runs_stmt(now).with_for_update()))
    if not ids:
        return []
    abandoned = list(await session.scalars(select(PipelineRun).where(PipelineRun.id.in_(ids))))
    for run in abandoned:
        last = run.heartbeat_at.isoformat(timespec="seconds") if run.heartbeat_at else "never"
        run.status = RunStatus.ABANDONED
        run.ended_at = now
        run.error = (
            f"ABANDONED: no heartbeat from the process running it since {last} (its lease "
            f"ended {run.lease_expires_at:%Y-%m-%d %H:%M:%S} UTC); it was killed or lost"
        )
    await session.execute(
        update(StepRun)
        .where(StepRun.run_id.in_(ids), StepRun.status == RunStatus.RUNNING)
        .values(
            status=RunStatus.ABANDONED,
            ended_at=now,
            error="ABANDONED: the pipeline run stopped sending heartbeats while this step ran",
        )
    )
    await session.flush()
    return abandoned


async def _require_running_run(session: AsyncSession, run_id: str) -> PipelineRun:
    row = (await session.execute(_RUN_BY_ID, {"id": run_id})).first()
    if row is None:
        raise NotFound(f"no pipeline run has id {run_id!r}", id=run_id)
    if row.status != RunStatus.RUNNING:
        raise Conflict(f"pipeline run {row.name!r} is already {row.status}; start a new run")
    return PipelineRun(**row._mapping)


@dataclass(frozen=True)
class StartedStep:
    """A step run just opened: RUNNING, or CACHED with what the answer shows of the hit (the
    original step run, its pipeline run, the outputs reused and their tags)."""

    step: StepRun
    outputs: list[tuple[str, ArtifactVersion]] = field(default_factory=list)
    original: StepRun | None = None
    original_run: PipelineRun | None = None
    output_tags: dict[str, list[str]] = field(default_factory=dict)


async def start_step(
    session: AsyncSession, new: NewStepRun, exists: cache.UriExists
) -> StartedStep:
    """Open a step run, or, on a cache hit, record it as CACHED with the original's outputs."""
    run = (await session.execute(_RUN_FOR_STEP, {"run_id": new.run_id, "name": new.name})).first()
    if run is None:
        raise NotFound(f"no pipeline run has id {new.run_id!r}", id=new.run_id)
    if run.status != RunStatus.RUNNING:
        raise Conflict(f"pipeline run {run.name!r} is already {run.status}; start a new run")
    if run.taken is not None:
        raise Conflict(f"this run already has a step named {new.name!r}")
    # Refuses versions that do not exist or whose data was pruned, and locks the others.
    await prune.lock_inputs(session, [vid for _, vid in new.inputs], new.name)
    found_cache = await _cache_lookup(session, new, run.pipeline_id, exists)
    hit = found_cache.hit
    now = utcnow()
    values: dict[str, Any] = {
        "id": new_id(),
        "run_id": new.run_id,
        "name": new.name,
        "status": RunStatus.RUNNING if hit is None else RunStatus.CACHED,
        "parameters": new.parameters,
        "code_hash": new.code_hash,
        "cache_key": new.cache_key,
        "cache_components": new.cache_components,
        "cache_reason": found_cache.reason,
        "original_step_run_id": None if hit is None else hit.original.id,
        "started_at": now,
        "ended_at": None if hit is None else now,
        "error": None,
    }
    await session.execute(_INSERT_STEP, values)
    step_id = values["id"]
    if new.inputs:
        await session.execute(
            _INSERT_INPUTS,
            [
                {
                    "step_run_id": step_id,
                    "name": name,
                    "artifact_version_id": vid,
                    "created_at": now,
                }
                for name, vid in new.inputs
            ],
        )
    step = StepRun(**values)
    if hit is None:
        return StartedStep(step)
    if hit.outputs:
        await session.execute(
            _INSERT_OUTPUTS,
            [
                {
                    "step_run_id": step_id,
                    "name": name,
                    "artifact_version_id": v.id,
                    "created_at": now,
                }
                for name, v in hit.outputs
            ],
        )
    # The tags of the outputs, for the answer: read in this transaction rather than after it.
    tags = await version_tags(session, [v.id for _, v in hit.outputs]) if hit.outputs else {}
    return StartedStep(
        step, outputs=hit.outputs, original=hit.original, original_run=hit.run, output_tags=tags
    )


async def _cache_lookup(
    session: AsyncSession, new: NewStepRun, pipeline_id: str, exists: cache.UriExists
) -> cache.Lookup:
    if new.cache_key is None:
        return cache.Lookup(None, new.cache_off_reason or "no cache key")
    if not new.use_cache:
        return cache.Lookup(None, new.cache_off_reason or "caching is disabled")
    return await cache.lookup(
        session,
        cache_key=new.cache_key,
        pipeline_id=pipeline_id,
        step_name=new.name,
        components=new.cache_components,
        exists=exists,
    )


@dataclass(frozen=True)
class FinishedStep:
    step: StepRun
    outputs: list[tuple[str, ArtifactVersion]]  # (output name, the version registered)


def _finish_refusal(result: StepResult) -> Callable[[str], str] | None:
    """Why these results cannot close a step run (given the step's name), or None."""
    if result.status not in (RunStatus.COMPLETED, RunStatus.FAILED):
        return lambda _: "a step run finishes as COMPLETED or FAILED"
    if result.status == RunStatus.FAILED and result.outputs:
        return lambda _: "a FAILED step run registers no outputs"
    names = [name for name, _ in result.outputs]
    if len(set(names)) != len(names):
        return lambda step: f"output names of step {step!r} repeat: {names}"
    return None


async def finish_step(session: AsyncSession, result: StepResult) -> FinishedStep:
    """Close a step run; on COMPLETED register its outputs, all in the caller's transaction.

    One UPDATE … RETURNING closes the step if it is RUNNING (and locks its row); only when it
    closes nothing, or the results are refused, is the step read to say why (a missing step
    first, then one already finished, then the results)."""
    refusal = _finish_refusal(result)
    closed = None
    if refusal is None:
        values = {
            "step_id": result.step_run_id,
            "new_status": result.status,
            "new_error": result.error,
            "ended": utcnow(),
        }
        closed = (await session.execute(_CLOSE_STEP, values)).first()
    if closed is None:
        found = (await session.execute(_STEP_BY_ID, {"id": result.step_run_id})).first()
        if found is None:
            raise NotFound(f"no step run has id {result.step_run_id!r}", id=result.step_run_id)
        if found.status != RunStatus.RUNNING:
            raise Conflict(f"step run {found.name!r} is already {found.status}")
        assert refusal is not None  # a RUNNING step the UPDATE above found
        raise BadUserInput(refusal(found.name))
    step = StepRun(**closed._mapping)
    registered = []
    edges = []
    for name, new in result.outputs:
        version = await create_version(session, replace(new, producer_step_run_id=step.id))
        registered.append((name, version))
        edges.append(
            {
                "step_run_id": step.id,
                "name": name,
                "artifact_version_id": version.id,
                "created_at": utcnow(),
            }
        )
    if edges:
        await session.execute(_INSERT_OUTPUTS, edges)
    return FinishedStep(step, registered)


async def finish_run(
    session: AsyncSession, run_id: str, status: RunStatus, error: str | None
) -> PipelineRun:
    if status not in (RunStatus.COMPLETED, RunStatus.FAILED):
        raise BadUserInput("a pipeline run finishes as COMPLETED or FAILED")
    run = await _require_running_run(session, run_id)
    open_steps = await session.scalar(_OPEN_STEP, {"run_id": run_id})
    if open_steps is not None:
        raise Conflict(f"step {open_steps!r} of run {run.name!r} is still RUNNING; finish it first")
    run.status = status
    run.error = error
    run.ended_at = utcnow()
    values = {"run_id": run_id, "new_status": status, "new_error": error, "ended": run.ended_at}
    await session.execute(_CLOSE_RUN, values)
    return run
