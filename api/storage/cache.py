"""Step cache: find an earlier step run that really executed with the same cache key and whose
outputs still exist, or say why there is none (the first component that changed)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.storage.models import ArtifactVersion, PipelineRun, RunStatus, StepOutput, StepRun

CANDIDATES = 5  # newest runs with the key that are tried before giving up

UriExists = Callable[[str], Awaitable[bool]]


# The statements of a lookup, built once (one runs for every step run with caching on).
_CANDIDATES = (
    select(StepRun, PipelineRun)
    .join(PipelineRun, PipelineRun.id == StepRun.run_id)
    .where(StepRun.cache_key == bindparam("cache_key"), StepRun.status == RunStatus.COMPLETED)
    .order_by(StepRun.started_at.desc())
    .limit(CANDIDATES)
)
_OUTPUTS = (
    select(StepOutput.name, ArtifactVersion)
    .join(ArtifactVersion, ArtifactVersion.id == StepOutput.artifact_version_id)
    .where(StepOutput.step_run_id == bindparam("step_id"))
    .order_by(StepOutput.name)
)
_PREVIOUS = (
    select(StepRun.cache_components)
    .join(PipelineRun, PipelineRun.id == StepRun.run_id)
    .where(
        PipelineRun.pipeline_id == bindparam("pipeline_id"),
        StepRun.name == bindparam("step_name"),
        StepRun.status.in_([RunStatus.COMPLETED, RunStatus.CACHED]),
        StepRun.cache_components.is_not(None),
    )
    .order_by(StepRun.started_at.desc())
    .limit(1)
)


@dataclass(frozen=True)
class Hit:
    original: StepRun
    run_name: str
    outputs: list[tuple[str, ArtifactVersion]]
    run: PipelineRun  # the original's pipeline run


@dataclass(frozen=True)
class Lookup:
    hit: Hit | None
    reason: str


async def lookup(
    session: AsyncSession,
    *,
    cache_key: str,
    pipeline_id: str,
    step_name: str,
    components: dict[str, Any] | None,
    exists: UriExists,
) -> Lookup:
    """A hit, or the reason for the miss."""
    rows = await session.execute(_CANDIDATES, {"cache_key": cache_key})
    missing: str | None = None
    for original, run in rows:
        run_name = run.name
        outputs = await _outputs(session, original.id)
        lost = None
        for _, version in outputs:
            if version.data_deleted_at is not None or not await exists(version.uri):
                lost = version.uri
                break
        if lost is None:
            return Lookup(Hit(original, run_name, outputs, run), f"cached from run {run_name!r}")
        missing = missing or (
            f"the cached outputs of run {run_name!r} are missing from the artifact store "
            f"({lost}); executing again"
        )
    if missing is not None:
        return Lookup(None, missing)
    previous = await _previous(session, pipeline_id, step_name)
    return Lookup(None, miss_reason(previous, components))


async def _outputs(session: AsyncSession, step_id: str) -> list[tuple[str, ArtifactVersion]]:
    rows = await session.execute(_OUTPUTS, {"step_id": step_id})
    return [(name, version) for name, version in rows]


async def _previous(
    session: AsyncSession, pipeline_id: str, step_name: str
) -> dict[str, Any] | None:
    """Cache components of the newest earlier run of this step in this pipeline."""
    return await session.scalar(_PREVIOUS, {"pipeline_id": pipeline_id, "step_name": step_name})


SINGLE = (
    ("format", "the cache format of the library changed"),
    ("code", "code changed"),
    ("materializers", "a materializer's code changed"),
    ("outputs", "output configuration changed"),
)


def miss_reason(previous: dict[str, Any] | None, current: dict[str, Any] | None) -> str:
    """The first component of the key that differs from the previous run of the step."""
    if current is None:
        return "no cache key"
    if previous is None:
        return "no earlier run of this step to reuse"
    for key, reason in SINGLE[:2]:
        if previous.get(key) != current.get(key):
            return reason
    for group, noun in (("parameters", "parameter"), ("inputs", "input")):
        changed = _changed(previous.get(group) or {}, current.get(group) or {})
        if changed:
            return f"{noun} {changed!r} changed"
    for key, reason in SINGLE[2:]:
        if previous.get(key) != current.get(key):
            return reason
    return "no earlier run with this cache key completed"


def _changed(before: dict[str, Any], now: dict[str, Any]) -> str | None:
    names: Sequence[str] = sorted(set(before) | set(now))
    return next((name for name in names if before.get(name) != now.get(name)), None)
