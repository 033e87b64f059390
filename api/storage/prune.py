"""Pruning: which versions no step run produced or consumed, marking their data deleted, and
deleting their metadata (with any artifact left without a version).

Every change locks the versions first (`FOR UPDATE` on PostgreSQL; SQLite writers are serialised)
and only then checks whether a run references them, in a new statement. A step run that takes a
version as input locks it `FOR SHARE` (see `lock_inputs`), so the two queue: the check either
sees the committed input edge and leaves the version alone, or the step run sees the mark and is
refused. A marked version is never used again, so its data can go without a run losing it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import ColumnElement, Table, bindparam, delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Conflict, NotFound
from api.storage.base import utcnow
from api.storage.models import (
    Artifact,
    ArtifactAlias,
    ArtifactVersion,
    PipelineRun,
    StepInput,
    StepOutput,
    StepRun,
)

MAX_NAMED_RUNS = 5  # runs named in a refusal; the rest are counted


def unused_clause() -> ColumnElement[bool]:
    """True for a version that no step run produced or consumed and no alias points at."""
    return (
        ArtifactVersion.producer_step_run_id.is_(None)
        & ~exists().where(StepInput.artifact_version_id == ArtifactVersion.id)
        & ~exists().where(StepOutput.artifact_version_id == ArtifactVersion.id)
        & ~exists().where(ArtifactAlias.artifact_version_id == ArtifactVersion.id)
    )


@dataclass(frozen=True)
class RunUse:
    """A step run that produced or consumed a version."""

    run_name: str
    step_name: str
    role: str  # "produced" or "consumed"


@dataclass(frozen=True)
class DeletedVersion:
    id: str
    name: str
    version: str
    uri: str
    source: str


@dataclass
class Outcome:
    """What a batch call did: the versions it changed, those a run uses, those not found."""

    done: list[DeletedVersion] = field(default_factory=list)
    in_use: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    removed_artifacts: list[str] = field(default_factory=list)


async def _lock(session: AsyncSession, ids: Sequence[str]) -> list[ArtifactVersion]:
    """The versions with these ids, locked for update, in id order (no deadlocks between two
    prunes), reloaded so that a mark committed meanwhile is seen."""
    rows = await session.scalars(
        select(ArtifactVersion)
        .where(ArtifactVersion.id.in_(sorted(set(ids))))
        .order_by(ArtifactVersion.id)
        .with_for_update(of=ArtifactVersion)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def _used(session: AsyncSession, ids: Sequence[str]) -> set[str]:
    """Of these (locked) versions, those a step run produced or consumed."""
    if not ids:
        return set()
    rows = await session.scalars(
        select(ArtifactVersion.id).where(ArtifactVersion.id.in_(ids), ~unused_clause())
    )
    return set(rows)


def _summary(row: ArtifactVersion) -> DeletedVersion:
    return DeletedVersion(
        id=row.id, name=row.artifact.name, version=row.version, uri=row.uri, source=row.source
    )


async def mark_data_deleted(session: AsyncSession, ids: Sequence[str]) -> Outcome:
    """Mark the unused versions among `ids` as data-deleted (a mark already set stays); from
    then on no step run may consume them and loading them says their data was pruned."""
    rows = await _lock(session, ids)
    outcome = Outcome(missing=_missing(ids, rows))
    used = await _used(session, [row.id for row in rows])
    now = utcnow()
    marked = [row for row in rows if row.id not in used]
    unmarked = [row.id for row in marked if row.data_deleted_at is None]
    if unmarked:
        await session.execute(
            update(ArtifactVersion)
            .where(ArtifactVersion.id.in_(unmarked))
            .values(data_deleted_at=now)
            .execution_options(synchronize_session=False)
        )
    outcome.done = [_summary(row) for row in marked]
    outcome.in_use = [row.id for row in rows if row.id in used]
    return outcome


async def delete_versions(session: AsyncSession, ids: Sequence[str]) -> Outcome:
    """Delete the metadata of the unused versions among `ids` (their tags go with them) and
    every artifact of theirs left without a version. Versions a run uses are left alone."""
    rows = await _lock(session, ids)
    outcome = Outcome(missing=_missing(ids, rows))
    used = await _used(session, [row.id for row in rows])
    doomed = [row for row in rows if row.id not in used]
    outcome.done = [_summary(row) for row in doomed]
    outcome.in_use = [row.id for row in rows if row.id in used]
    if doomed:
        await session.execute(
            delete(ArtifactVersion)
            .where(ArtifactVersion.id.in_([row.id for row in doomed]))
            .execution_options(synchronize_session=False)
        )
        for row in doomed:
            session.expunge(row)
        outcome.removed_artifacts = await _remove_empty_artifacts(
            session, {row.artifact_id for row in doomed}
        )
    return outcome


async def _remove_empty_artifacts(session: AsyncSession, artifact_ids: set[str]) -> list[str]:
    """Delete those of these artifacts that have no version left; their names, sorted. Each
    artifact row is locked first, so a version being registered concurrently (which updates that
    row) either commits before the check and keeps the artifact, or waits and creates it anew."""
    locked = await session.execute(
        select(Artifact.id, Artifact.name)
        .where(Artifact.id.in_(sorted(artifact_ids)))
        .order_by(Artifact.id)
        .with_for_update()
    )
    names: dict[str, str] = {aid: name for aid, name in locked}
    empty = [
        aid
        for aid in names
        if not await session.scalar(select(exists().where(ArtifactVersion.artifact_id == aid)))
    ]
    if empty:
        await session.execute(
            delete(Artifact)
            .where(Artifact.id.in_(empty))
            .execution_options(synchronize_session=False)
        )
    return sorted(names[aid] for aid in empty)


def _missing(ids: Sequence[str], rows: Sequence[ArtifactVersion]) -> list[str]:
    found = {row.id for row in rows}
    return [vid for vid in dict.fromkeys(ids) if vid not in found]


async def runs_using(session: AsyncSession, version_ids: Sequence[str]) -> dict[str, list[RunUse]]:
    """The step runs (with their pipeline run's name) that produced or consumed each version."""
    uses: dict[str, list[RunUse]] = defaultdict(list)
    for edge, role in ((StepOutput, "produced"), (StepInput, "consumed")):
        rows = await session.execute(
            select(edge.artifact_version_id, PipelineRun.name, StepRun.name)
            .join(StepRun, StepRun.id == edge.step_run_id)
            .join(PipelineRun, PipelineRun.id == StepRun.run_id)
            .where(edge.artifact_version_id.in_(version_ids))
            .order_by(StepRun.started_at, StepRun.id)
        )
        for version_id, run_name, step_name in rows:
            uses[version_id].append(RunUse(run_name, step_name, role))
    return uses


async def delete_version(session: AsyncSession, version_id: str) -> Outcome:
    """Delete one version's metadata; refused with CONFLICT, naming the runs, when a run
    produced or consumed it (nothing is changed then)."""
    outcome = await delete_versions(session, [version_id])
    if outcome.missing:
        raise NotFound(f"no artifact version has id {version_id!r}", id=version_id)
    if outcome.in_use:
        row = await session.get(ArtifactVersion, version_id)
        assert row is not None
        uses = (await runs_using(session, [version_id]))[version_id]
        if not uses:
            raise aliased_error(row, await _aliases(session, version_id))
        raise in_use_error(row, uses)
    return outcome


async def _aliases(session: AsyncSession, version_id: str) -> list[str]:
    return list(
        await session.scalars(
            select(ArtifactAlias.name).where(ArtifactAlias.artifact_version_id == version_id)
        )
    )


def aliased_error(row: ArtifactVersion, aliases: list[str]) -> Conflict:
    named = ", ".join(f"{row.artifact.name}@{alias}" for alias in aliases)
    return Conflict(
        f"artifact version {row.artifact.name}:{row.version} is what {named} points at; move "
        "or remove the alias first",
        reason="ARTIFACT_VERSION_IN_USE",
        aliases=aliases,
    )


def in_use_error(row: ArtifactVersion, uses: Sequence[RunUse]) -> Conflict:
    runs = list(dict.fromkeys(use.run_name for use in uses))
    shown = ", ".join(
        f"{use.run_name!r} (step {use.step_name!r} {use.role} it)"
        for use in _first_per_run(uses)[:MAX_NAMED_RUNS]
    )
    more = f" and {len(runs) - MAX_NAMED_RUNS} more" if len(runs) > MAX_NAMED_RUNS else ""
    return Conflict(
        f"artifact version {row.artifact.name}:{row.version} is referenced by pipeline run(s) "
        f"{shown}{more}; versions a run produced or consumed are kept for its lineage and "
        "cannot be deleted",
        reason="ARTIFACT_VERSION_IN_USE",
        runs=runs,
    )


def _first_per_run(uses: Sequence[RunUse]) -> list[RunUse]:
    first: dict[str, RunUse] = {}
    for use in uses:
        first.setdefault(use.run_name, use)
    return list(first.values())


# Built once (it runs for every step run with inputs), on the tables (no ORM entity is loaded):
# the versions `:ids`, locked FOR SHARE.
_VERSIONS = cast(Table, ArtifactVersion.__table__)
_ARTIFACTS = cast(Table, Artifact.__table__)
_LOCK_INPUTS = (
    select(_VERSIONS.c.id, _VERSIONS.c.version, _VERSIONS.c.data_deleted_at, _ARTIFACTS.c.name)
    .join_from(_VERSIONS, _ARTIFACTS, _ARTIFACTS.c.id == _VERSIONS.c.artifact_id)
    .where(_VERSIONS.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_VERSIONS.c.id)
    .with_for_update(read=True, of=_VERSIONS)
)


async def lock_inputs(session: AsyncSession, version_ids: Sequence[str], step_name: str) -> None:
    """Lock the versions a step run is about to consume (`FOR SHARE`) and refuse any whose data
    was pruned, or that a prune deleted meanwhile."""
    if not version_ids:
        return
    rows = await session.execute(_LOCK_INPUTS, {"ids": sorted(set(version_ids))})
    found = {row.id: row for row in rows}
    gone = [vid for vid in version_ids if vid not in found]
    if gone:
        raise NotFound(f"step {step_name!r} input artifact version(s) not found: {gone}")
    pruned = [found[vid] for vid in dict.fromkeys(version_ids) if found[vid].data_deleted_at]
    if pruned:
        named = ", ".join(f"{row.name}:{row.version}" for row in pruned)
        raise Conflict(
            f"step {step_name!r} cannot consume artifact version(s) {named}: their data was "
            "pruned from the artifact store; use another version, or save the data again as "
            "a new version",
            reason="ARTIFACT_DATA_DELETED",
            versionIds=[row.id for row in pruned],
        )
