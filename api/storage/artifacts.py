"""Artifacts, their versions and tags. Versions are allocated atomically in the registering
transaction: one `UPDATE artifacts … RETURNING` advances the artifact's counters and takes its
row lock, so concurrent writers queue instead of racing (no read-max-then-insert, no retries)."""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, case, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from api import rules
from api.errors import BadUserInput, Conflict, NotFound
from api.rules import RuleError
from api.storage.base import dialect_insert, new_id, utcnow
from api.storage.models import (
    Artifact,
    ArtifactSource,
    ArtifactTag,
    ArtifactVersion,
    ArtifactVersionTag,
    Tag,
)

MAX_NAME = rules.MAX_TEXT
_T = TypeVar("_T")
# A default name is `{pipeline}::{step}::{output}`: two `::` separators. Custom names with two
# `::` count as default ones too (SQL and Python agree: LIKE matches iff count("::") >= 2).
DEFAULT_NAME_LIKE = "%::%::%"


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
    # (type, uri) of each visualization file, which lies inside the version directory `uri`.
    visualizations: Sequence[tuple[str, str]] = ()


@dataclass(frozen=True)
class ArtifactFilter:
    name: str | None = None
    name_contains: str | None = None
    tag: str | None = None
    has_custom_name: bool | None = None  # False: only default names (`pipeline::step::output`)


@dataclass(frozen=True)
class VersionFilter:
    artifact_name: str | None = None
    tag: str | None = None
    source: ArtifactSource | None = None
    content_hash: str | None = None
    unused: bool | None = None  # True: no step run produced or consumed it; False: one did


def _checked(check: Callable[..., _T], *args: object) -> _T:
    """Apply a rule of `api.rules`; a refused value is BAD_USER_INPUT with the rule's message."""
    try:
        return check(*args)
    except RuleError as exc:
        raise BadUserInput(str(exc)) from None


def validate_name(name: str, what: str = "artifact name") -> str:
    return _checked(rules.check_name, name, what)


def validate_custom_version(version: str) -> str:
    """A custom version: any allowed text, digits included (see `api.rules`)."""
    checked = _checked(rules.check_version, version)
    assert checked is not None
    return checked


def validate_visualizations(new: NewVersion) -> list[dict[str, str]] | None:
    """`[{"type", "uri"}]` to store, each uri checked to lie below the version directory."""
    if not new.visualizations:
        return None
    root = posixpath.normpath(new.uri)
    for _, uri in new.visualizations:
        inside = posixpath.normpath(uri).startswith(root.rstrip("/") + "/")
        if not inside or ".." in re.split(r"[/\\]", uri):
            raise BadUserInput(
                f"visualization {uri!r} is not a file inside the version directory {new.uri!r}"
            )
    return [{"type": kind, "uri": uri} for kind, uri in new.visualizations]


def validate_tag(tag: str) -> str:
    return _checked(rules.check_tag, tag)


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


async def version_visualizations(
    session: AsyncSession, version_id: str
) -> tuple[str, list[dict[str, Any]]] | None:
    """(uri, visualizations) of a version, or None when there is no such version."""
    row = (
        await session.execute(
            select(ArtifactVersion.uri, ArtifactVersion.visualizations).where(
                ArtifactVersion.id == version_id
            )
        )
    ).one_or_none()
    return None if row is None else (row[0], list(row[1] or []))


def artifacts_stmt(flt: ArtifactFilter | None) -> Select[Artifact]:
    stmt = select(Artifact)
    if flt is None:
        return stmt
    if flt.name is not None:
        stmt = stmt.where(Artifact.name == flt.name)
    if flt.name_contains is not None:
        stmt = stmt.where(Artifact.name.contains(flt.name_contains, autoescape=True))
    if flt.tag is not None:  # tagged directly, or through one of its versions
        stmt = stmt.where(
            or_(
                Artifact.id.in_(_tagged(ArtifactTag.artifact_id, flt.tag)),
                Artifact.id.in_(
                    select(ArtifactVersion.artifact_id).where(
                        ArtifactVersion.id.in_(
                            _tagged(ArtifactVersionTag.artifact_version_id, flt.tag)
                        )
                    )
                ),
            )
        )
    if flt.has_custom_name is not None:
        default = Artifact.name.like(DEFAULT_NAME_LIKE)
        stmt = stmt.where(~default if flt.has_custom_name else default)
    return stmt


def has_custom_name(name: str) -> bool:
    """False for a default name `{pipeline}::{step}::{output}` (the rule of the SQL filter)."""
    return name.count("::") < 2


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
    if flt.unused is not None:
        from api.storage.prune import unused_clause

        stmt = stmt.where(unused_clause() if flt.unused else ~unused_clause())
    return stmt


def artifact_versions_stmt(artifact_id: str, tag: str | None = None) -> Select[ArtifactVersion]:
    stmt = select(ArtifactVersion).where(ArtifactVersion.artifact_id == artifact_id)
    if tag is not None:
        stmt = stmt.where(
            ArtifactVersion.id.in_(_tagged(ArtifactVersionTag.artifact_version_id, tag))
        )
    return stmt


def _tagged(owner: InstrumentedAttribute[str], tag: str) -> Select[Any]:
    """The owner ids that carry `tag`, through the link table that `owner` belongs to."""
    link = owner.class_
    return select(owner).join(Tag, Tag.id == link.tag_id).where(Tag.name == tag)


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


