"""Pipelines, pipeline runs and step runs, with the input/output edges lineage walks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import BadUserInput, Conflict, NotFound
from api.storage import cache, prune
from api.storage.artifacts import (
    NewVersion,
    create_version,
    validate_name,
)
from api.storage.base import rows_by_id, utcnow
from api.storage.models import (
    ArtifactVersion,
    Pipeline,
    PipelineRun,
    RunStatus,
    StepInput,
    StepOutput,
    StepRun,
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
    pipeline = await get_pipeline(session, pipeline_name)
    if pipeline is None:
        pipeline = Pipeline(name=pipeline_name, created_at=utcnow())
        session.add(pipeline)
        await session.flush()
    now = utcnow()
    name = run_name or f"{pipeline_name}-{now:%Y_%m_%d-%H_%M_%S_%f}"
    validate_name(name, "run name")
    if await session.scalar(select(PipelineRun.id).where(PipelineRun.name == name)):
        raise Conflict(f"a pipeline run named {name!r} already exists; choose another run name")
    lease = _lease(heartbeat_interval)
    run = PipelineRun(
        pipeline_id=pipeline.id,
        name=name,
        status=RunStatus.RUNNING,
        started_at=now,
        heartbeat_at=None if lease is None else now,
        lease_expires_at=None if lease is None else now + lease,
    )
    session.add(run)
    await session.flush()
    return run


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


async def any_expired(session: AsyncSession) -> bool:
    """Whether some RUNNING run's lease has ended (one indexed read: cheap on every listing)."""
    return await session.scalar(expired_runs_stmt(utcnow()).limit(1)) is not None


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
    run = await session.get(PipelineRun, run_id)
    if run is None:
        raise NotFound(f"no pipeline run has id {run_id!r}", id=run_id)
    if run.status != RunStatus.RUNNING:
        raise Conflict(f"pipeline run {run.name!r} is already {run.status}; start a new run")
    return run


async def start_step(session: AsyncSession, new: NewStepRun, exists: cache.UriExists) -> StepRun:
    """Open a step run, or, on a cache hit, record it as CACHED with the original's outputs."""
    run = await _require_running_run(session, new.run_id)
    if await session.scalar(
        select(StepRun.id).where(StepRun.run_id == new.run_id, StepRun.name == new.name)
    ):
        raise Conflict(f"this run already has a step named {new.name!r}")
    version_ids = [vid for _, vid in new.inputs]
    found = await rows_by_id(session, ArtifactVersion, version_ids)
    missing = [vid for vid in version_ids if vid not in found]
    if missing:
        raise NotFound(f"step {new.name!r} input artifact version(s) not found: {missing}")
    await prune.lock_inputs(session, version_ids, new.name)  # refuses pruned data
    found_cache = await _cache_lookup(session, new, run.pipeline_id, exists)
    now = utcnow()
    step = StepRun(
        run_id=new.run_id,
        name=new.name,
        status=RunStatus.RUNNING if found_cache.hit is None else RunStatus.CACHED,
        parameters=new.parameters,
        code_hash=new.code_hash,
        cache_key=new.cache_key,
        cache_components=new.cache_components,
        cache_reason=found_cache.reason,
        original_step_run_id=None if found_cache.hit is None else found_cache.hit.original.id,
        started_at=now,
        ended_at=None if found_cache.hit is None else now,
    )
    session.add(step)
    await session.flush()
    session.add_all(
        StepInput(step_run_id=step.id, name=name, artifact_version_id=vid, created_at=now)
        for name, vid in new.inputs
    )
    if found_cache.hit is not None:
        session.add_all(
            StepOutput(step_run_id=step.id, name=name, artifact_version_id=v.id, created_at=now)
            for name, v in found_cache.hit.outputs
        )
    await session.flush()
    return step


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


async def finish_step(session: AsyncSession, result: StepResult) -> FinishedStep:
    """Close a step run; on COMPLETED register its outputs, all in the caller's transaction."""
    step = await session.get(StepRun, result.step_run_id)
    if step is None:
        raise NotFound(f"no step run has id {result.step_run_id!r}", id=result.step_run_id)
    if step.status != RunStatus.RUNNING:
        raise Conflict(f"step run {step.name!r} is already {step.status}")
    if result.status not in (RunStatus.COMPLETED, RunStatus.FAILED):
        raise BadUserInput("a step run finishes as COMPLETED or FAILED")
    if result.status == RunStatus.FAILED and result.outputs:
        raise BadUserInput("a FAILED step run registers no outputs")
    names = [name for name, _ in result.outputs]
    if len(set(names)) != len(names):
        raise BadUserInput(f"output names of step {step.name!r} repeat: {names}")
    registered = []
    for name, new in result.outputs:
        version = await create_version(
            session,
            replace(new, producer_step_run_id=step.id),
        )
        registered.append((name, version))
        session.add(
            StepOutput(
                step_run_id=step.id, name=name, artifact_version_id=version.id, created_at=utcnow()
            )
        )
    step.status = result.status
    step.error = result.error
    step.ended_at = utcnow()
    await session.flush()
    return FinishedStep(step, registered)


async def finish_run(
    session: AsyncSession, run_id: str, status: RunStatus, error: str | None
) -> PipelineRun:
    if status not in (RunStatus.COMPLETED, RunStatus.FAILED):
        raise BadUserInput("a pipeline run finishes as COMPLETED or FAILED")
    run = await _require_running_run(session, run_id)
    open_steps = await session.scalar(
        select(StepRun.name).where(StepRun.run_id == run_id, StepRun.status == RunStatus.RUNNING)
    )
    if open_steps is not None:
        raise Conflict(f"step {open_steps!r} of run {run.name!r} is still RUNNING; finish it first")
    run.status = status
    run.error = error
    run.ended_at = utcnow()
    await session.flush()
    return run
