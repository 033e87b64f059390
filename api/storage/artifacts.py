"""Artifacts, their versions and tags. Versions are allocated atomically in the registering
transaction: one `UPDATE artifacts … RETURNING` advances the artifact's counters and takes its
row lock, so concurrent writers queue instead of racing (no read-max-then-insert, no retries)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from api.errors import BadUserInput, Conflict
from api.storage.base import new_id, utcnow
from api.storage.models import (
    Artifact,
    ArtifactSource,
    ArtifactTag,
    ArtifactVersion,
    ArtifactVersionTag,
    Tag,
)

TAG_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:/=+@-]{0,127}$")
MAX_NAME = 255


@dataclass(frozen=True)
class NewVersion:
    """What a caller registers: the data is already written completely at `uri`."""

    name: str
    uri: str
    data_type: str
    materializer: str
    version: str | None = None
    content_hash: str | None = None
    size_bytes: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    tags: Sequence[str] = ()
    source: ArtifactSource = ArtifactSource.STEP_OUTPUT
    producer_step_run_id: str | None = None


@dataclass(frozen=True)
class ArtifactFilter:
    name: str | None = None
    name_contains: str | None = None
    tag: str | None = None


@dataclass(frozen=True)
class VersionFilter:
    artifact_name: str | None = None
    tag: str | None = None
    source: ArtifactSource | None = None
    content_hash: str | None = None


def _insert(session: AsyncSession, model: Any) -> Any:
    assert session.bind is not None
    dialect = session.bind.dialect.name
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(model)


def validate_name(name: str, what: str = "artifact name") -> str:
    if not name or name != name.strip() or len(name) > MAX_NAME:
        raise BadUserInput(
            f"invalid {what} {name!r}: it must be 1 to {MAX_NAME} characters "
            "with no leading or trailing whitespace"
        )
    if any(ord(ch) < 32 for ch in name):
        raise BadUserInput(f"invalid {what} {name!r}: control characters are not allowed")
    return name


def validate_custom_version(version: str) -> str:
    validate_name(version, "version")
    if version.isdigit():
        raise BadUserInput(
            f"custom version {version!r} is a number: numbers are reserved for automatic "
            "versions; use a name such as 'raw_2023' or leave the version unset"
        )
    return version


def validate_tag(tag: str) -> str:
    if not TAG_PATTERN.match(tag):
        raise BadUserInput(
            f"invalid tag {tag!r}: use 1 to 128 characters from letters, digits and "
            "_ . : / = + @ -, starting with a letter, digit or _"
        )
    return tag


async def get_artifact(session: AsyncSession, name: str) -> Artifact | None:
    return await session.scalar(select(Artifact).where(Artifact.name == name))


async def find_version(
    session: AsyncSession,
    *,
    id: str | None,
    name: str | None,
    version: str | None,
    as_of: datetime | None = None,
) -> ArtifactVersion | None:
    """By id, by name and version, or by name alone (the latest); as the store stood at
    `as_of` when given (versions created later are invisible)."""
    if id is not None:
        if name is not None or version is not None:
            raise BadUserInput("give either `id`, or `name` with an optional `version`, not both")
        stmt = select(ArtifactVersion).where(ArtifactVersion.id == id)
    elif name is None:
        raise BadUserInput("give `id`, or `name` with an optional `version`")
    else:
        stmt = select(ArtifactVersion).join(Artifact).where(Artifact.name == name)
        if version is not None:
            stmt = stmt.where(ArtifactVersion.version == version)
    if as_of is not None:
        stmt = stmt.where(ArtifactVersion.created_at <= as_of)
    return await session.scalar(stmt.order_by(ArtifactVersion.seq.desc()).limit(1))


async def latest_version(
    session: AsyncSession, artifact_id: str, as_of: datetime | None
) -> ArtifactVersion | None:
    """The newest version of an artifact, as of a moment when given."""
    stmt = select(ArtifactVersion).where(ArtifactVersion.artifact_id == artifact_id)
    if as_of is not None:
        stmt = stmt.where(ArtifactVersion.created_at <= as_of)
    return await session.scalar(stmt.order_by(ArtifactVersion.seq.desc()).limit(1))


def artifacts_stmt(flt: ArtifactFilter | None) -> Select[Artifact]:
    stmt = select(Artifact)
    if flt is None:
        return stmt
    if flt.name is not None:
        stmt = stmt.where(Artifact.name == flt.name)
    if flt.name_contains is not None:
        stmt = stmt.where(Artifact.name.contains(flt.name_contains, autoescape=True))
    if flt.tag is not None:
        stmt = stmt.where(
            Artifact.id.in_(select(ArtifactTag.artifact_id).join(Tag).where(Tag.name == flt.tag))
        )
    return stmt


def versions_stmt(flt: VersionFilter | None) -> Select[ArtifactVersion]:
    stmt = select(ArtifactVersion)
    if flt is None:
        return stmt
    if flt.artifact_name is not None:
        stmt = stmt.join(Artifact).where(Artifact.name == flt.artifact_name)
    if flt.tag is not None:
        stmt = stmt.where(
            ArtifactVersion.id.in_(
                select(ArtifactVersionTag.artifact_version_id).join(Tag).where(Tag.name == flt.tag)
            )
        )
    if flt.source is not None:
        stmt = stmt.where(ArtifactVersion.source == flt.source)
    if flt.content_hash is not None:
        stmt = stmt.where(ArtifactVersion.content_hash == flt.content_hash)
    return stmt


def artifact_versions_stmt(artifact_id: str) -> Select[ArtifactVersion]:
    return select(ArtifactVersion).where(ArtifactVersion.artifact_id == artifact_id)


async def artifact_tags(session: AsyncSession, ids: Sequence[str]) -> dict[str, list[str]]:
    return await _tag_names(session, ArtifactTag.artifact_id, ids)


async def version_tags(session: AsyncSession, ids: Sequence[str]) -> dict[str, list[str]]:
    return await _tag_names(session, ArtifactVersionTag.artifact_version_id, ids)


async def _tag_names(
    session: AsyncSession, owner: InstrumentedAttribute[str], ids: Sequence[str]
) -> dict[str, list[str]]:
    """Tag names of each owner id, through the link table that `owner` belongs to."""
    link = owner.class_
    rows = await session.execute(
        select(owner, Tag.name)
        .join(Tag, Tag.id == link.tag_id)
        .where(owner.in_(ids))
        .order_by(Tag.name)
    )
    return _group(rows)


def _group(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for key, value in pairs:
        grouped[key].append(value)
    return grouped


async def latest_versions(
    session: AsyncSession, artifact_ids: Sequence[str]
) -> dict[str, ArtifactVersion]:
    newest = (
        select(ArtifactVersion.artifact_id, func.max(ArtifactVersion.seq).label("seq"))
        .where(ArtifactVersion.artifact_id.in_(artifact_ids))
        .group_by(ArtifactVersion.artifact_id)
        .subquery()
    )
    rows = await session.scalars(
        select(ArtifactVersion).join(
            newest,
            (ArtifactVersion.artifact_id == newest.c.artifact_id)
            & (ArtifactVersion.seq == newest.c.seq),
        )
    )
    return {row.artifact_id: row for row in rows}


async def version_counts(session: AsyncSession, artifact_ids: Sequence[str]) -> dict[str, int]:
    rows = await session.execute(
        select(ArtifactVersion.artifact_id, func.count())
        .where(ArtifactVersion.artifact_id.in_(artifact_ids))
        .group_by(ArtifactVersion.artifact_id)
    )
    return {aid: int(n) for aid, n in rows}


async def ensure_artifact(session: AsyncSession, name: str) -> Artifact:
    """The artifact called `name`, created if missing (safe under concurrency)."""
    validate_name(name)
    now = utcnow()
    await session.execute(
        _insert(session, Artifact)
        .values(
            id=new_id(), name=name, created_at=now, updated_at=now, version_seq=0, last_number=0
        )
        .on_conflict_do_nothing(index_elements=["name"])
    )
    artifact = await session.scalar(select(Artifact).where(Artifact.name == name))
    assert artifact is not None
    return artifact


async def _allocate(session: AsyncSession, artifact_id: str, *, auto: bool) -> tuple[int, int]:
    """Advance the artifact's counters under its row lock: (seq, last auto number)."""
    row = (
        await session.execute(
            update(Artifact)
            .where(Artifact.id == artifact_id)
            .values(
                version_seq=Artifact.version_seq + 1,
                last_number=Artifact.last_number + (1 if auto else 0),
                updated_at=utcnow(),
            )
            .returning(Artifact.version_seq, Artifact.last_number)
        )
    ).one()
    return int(row[0]), int(row[1])