async def tagged_version_counts(
    session: AsyncSession, artifact_ids: Sequence[str], tag: str
) -> dict[str, int]:
    """How many versions of each artifact carry `tag` (artifacts with none are left out)."""
    rows = await session.execute(
        select(ArtifactVersion.artifact_id, func.count())
        .where(
            ArtifactVersion.artifact_id.in_(artifact_ids),
            ArtifactVersion.id.in_(_tagged(ArtifactVersionTag.artifact_version_id, tag)),
        )
        .group_by(ArtifactVersion.artifact_id)
    )
    return {aid: int(n) for aid, n in rows}


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
        dialect_insert(session, Artifact)
        .values(
            id=new_id(), name=name, created_at=now, updated_at=now, version_seq=0, last_number=0
        )
        .on_conflict_do_nothing(index_elements=["name"])
    )
    artifact = await session.scalar(select(Artifact).where(Artifact.name == name))
    assert artifact is not None
    return artifact


async def _allocate(
    session: AsyncSession, artifact_id: str, *, auto: bool, taken: int | None = None
) -> tuple[int, int]:
    """Advance the artifact's counters under its row lock: (seq, last number).

    `last_number` is the highest numeric version the artifact has: an automatic version adds
    one to it; a custom numeric version `taken` lifts it to at least `taken`, in the same
    UPDATE, so no automatic version allocated after it can collide with it."""
    if auto:
        last_number: Any = Artifact.last_number + 1
    elif taken is not None:
        last_number = case((Artifact.last_number < taken, taken), else_=Artifact.last_number)
    else:
        last_number = Artifact.last_number
    row = (
        await session.execute(
            update(Artifact)
            .where(Artifact.id == artifact_id)
            .values(
                version_seq=Artifact.version_seq + 1, last_number=last_number, updated_at=utcnow()
            )
            .returning(Artifact.version_seq, Artifact.last_number)
        )
    ).one()
    return int(row[0]), int(row[1])


async def create_version(session: AsyncSession, new: NewVersion) -> ArtifactVersion:
    """Register one version; raises Conflict if a custom version already exists.

    A custom version is any allowed text, digits included; one that is a number (`"1"`, not
    `"007"`) moves the artifact's counter so the next automatic version is one more."""
    validate_name(new.name)
    custom = new.version is not None
    version = validate_custom_version(new.version) if new.version is not None else None
    tags = list(_checked(rules.check_tags, tuple(new.tags)))
    visualizations = validate_visualizations(new)
    artifact = await ensure_artifact(session, new.name)
    artifact_id = artifact.id
    taken = None if version is None else rules.version_number(version)
    seq, number = await _allocate(session, artifact_id, auto=not custom, taken=taken)
    version = version if version is not None else str(number)
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
        visualizations=visualizations,
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
        dialect_insert(session, Tag)
        .values([{"id": new_id(), "name": n} for n in names])
        .on_conflict_do_nothing(index_elements=["name"])
    )
    return list(await session.scalars(select(Tag.id).where(Tag.name.in_(names))))


async def add_version_tags(session: AsyncSession, version_id: str, names: Sequence[str]) -> None:
    ids = await _tag_ids(session, [validate_tag(n) for n in names])
    if ids:
        await session.execute(
            dialect_insert(session, ArtifactVersionTag)
            .values([{"artifact_version_id": version_id, "tag_id": t} for t in ids])
            .on_conflict_do_nothing()
        )


@dataclass(frozen=True)
class TagChange:
    """Validated tags to add and to remove, each once, in the order given."""

    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


def tag_change(add: Sequence[str], remove: Sequence[str]) -> TagChange:
    """Validate both lists before anything is written; a tag in both is refused."""
    adding = tuple(validate_tag(t) for t in dict.fromkeys(add))
    removing = tuple(validate_tag(t) for t in dict.fromkeys(remove))
    both = [t for t in adding if t in removing]
    if both:
        raise BadUserInput(
            f"tag {both[0]!r} is both added and removed; give it in only one of "
            "`addTags` and `removeTags`"
        )
    return TagChange(add=adding, remove=removing)


async def update_artifact_tags(session: AsyncSession, name: str, change: TagChange) -> Artifact:
    """Add and remove tags of the artifact `name` (adding a present tag or removing an absent
    one changes nothing); its `updated_at` moves when a tag changed."""
    artifact = await get_artifact(session, name)
    if artifact is None:
        raise NotFound(f"no artifact is named {name!r}", artifactName=name)
    if await _retag(session, ArtifactTag.artifact_id, artifact.id, change):
        artifact.updated_at = utcnow()
        await session.flush()
    return artifact


async def update_version_tags(
    session: AsyncSession, version: ArtifactVersion, change: TagChange
) -> ArtifactVersion:
    """Add and remove tags of one artifact version (present or absent tags: no change)."""
    await _retag(session, ArtifactVersionTag.artifact_version_id, version.id, change)
    return version


async def _retag(
    session: AsyncSession, owner: InstrumentedAttribute[str], owner_id: str, change: TagChange
) -> bool:
    """Apply `change` to one owner's links; True when a link was added or removed."""
    link = owner.class_
    changed = False
    if change.remove:
        removed = await session.execute(
            delete(link).where(
                owner == owner_id,
                link.tag_id.in_(select(Tag.id).where(Tag.name.in_(change.remove))),
            )
        )
        changed = bool(getattr(removed, "rowcount", 0))
    ids = await _tag_ids(session, change.add)
    if ids:
        present = set(
            await session.scalars(
                select(link.tag_id).where(owner == owner_id, link.tag_id.in_(ids))
            )
        )
        missing = [t for t in ids if t not in present]
        if missing:
            await session.execute(
                dialect_insert(session, link)
                .values([{owner.key: owner_id, "tag_id": t} for t in missing])
                .on_conflict_do_nothing()
            )
            changed = True
    return changed
