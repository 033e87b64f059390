"""Aliases: movable names pointing at one version of an artifact (`my_model@production`).

A move is one transaction under the alias's row (or, for a new alias, its primary key): a
caller that says which version it saw (`expected`) gets CONFLICT, naming the version now
there, when another move came first — two promotions at once: one wins. Every move is recorded
in `artifact_alias_moves`. A protected alias moves only with `force`. `latest` is built in."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api import rules
from api.errors import BadUserInput, Conflict, NotFound
from api.storage.artifacts import get_artifact, latest_version
from api.storage.base import utcnow
from api.storage.models import AliasMove, Artifact, ArtifactAlias, ArtifactVersion

NOT_SET = ""  # `expected` when the caller saw no alias of that name


def check_alias(alias: str) -> str:
    try:
        return rules.check_alias(alias)
    except rules.RuleError as exc:
        raise BadUserInput(str(exc), field="alias") from None


@dataclass(frozen=True)
class Move:
    """What `set_alias`/`remove_alias` did: the alias row (None once removed) and the move."""

    alias: ArtifactAlias | None
    move: AliasMove


async def _artifact(session: AsyncSession, name: str) -> Artifact:
    artifact = await get_artifact(session, name)
    if artifact is None:
        raise NotFound(f"no artifact is named {name!r}", artifactName=name)
    return artifact


async def _current(session: AsyncSession, artifact_id: str, alias: str) -> ArtifactAlias | None:
    stmt = select(ArtifactAlias).where(
        ArtifactAlias.artifact_id == artifact_id, ArtifactAlias.name == alias
    )
    assert session.bind is not None
    if session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def _version_label(session: AsyncSession, version_id: str | None) -> str:
    if version_id is None:
        return "no version (not set)"
    version = await session.scalar(
        select(ArtifactVersion.version).where(ArtifactVersion.id == version_id)
    )
    return repr(version)


async def _check_move(
    session: AsyncSession,
    name: str,
    alias: str,
    current: ArtifactAlias | None,
    expected: str | None,
    force: bool,
) -> None:
    now_at = None if current is None else current.artifact_version_id
    if expected is not None:
        expected_id = None
        if expected != NOT_SET:
            expected_id = await session.scalar(
                select(ArtifactVersion.id)
                .join(Artifact)
                .where(Artifact.name == name, ArtifactVersion.version == expected)
            )
        if expected_id != now_at or (expected != NOT_SET and expected_id is None):
            winner = await _version_label(session, now_at)
            raise Conflict(
                f"alias {name}@{alias} was moved meanwhile: it now points at version {winner}, "
                f"not {expected or 'nothing'!r} as you saw; look again and retry",
                reason="ALIAS_MOVED",
                artifactName=name,
                alias=alias,
            )
    if current is not None and current.protected and not force:
        raise Conflict(
            f"alias {name}@{alias} is protected: move or remove it with force "
            "(`--force`, force=True)",
            reason="ALIAS_PROTECTED",
            artifactName=name,
            alias=alias,
        )


async def _movable(
    session: AsyncSession,
    name: str,
    alias: str,
    expected: str | None,
    force: bool,
    *,
    must_exist: bool = False,
) -> tuple[Artifact, ArtifactAlias | None]:
    """The artifact and its alias row (locked; None when not set), once the move is allowed."""
    check_alias(alias)
    artifact = await _artifact(session, name)
    current = await _current(session, artifact.id, alias)
    if current is None and must_exist:
        raise NotFound(f"artifact {name!r} has no alias {alias!r}", artifactName=name, alias=alias)
    await _check_move(session, name, alias, current, expected, force)
    return artifact, current


async def set_alias(
    session: AsyncSession,
    name: str,
    alias: str,
    version: ArtifactVersion,
    *,
    protected: bool | None = None,
    force: bool = False,
    expected: str | None = None,
    by: str | None = None,
) -> Move:
    """Point `name@alias` at `version` (a version of `name`), recording the move."""
    artifact, current = await _movable(session, name, alias, expected, force)
    if version.artifact_id != artifact.id:
        raise BadUserInput(f"that version belongs to another artifact, not to {name!r}")
    now = utcnow()
    previous = None if current is None else current.artifact_version_id
    if current is None:
        current = ArtifactAlias(
            artifact_id=artifact.id,
            name=alias,
            artifact_version_id=version.id,
            protected=bool(protected),
            updated_at=now,
        )
        session.add(current)
    else:
        current.artifact_version_id = version.id
        current.updated_at = now
        if protected is not None:
            current.protected = protected
    move = AliasMove(
        artifact_id=artifact.id,
        alias=alias,
        from_version_id=previous,
        to_version_id=version.id,
        moved_at=now,
        moved_by=by,
    )
    session.add(move)
    try:
        await session.flush()
    except IntegrityError as exc:  # another writer created the same alias first
        raise Conflict(
            f"alias {name}@{alias} was set by another request at the same time; look again "
            "and retry",
            reason="ALIAS_MOVED",
            artifactName=name,
            alias=alias,
        ) from exc
    return Move(current, move)


async def remove_alias(
    session: AsyncSession,
    name: str,
    alias: str,
    *,
    force: bool = False,
    expected: str | None = None,
    by: str | None = None,
) -> Move:
    artifact, current = await _movable(session, name, alias, expected, force, must_exist=True)
    assert current is not None
    move = AliasMove(
        artifact_id=artifact.id,
        alias=alias,
        from_version_id=current.artifact_version_id,
        to_version_id=None,
        moved_at=utcnow(),
        moved_by=by,
    )
    session.add(move)
    await session.execute(
        delete(ArtifactAlias).where(
            ArtifactAlias.artifact_id == artifact.id, ArtifactAlias.name == alias
        )
    )
    await session.flush()
    return Move(None, move)


async def resolve(session: AsyncSession, name: str, alias: str) -> ArtifactVersion | None:
    """The version `name@alias` points at (`latest`: the newest), or None."""
    artifact = await get_artifact(session, name)
    if artifact is None:
        return None
    if alias == rules.LATEST_ALIAS:
        return await latest_version(session, artifact.id, None)
    return await session.scalar(
        select(ArtifactVersion)
        .join(ArtifactAlias, ArtifactAlias.artifact_version_id == ArtifactVersion.id)
        .where(ArtifactAlias.artifact_id == artifact.id, ArtifactAlias.name == alias)
    )


async def aliases_of_artifacts(
    session: AsyncSession, artifact_ids: Sequence[str]
) -> dict[str, list[ArtifactAlias]]:
    rows = await session.scalars(
        select(ArtifactAlias)
        .where(ArtifactAlias.artifact_id.in_(artifact_ids))
        .order_by(ArtifactAlias.name)
    )
    grouped: dict[str, list[ArtifactAlias]] = defaultdict(list)
    for row in rows:
        grouped[row.artifact_id].append(row)
    return grouped


async def aliases_of_versions(
    session: AsyncSession, version_ids: Sequence[str]
) -> dict[str, list[str]]:
    rows = await session.execute(
        select(ArtifactAlias.artifact_version_id, ArtifactAlias.name)
        .where(ArtifactAlias.artifact_version_id.in_(version_ids))
        .order_by(ArtifactAlias.name)
    )
    grouped: dict[str, list[str]] = defaultdict(list)
    for version_id, alias in rows:
        grouped[version_id].append(alias)
    return grouped


async def history(
    session: AsyncSession, artifact_id: str, alias: str | None = None
) -> list[AliasMove]:
    """The moves of an artifact's aliases (of one alias when given), oldest first."""
    stmt = select(AliasMove).where(AliasMove.artifact_id == artifact_id)
    if alias is not None:
        stmt = stmt.where(AliasMove.alias == alias)
    return list(await session.scalars(stmt.order_by(AliasMove.moved_at, AliasMove.id)))
