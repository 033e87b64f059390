"""Artifacts, their versions and tags. Versions are allocated atomically in the registering
transaction: one `INSERT INTO artifacts … ON CONFLICT (name) DO UPDATE … RETURNING` creates the
artifact if needed, advances its counters and takes its row lock, so concurrent writers queue
instead of racing (no read-max-then-insert, no retries)."""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, TypeVar, cast

from sqlalchemy import (
    Row,
    Select,
    Table,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from api import rules
from api.errors import BadUserInput, Conflict, NotFound
from api.rules import RuleError
from api.storage import metadata as metadata_store
from api.storage.base import dialect_insert, new_id, utcnow
from api.storage.models import (
    Artifact,
    ArtifactSource,
    ArtifactTag,
    ArtifactType,
    ArtifactVersion,
    ArtifactVersionTag,
    Tag,
)

MAX_NAME = rules.MAX_TEXT
_T = TypeVar("_T")
# A default name is `{pipeline}::{step}::{output}`: two `::` separators. Custom names with two
# `::` count as default ones too (SQL and Python agree: LIKE matches iff count("::") >= 2).
DEFAULT_NAME_LIKE = "%::%::%"

# The hot paths (registering a version, finding one by name) run as Core statements that read
# and write exactly the columns needed: no unit of work, no identity map. What they hand back
# are instances of the mapped classes built from those columns and never added to a session
# (plain values, as the ORM would have loaded them).
_ARTIFACTS = cast(Table, Artifact.__table__)
_VERSIONS = cast(Table, ArtifactVersion.__table__)
_TAGS = cast(Table, Tag.__table__)
_VERSION_TAGS = cast(Table, ArtifactVersionTag.__table__)
_INSERT_VERSION = insert(_VERSIONS)
_ARTIFACT_BY_NAME = select(_ARTIFACTS).where(_ARTIFACTS.c.name == bindparam("name"))
# A version's columns with its artifact's (but its id, the version's `artifact_id`), labelled
# `artifact_*`, in one row.
_VERSION_WITH_ARTIFACT = select(
    _VERSIONS,
    *(column.label(f"artifact_{column.key}") for column in _ARTIFACTS.c if column.key != "id"),
).join_from(_VERSIONS, _ARTIFACTS, _VERSIONS.c.artifact_id == _ARTIFACTS.c.id)
_LATEST_FIRST = (_VERSIONS.c.seq.desc(),)
_VERSION_BY_ID = _VERSION_WITH_ARTIFACT.where(_VERSIONS.c.id == bindparam("id"))
_LATEST_BY_NAME = (
    _VERSION_WITH_ARTIFACT.where(_ARTIFACTS.c.name == bindparam("name"))
    .order_by(*_LATEST_FIRST)
    .limit(1)
)
_VERSION_BY_NAME = (
    _VERSION_WITH_ARTIFACT.where(
        _ARTIFACTS.c.name == bindparam("name"), _VERSIONS.c.version == bindparam("version")
    )
    .order_by(*_LATEST_FIRST)
    .limit(1)
)


def artifact_of(row: Any) -> Artifact:
    """An `Artifact` value from a row of `artifacts`' columns (its own names)."""
    return Artifact(
        id=row.id,
        name=row.name,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version_seq=row.version_seq,
        last_number=row.last_number,
    )


def version_of(row: Any, artifact: Artifact) -> ArtifactVersion:
    """An `ArtifactVersion` value (its `artifact` set) from a row or mapping with the columns
    of `artifact_versions`."""
    return ArtifactVersion(
        id=row["id"],
        artifact_id=row["artifact_id"],
        seq=row["seq"],
        version=row["version"],
        is_custom=row["is_custom"],
        uri=row["uri"],
        data_type=row["data_type"],
        materializer=row["materializer"],
        content_hash=row["content_hash"],
        size_bytes=row["size_bytes"],
        metadata_=row["metadata"],
        source=row["source"],
        artifact_type=row["artifact_type"],
        producer_step_run_id=row["producer_step_run_id"],
        data_deleted_at=row["data_deleted_at"],
        visualizations=row["visualizations"],
        created_at=row["created_at"],
        artifact=artifact,
    )


def _joined_version(row: Row[Any] | None) -> ArtifactVersion | None:
    """The version (with its artifact) of a `_VERSION_WITH_ARTIFACT` row."""
    if row is None:
        return None
    columns = row._mapping
    artifact = Artifact(
        id=columns["artifact_id"],
        name=columns["artifact_name"],
        created_at=columns["artifact_created_at"],
        updated_at=columns["artifact_updated_at"],
        version_seq=columns["artifact_version_seq"],
        last_number=columns["artifact_last_number"],
    )
    return version_of(columns, artifact)


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
    # Values logged by the user (checked already), stored with the version when there are some.
    run_metadata: Sequence[metadata_store.MetadataValue] = ()
    artifact_type: ArtifactType = ArtifactType.DATA


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
    artifact_type: ArtifactType | None = None


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
    row = (await session.execute(_ARTIFACT_BY_NAME, {"name": name})).first()
    return None if row is None else artifact_of(row)


async def find_version(
    session: AsyncSession,
    *,
    id: str | None,
    name: str | None,
    version: str | None,
    as_of: datetime | None = None,
) -> ArtifactVersion | None:
    """By id, by name and version, or by name alone (the latest); as the store stood at
    `as_of` when given (versions created later are invisible). One statement."""
    if id is not None:
        if name is not None or version is not None:
            raise BadUserInput("give either `id`, or `name` with an optional `version`, not both")
        if as_of is None:
            return _joined_version((await session.execute(_VERSION_BY_ID, {"id": id})).first())
        stmt = _VERSION_WITH_ARTIFACT.where(_VERSIONS.c.id == id)
    elif name is None:
        raise BadUserInput("give `id`, or `name` with an optional `version`")
    elif as_of is None:
        if version is None:
            found = await session.execute(_LATEST_BY_NAME, {"name": name})
        else:
            found = await session.execute(_VERSION_BY_NAME, {"name": name, "version": version})
        return _joined_version(found.first())
    else:
        stmt = _VERSION_WITH_ARTIFACT.where(_ARTIFACTS.c.name == name)
        if version is not None:
            stmt = stmt.where(_VERSIONS.c.version == version)
    stmt = stmt.where(_VERSIONS.c.created_at <= as_of)
    found = await session.execute(stmt.order_by(*_LATEST_FIRST).limit(1))
    return _joined_version(found.first())


async def latest_version(
    session: AsyncSession, artifact_id: str, as_of: datetime | None
) -> ArtifactVersion | None:
    """The newest version of an artifact, as of a moment when given."""
    stmt = _VERSION_WITH_ARTIFACT.where(_VERSIONS.c.artifact_id == artifact_id)
    if as_of is not None:
        stmt = stmt.where(_VERSIONS.c.created_at <= as_of)
    found = await session.execute(stmt.order_by(*_LATEST_FIRST).limit(1))
    return _joined_version(found.first())


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
    if flt.artifact_type is not None:
        stmt = stmt.where(ArtifactVersion.artifact_type == flt.artifact_type)
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


def _tag_names_statement(link: Table, owner: str) -> Select[Any]:
    """(owner id, tag name) of the owners `:ids` through the link table `link`, by name."""
    return (
        select(link.c[owner], _TAGS.c.name)
        .join_from(link, _TAGS, _TAGS.c.id == link.c.tag_id)
        .where(link.c[owner].in_(bindparam("ids", expanding=True)))
        .order_by(_TAGS.c.name)
    )


_ARTIFACT_TAG_NAMES = _tag_names_statement(cast(Table, ArtifactTag.__table__), "artifact_id")
_VERSION_TAG_NAMES = _tag_names_statement(_VERSION_TAGS, "artifact_version_id")


async def artifact_tags(session: AsyncSession, ids: Sequence[str]) -> dict[str, list[str]]:
    return _group(await session.execute(_ARTIFACT_TAG_NAMES, {"ids": list(ids)}))


async def version_tags(session: AsyncSession, ids: Sequence[str]) -> dict[str, list[str]]:
    return _group(await session.execute(_VERSION_TAG_NAMES, {"ids": list(ids)}))


def _group(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for key, value in pairs:
        grouped[key].append(value)
    return grouped


class VersionSummary(NamedTuple):
    """How many versions an artifact has, and its newest one (by creation order)."""

    version_count: int
    latest: ArtifactVersion | None


NO_VERSIONS = VersionSummary(0, None)


async def version_summaries(
    session: AsyncSession, artifact_ids: Sequence[str]
) -> dict[str, VersionSummary]:
    """Each artifact's version count and newest version, in one statement: the count comes
    with the grouping that finds the newest, so an artifact's `versionCount` and
    `latestVersion` cost one read together (artifacts without versions are left out)."""
    newest = (
        select(
            ArtifactVersion.artifact_id,
            func.max(ArtifactVersion.seq).label("seq"),
            func.count().label("count"),
        )
        .where(ArtifactVersion.artifact_id.in_(artifact_ids))
        .group_by(ArtifactVersion.artifact_id)
        .subquery()
    )
    rows = await session.execute(
        select(ArtifactVersion, newest.c.count).join(
            newest,
            (ArtifactVersion.artifact_id == newest.c.artifact_id)
            & (ArtifactVersion.seq == newest.c.seq),
        )
    )
    return {row.artifact_id: VersionSummary(int(count), row) for row, count in rows}


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


_ADVANCED = (
    _ARTIFACTS.c.id,
    _ARTIFACTS.c.created_at,
    _ARTIFACTS.c.updated_at,
    _ARTIFACTS.c.version_seq,
    _ARTIFACTS.c.last_number,
)
_advance_statements: dict[tuple[str, str], Any] = {}


def _advance_statement(session: AsyncSession, numbering: str) -> Any:
    """`INSERT … ON CONFLICT (name) DO UPDATE … RETURNING` for the session's database, built
    once per database and kind of numbering ("auto", "taken" or "kept")."""
    assert session.bind is not None
    key = (session.bind.dialect.name, numbering)
    stmt = _advance_statements.get(key)
    if stmt is None:
        inserting = dialect_insert(session, _ARTIFACTS)
        last = _ARTIFACTS.c.last_number
        counters: dict[str, Any] = {
            "version_seq": _ARTIFACTS.c.version_seq + 1,
            "updated_at": inserting.excluded.updated_at,
        }
        if numbering == "auto":
            counters["last_number"] = last + 1
        elif numbering == "taken":
            proposed = inserting.excluded.last_number
            counters["last_number"] = case((last < proposed, proposed), else_=last)
        stmt = inserting.on_conflict_do_update(index_elements=["name"], set_=counters).returning(
            *_ADVANCED
        )
        _advance_statements[key] = stmt
    return stmt


async def _advance(
    session: AsyncSession, name: str, *, auto: bool, taken: int | None = None
) -> Artifact:
    """The artifact `name`, created if missing, its counters advanced under its row lock, in
    one statement: the new `version_seq`, and the new `last_number`.

    `last_number` is the highest numeric version the artifact has: an automatic version adds
    one to it; a custom numeric version `taken` lifts it to at least `taken`, in the same
    statement, so no automatic version allocated after it can collide with it. A new artifact
    starts from zero, as if it had existed with no version."""
    numbering = "auto" if auto else "kept" if taken is None else "taken"
    first_number = 1 if auto else 0 if taken is None else max(0, taken)
    now = utcnow()
    values = {
        "id": new_id(),
        "name": name,
        "created_at": now,
        "updated_at": now,
        "version_seq": 1,
        "last_number": first_number,
    }
    row = (await session.execute(_advance_statement(session, numbering), values)).one()
    return Artifact(
        id=row.id,
        name=name,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version_seq=row.version_seq,
        last_number=row.last_number,
    )


async def create_version(session: AsyncSession, new: NewVersion) -> ArtifactVersion:
    """Register one version; raises Conflict if a custom version already exists.

    A custom version is any allowed text, digits included; one that is a number (`"1"`, not
    `"007"`) moves the artifact's counter so the next automatic version is one more.

    Two statements without tags: the artifact's upsert (which allocates the version under the
    artifact's row lock) and the version's INSERT; a custom version that exists already fails
    that INSERT on the unique constraint, and the transaction is rolled back whole."""
    validate_name(new.name)
    custom = new.version is not None
    version = validate_custom_version(new.version) if new.version is not None else None
    tags = list(_checked(rules.check_tags, tuple(new.tags)))
    visualizations = validate_visualizations(new)
    taken = None if version is None else rules.version_number(version)
    artifact = await _advance(session, new.name, auto=not custom, taken=taken)
    version = version if version is not None else str(artifact.last_number)
    values: dict[str, Any] = {
        "id": new_id(),
        "artifact_id": artifact.id,
        "seq": artifact.version_seq,
        "version": version,
        "is_custom": custom,
        "uri": new.uri,
        "data_type": new.data_type,
        "materializer": new.materializer,
        "content_hash": new.content_hash,
        "size_bytes": new.size_bytes,
        "metadata": new.metadata,
        "source": new.source,
        "artifact_type": new.artifact_type,
        "producer_step_run_id": new.producer_step_run_id,
        "data_deleted_at": None,
        "visualizations": visualizations,
        "created_at": utcnow(),
    }
    try:
        await session.execute(_INSERT_VERSION, values)
    except IntegrityError as exc:  # this custom version exists, or a concurrent writer took it
        raise _exists(new.name, version) from exc
    await add_version_tags(session, values["id"], tags)
    await metadata_store.write(
        session, metadata_store.Owner.ARTIFACT_VERSION, values["id"], new.run_metadata
    )
    return version_of(values, artifact)


def _exists(name: str, version: str) -> Conflict:
    return Conflict(
        f"artifact {name!r} already has version {version!r}; choose another version or leave "
        "it unset for the next automatic one",
        reason="ARTIFACT_VERSION_EXISTS",
        artifactName=name,
        version=version,
    )


async def add_version_tags(session: AsyncSession, version_id: str, names: Sequence[str]) -> None:
    """Tag a version: the missing tags are created, then linked in one INSERT … SELECT."""
    checked = list(dict.fromkeys(validate_tag(n) for n in names))
    await _link_tags(session, ArtifactVersionTag.artifact_version_id, version_id, checked)


async def _link_tags(
    session: AsyncSession, owner: InstrumentedAttribute[str], owner_id: str, names: Sequence[str]
) -> bool:
    """Link the tags `names` (valid, distinct) to one owner, creating the missing tags, in two
    statements whatever their number: True when a link was added (a present one is kept)."""
    if not names:
        return False
    await session.execute(
        dialect_insert(session, _TAGS)
        .values([{"id": new_id(), "name": n} for n in names])
        .on_conflict_do_nothing(index_elements=["name"])
    )
    added = await session.execute(
        dialect_insert(session, owner.class_.__table__)
        .from_select(
            [owner.key, "tag_id"],
            select(literal(owner_id), _TAGS.c.id).where(_TAGS.c.name.in_(names)),
        )
        .on_conflict_do_nothing()
        .execution_options(preserve_rowcount=True)  # an INSERT's is kept only when asked
    )
    return bool(getattr(added, "rowcount", 0))


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
        await session.execute(
            update(_ARTIFACTS)
            .where(_ARTIFACTS.c.id == artifact.id)
            .values(updated_at=artifact.updated_at)
        )
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
    removed = False
    if change.remove:
        deleted = await session.execute(
            delete(link).where(
                owner == owner_id,
                link.tag_id.in_(select(Tag.id).where(Tag.name.in_(change.remove))),
            )
        )
        removed = bool(getattr(deleted, "rowcount", 0))
    added = await _link_tags(session, owner, owner_id, change.add)
    return removed or added