async def create_version(session: AsyncSession, new: NewVersion) -> ArtifactVersion:
    """Register one version; raises Conflict if a custom version already exists."""
    custom = new.version is not None
    if custom:
        assert new.version is not None
        validate_custom_version(new.version)
    tags = [validate_tag(t) for t in dict.fromkeys(new.tags)]
    artifact = await ensure_artifact(session, new.name)
    artifact_id = artifact.id
    seq, number = await _allocate(session, artifact_id, auto=not custom)
    version = new.version if new.version is not None else str(number)
    if custom and await session.scalar(
        select(ArtifactVersion.id).where(
            ArtifactVersion.artifact_id == artifact_id, ArtifactVersion.version == version
        )
    ):
        raise _exists(new.name, version)
    row = ArtifactVersion(
        artifact=artifact,
        seq=seq,
        version=version,
        is_custom=custom,
        uri=new.uri,
        data_type=new.data_type,
        materializer=new.materializer,
        content_hash=new.content_hash,
        size_bytes=new.size_bytes,
        metadata_=new.metadata,
        source=new.source,
        producer_step_run_id=new.producer_step_run_id,
        created_at=utcnow(),
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent writer took the same custom version
        raise _exists(new.name, version) from exc
    await add_version_tags(session, row.id, tags)
    return row


def _exists(name: str, version: str) -> Conflict:
    return Conflict(
        f"artifact {name!r} already has version {version!r}; choose another version or leave "
        "it unset for the next automatic one",
        reason="ARTIFACT_VERSION_EXISTS",
        artifactName=name,
        version=version,
    )


async def _tag_ids(session: AsyncSession, names: Sequence[str]) -> list[str]:
    if not names:
        return []
    await session.execute(
        _insert(session, Tag)
        .values([{"id": new_id(), "name": n} for n in names])
        .on_conflict_do_nothing(index_elements=["name"])
    )
    return list(await session.scalars(select(Tag.id).where(Tag.name.in_(names))))


async def add_version_tags(session: AsyncSession, version_id: str, names: Sequence[str]) -> None:
    ids = await _tag_ids(session, [validate_tag(n) for n in names])
    if ids:
        await session.execute(
            _insert(session, ArtifactVersionTag)
            .values([{"artifact_version_id": version_id, "tag_id": t} for t in ids])
            .on_conflict_do_nothing()
        )
