"""Lineage traversal inside the database: one recursive CTE walks artifact-to-artifact hops,
then a few batched statements fetch the step runs and edges of the answer.

Graph: an artifact version is produced by one step run (`producer_step_run_id`, the run that
really executed; a cached step run does not re-produce) and consumed by step runs
(`step_inputs`). Depth counts artifact hops: upstream of a version at hop `h`, its producer sits
at hop `h` and the producer's inputs at `h + 1`; downstream, its consumers sit at `h` and their
outputs at `h + 1`. Nodes are ordered by (hop, direction, kind, id); an edge belongs to the page
of its later endpoint, so paging returns every node and every edge exactly once.
"""

from __future__ import annotations

import uuid
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cache, lru_cache
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Row, String, and_, bindparam, func, literal, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import BadUserInput, NotFound
from api.storage.base import JSONType
from api.storage.models import (
    Artifact,
    ArtifactVersion,
    ArtifactVersionTag,
    StepInput,
    StepOutput,
    StepRun,
    Tag,
)


class Direction(StrEnum):
    UPSTREAM = "UPSTREAM"
    DOWNSTREAM = "DOWNSTREAM"
    BOTH = "BOTH"


class NodeKind(StrEnum):
    ARTIFACT_VERSION = "ARTIFACT_VERSION"
    STEP_RUN = "STEP_RUN"


class EdgeKind(StrEnum):
    PRODUCED = "PRODUCED"  # step run -> artifact version
    CONSUMED = "CONSUMED"  # artifact version -> step run


PRODUCED, CONSUMED = EdgeKind.PRODUCED, EdgeKind.CONSUMED


class Edge(NamedTuple):
    """A tuple (a fan-out answer builds thousands: a tuple is built and compared in C)."""

    source: str
    target: str
    kind: EdgeKind
    name: str


@dataclass(frozen=True)
class LineageFilter:
    artifact_name: str | None = None
    tag: str | None = None
    node_kind: NodeKind | None = None
    latest_only: bool = False

    @property
    def active(self) -> bool:
        return bool(self.artifact_name or self.tag or self.node_kind or self.latest_only)


@dataclass(frozen=True)
class LineageQuery:
    start: str
    direction: Direction
    depth: int
    as_of: datetime | None = None
    filter: LineageFilter = field(default_factory=LineageFilter)


# Ordering key of a node: (hop, direction: 0 up / 1 down, kind: 0 version / 1 step, id).
Key = tuple[int, int, int, str]


@dataclass
class Walk:
    """The whole answer as ids: node keys, edges, and whether depth cut it."""

    versions: dict[str, Key] = field(default_factory=dict)
    steps: dict[str, Key] = field(default_factory=dict)
    edges: dict[tuple[str, str, EdgeKind], Edge] = field(default_factory=dict)
    truncated: bool = False

    def add_version(self, vid: str, key: Key) -> None:
        if vid not in self.versions or key < self.versions[vid]:
            self.versions[vid] = key

    def add_step(self, sid: str, key: Key) -> None:
        if sid not in self.steps or key < self.steps[sid]:
            self.steps[sid] = key

    def add_edge(self, edge: Edge) -> None:
        self.edges[(edge.source, edge.target, edge.kind)] = edge

    def merge(self, other: Walk) -> None:
        for vid, key in other.versions.items():
            self.add_version(vid, key)
        for sid, key in other.steps.items():
            self.add_step(sid, key)
        self.edges.update(other.edges)
        self.truncated = self.truncated or other.truncated

    def restrict(self, keep: set[str]) -> None:
        """Keep only the nodes in `keep` and the edges between them."""
        self.versions = {k: v for k, v in self.versions.items() if k in keep}
        self.steps = {k: v for k, v in self.steps.items() if k in keep}
        self.edges = {k: e for k, e in self.edges.items() if e.source in keep and e.target in keep}


@dataclass(frozen=True)
class LineagePage:
    """One page: plain rows with the columns of `artifact_versions` (plus `artifact_name`) and
    of `step_runs`."""

    versions: list[Row[Any]]
    steps: list[Row[Any]]
    order: list[str]  # node ids of the page, in order
    edges: list[Edge]
    truncated: bool
    has_next: bool
    has_previous: bool
    start_key: Key | None
    end_key: Key | None
    total: int


def _among(session: AsyncSession, column: Any, ids: Sequence[str]) -> ColumnElement[bool]:
    """`column IN ids`, the ids passed as ONE JSON parameter and unpacked by the database
    (`json_each` / `jsonb_array_elements_text`): the statement is the same for any number of
    ids, so it compiles once, and thousands of ids cost no per-id bound parameters."""
    values = literal(list(ids), JSONType)
    assert session.bind is not None
    if session.bind.dialect.name == "postgresql":
        unpacked = func.jsonb_array_elements_text(values).table_valued("value")
    else:
        unpacked = func.json_each(values).table_valued("value")
    among: ColumnElement[bool] = column.in_(select(unpacked.c.value))
    return among


def _before(column: Any, as_of: datetime | None) -> ColumnElement[bool]:
    return true() if as_of is None else column <= as_of


# The walk's statements are built once per shape (kind of start, `as_of` given or not, the
# database's dialect) with bound parameters (`start`, `depth`, `as_of`, `ids`), rather than at
# every call: building them (select, CTE, joins, column collections) cost more than running
# them on SQLite. The SQL is the same.


def _dialect(session: AsyncSession) -> str:
    assert session.bind is not None
    return session.bind.dialect.name


def _among_ids(dialect: str, column: Any) -> ColumnElement[bool]:
    """`column IN :ids`, as `_among` builds it, the ids bound at execution."""
    values = bindparam("ids", type_=JSONType)
    if dialect == "postgresql":
        unpacked = func.jsonb_array_elements_text(values).table_valued("value")
    else:
        unpacked = func.json_each(values).table_valued("value")
    among: ColumnElement[bool] = column.in_(select(unpacked.c.value))
    return among


def _dated(column: Any, dated: bool) -> ColumnElement[bool]:
    """`_before(column, :as_of)`, the time bound at execution."""
    return column <= bindparam("as_of") if dated else true()


def _as_of(as_of: datetime | None) -> dict[str, Any]:
    return {} if as_of is None else {"as_of": as_of}


@cache
def _start_statements(dated: bool) -> tuple[Any, Any]:
    version = select(ArtifactVersion.id).where(
        ArtifactVersion.id == bindparam("id"), _dated(ArtifactVersion.created_at, dated)
    )
    step = select(StepRun.id).where(
        StepRun.id == bindparam("id"), _dated(StepRun.started_at, dated)
    )
    return version, step


async def resolve_start(
    session: AsyncSession, node_id: str, as_of: datetime | None, *, steps_first: bool = False
) -> NodeKind:
    """Whether `node_id` is an artifact version or a step run; NOT_FOUND if neither.
    `steps_first`: look among step runs first (the caller found no version already)."""
    _check_id(node_id)
    version_stmt, step_stmt = _start_statements(as_of is not None)
    params = {"id": node_id, **_as_of(as_of)}
    looks = [(step_stmt, NodeKind.STEP_RUN), (version_stmt, NodeKind.ARTIFACT_VERSION)]
    for statement, kind in looks if steps_first else reversed(looks):
        if await session.scalar(statement, params) is not None:
            return kind
    when = "" if as_of is None else f" as of {as_of.isoformat()}"
    raise NotFound(f"no artifact version or step run has id {node_id!r}{when}", id=node_id)


def _check_id(node_id: str) -> None:
    if not _looks_like_id(node_id):
        raise BadUserInput(
            f"{node_id!r} is not an id: pass the UUID of an artifact version or a step run"
        )


def _looks_like_id(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


async def walk(session: AsyncSession, query: LineageQuery) -> Walk:
    """Every node and edge within `query.depth` hops of the start, as ids.

    The walk's first statement is the one anchored on a version: when the start is a version
    (as of `as_of`), its own row comes back with the walk, and no statement is spent asking
    what the start is. Otherwise it is looked up among step runs, and the walk done from it."""
    _check_id(query.start)
    up = query.direction in (Direction.UPSTREAM, Direction.BOTH)
    version_walk = _walk_up_statement if up else _walk_down_statement
    rows: list[Visited] | None = await _visited(
        session, version_walk(NodeKind.ARTIFACT_VERSION, query.as_of is not None), query
    )
    if any(row[0] == query.start for row in rows or ()):
        kind = NodeKind.ARTIFACT_VERSION
    else:
        kind = await resolve_start(session, query.start, query.as_of, steps_first=True)
        rows = None  # a step run; or a version that appeared since, walked again
    if query.direction == Direction.UPSTREAM:
        result = await _walk_up(session, query, kind, rows)
    elif query.direction == Direction.DOWNSTREAM:
        result = await _walk_down(session, query, kind, rows)
    else:
        result = await _walk_up(session, query, kind, rows)
        result.merge(await _walk_down(session, query, kind))
    if kind == NodeKind.ARTIFACT_VERSION:
        result.add_version(query.start, (0, 0, 0, query.start))
    else:
        result.add_step(query.start, (0, 0, 1, query.start))
    return result


def _recursive(anchor: Any, expand: Any) -> Any:
    cte = anchor.cte("walk", recursive=True)
    return cte.union(expand(cte))


def _anchor(kind: NodeKind, edge: type[StepInput | StepOutput], dated: bool) -> Any:
    """The walk's start: the version itself (hop 0), or the step's inputs or outputs (hop 1)."""
    if kind == NodeKind.ARTIFACT_VERSION:
        return select(bindparam("start", type_=String).label("vid"), literal(0).label("hop"))
    return select(edge.artifact_version_id.label("vid"), literal(1).label("hop")).where(
        edge.step_run_id == bindparam("start"), _dated(edge.created_at, dated)
    )


@cache
def _walk_up_statement(kind: NodeKind, dated: bool) -> Any:
    def expand(walk_cte: Any) -> Any:
        return (
            select(StepInput.artifact_version_id, walk_cte.c.hop + 1)
            .select_from(walk_cte)
            .join(ArtifactVersion, ArtifactVersion.id == walk_cte.c.vid)
            .join(StepInput, StepInput.step_run_id == ArtifactVersion.producer_step_run_id)
            .where(walk_cte.c.hop < bindparam("depth"), _dated(StepInput.created_at, dated))
        )

    return _visited_statement(_recursive(_anchor(kind, StepInput, dated), expand), dated)


async def _walk_up(
    session: AsyncSession, query: LineageQuery, kind: NodeKind, rows: list[Visited] | None = None
) -> Walk:
    """Upstream of the start; `rows`: its visited versions when already read."""
    as_of, depth = query.as_of, query.depth
    if rows is None:
        rows = await _visited(session, _walk_up_statement(kind, as_of is not None), query)
    result = Walk()
    versions, edges = result.versions, result.edges
    producers: dict[str, int] = {}
    for vid, hop, producer, output in rows:
        # one smallest hop per version (a version output under two names comes twice alike)
        versions[vid] = (hop, 0, 0, vid)
        if producer is None:
            continue
        if hop < depth:
            if producer not in producers or hop < producers[producer]:
                producers[producer] = hop
            edges[(producer, vid, PRODUCED)] = Edge(producer, vid, PRODUCED, output or "")
        else:
            result.truncated = True
    if kind == NodeKind.STEP_RUN:
        producers[query.start] = 0
    for sid, hop in producers.items():
        result.add_step(sid, (hop, 0, 1, sid))
    await _consumed_edges_of_steps(session, result, list(producers), as_of)
    return result


def _visited_statement(cte: Any, dated: bool) -> Any:
    walked = select(cte.c.vid, func.min(cte.c.hop).label("hop")).group_by(cte.c.vid).subquery()
    return (
        select(walked.c.vid, walked.c.hop, ArtifactVersion.producer_step_run_id, StepOutput.name)
        .join(ArtifactVersion, ArtifactVersion.id == walked.c.vid)
        .outerjoin(
            StepOutput,
            and_(
                StepOutput.step_run_id == ArtifactVersion.producer_step_run_id,
                StepOutput.artifact_version_id == ArtifactVersion.id,
            ),
        )
        .where(_dated(ArtifactVersion.created_at, dated))
    )


# (version, smallest hop, producer, output name)
Visited = tuple[str, int, str | None, str | None]


async def _visited(session: AsyncSession, statement: Any, query: LineageQuery) -> list[Visited]:
    """(version, smallest hop, producer, output name) of every version the walk reached."""
    params = {"start": query.start, "depth": query.depth, **_as_of(query.as_of)}
    rows = await session.execute(statement, params)
    return [(vid, int(hop), producer, name) for vid, hop, producer, name in rows]


@cache
def _walk_down_statement(kind: NodeKind, dated: bool) -> Any:
    def expand(walk_cte: Any) -> Any:
        return (
            select(ArtifactVersion.id, walk_cte.c.hop + 1)
            .select_from(walk_cte)
            .join(StepInput, StepInput.artifact_version_id == walk_cte.c.vid)
            .join(ArtifactVersion, ArtifactVersion.producer_step_run_id == StepInput.step_run_id)
            .where(
                walk_cte.c.hop < bindparam("depth"),
                _dated(StepInput.created_at, dated),
                _dated(ArtifactVersion.created_at, dated),
            )
        )

    return _visited_statement(_recursive(_anchor(kind, StepOutput, dated), expand), dated)


async def _walk_down(
    session: AsyncSession, query: LineageQuery, kind: NodeKind, rows: list[Visited] | None = None
) -> Walk:
    """Downstream of the start; `rows`: its visited versions when already read."""
    as_of, depth = query.as_of, query.depth
    if rows is None:
        rows = await _visited(session, _walk_down_statement(kind, as_of is not None), query)
    result = Walk()
    versions = result.versions
    inner: list[str] = []
    frontier: list[str] = []
    for vid, hop, _, _ in rows:
        # one smallest hop per version (a version output under two names comes twice alike)
        versions[vid] = (hop, 1, 0, vid)
        (inner if hop < depth else frontier).append(vid)
    if kind == NodeKind.STEP_RUN:
        result.add_step(query.start, (0, 1, 1, query.start))
        await _start_step_outputs(session, result, query.start)
    await _consumed_edges_of_versions(session, result, inner, as_of)
    steps, edges = result.steps, result.edges
    for vid, hop, producer, output in rows:
        if hop > 0 and producer in steps:
            edges[(producer, vid, PRODUCED)] = Edge(producer, vid, PRODUCED, output or "")
    result.truncated = await _has_consumers(session, frontier, as_of)
    return result


@cache
def _consumed_edges_statement(dialect: str, by_step: bool, dated: bool) -> Any:
    """The CONSUMED edges of the steps (`by_step`) or of the versions in `:ids`."""
    owner = StepInput.step_run_id if by_step else StepInput.artifact_version_id
    return select(StepInput.artifact_version_id, StepInput.step_run_id, StepInput.name).where(
        _among_ids(dialect, owner), _dated(StepInput.created_at, dated)
    )


async def _consumed_edges_of_steps(
    session: AsyncSession, result: Walk, steps: Sequence[str], as_of: datetime | None
) -> None:
    statement = _consumed_edges_statement(_dialect(session), True, as_of is not None)
    rows = await session.execute(statement, {"ids": list(steps), **_as_of(as_of)})
    versions, edges = result.versions, result.edges
    for vid, sid, name in rows:
        if vid in versions:
            edges[(vid, sid, CONSUMED)] = Edge(vid, sid, CONSUMED, name)


async def _consumed_edges_of_versions(
    session: AsyncSession, result: Walk, versions: Sequence[str], as_of: datetime | None
) -> None:
    """CONSUMED edges out of `versions`, and their consumers as steps."""
    statement = _consumed_edges_statement(_dialect(session), False, as_of is not None)
    rows = await session.execute(statement, {"ids": list(versions), **_as_of(as_of)})
    keys, steps, edges = result.versions, result.steps, result.edges
    for vid, sid, name in rows:
        key = (keys[vid][0], 1, 1, sid)
        if sid not in steps or key < steps[sid]:
            steps[sid] = key
        edges[(vid, sid, CONSUMED)] = Edge(vid, sid, CONSUMED, name)


_START_STEP_OUTPUTS = select(StepOutput.artifact_version_id, StepOutput.name).where(
    StepOutput.step_run_id == bindparam("step")
)


async def _start_step_outputs(session: AsyncSession, result: Walk, step_id: str) -> None:
    """Downstream of a step run: its outputs (for a cached run, the versions it reused)."""
    rows = await session.execute(_START_STEP_OUTPUTS, {"step": step_id})
    for vid, name in rows:
        if vid in result.versions:
            result.add_edge(Edge(step_id, vid, EdgeKind.PRODUCED, name))


async def _has_consumers(
    session: AsyncSession, versions: Sequence[str], as_of: datetime | None
) -> bool:
    if not versions:
        return False
    statement = _has_consumers_statement(_dialect(session), as_of is not None)
    found = await session.scalar(statement, {"ids": list(versions), **_as_of(as_of)})
    return found is not None


@cache
def _has_consumers_statement(dialect: str, dated: bool) -> Any:
    return (
        select(StepInput.step_run_id)
        .where(
            _among_ids(dialect, StepInput.artifact_version_id),
            _dated(StepInput.created_at, dated),
        )
        .limit(1)
    )


async def apply_filter(
    session: AsyncSession, result: Walk, flt: LineageFilter, as_of: datetime | None
) -> None:
    """Keep the nodes that match every given condition, and the edges between kept nodes.

    Artifact conditions (name, tag, latestOnly) match artifact versions only, so with any of
    them no step run is kept."""
    if not flt.active:
        return
    artifact_conditions = bool(flt.artifact_name or flt.tag or flt.latest_only)
    keep: set[str] = set()
    if flt.node_kind in (None, NodeKind.STEP_RUN) and not artifact_conditions:
        keep.update(result.steps)
    if flt.node_kind in (None, NodeKind.ARTIFACT_VERSION):
        if artifact_conditions:
            keep |= await _matching_versions(session, list(result.versions), flt, as_of)
        else:
            keep.update(result.versions)
    result.restrict(keep)


async def _matching_versions(
    session: AsyncSession, versions: Sequence[str], flt: LineageFilter, as_of: datetime | None
) -> set[str]:
    stmt = select(ArtifactVersion.id).where(_among(session, ArtifactVersion.id, versions))
    if flt.artifact_name is not None:
        stmt = stmt.join(Artifact, Artifact.id == ArtifactVersion.artifact_id).where(
            Artifact.name == flt.artifact_name
        )
    if flt.tag is not None:
        stmt = stmt.where(
            ArtifactVersion.id.in_(
                select(ArtifactVersionTag.artifact_version_id)
                .join(Tag, Tag.id == ArtifactVersionTag.tag_id)
                .where(Tag.name == flt.tag)
            )
        )
    if flt.latest_only:
        newest = (
            select(ArtifactVersion.artifact_id, func.max(ArtifactVersion.seq).label("seq"))
            .where(_before(ArtifactVersion.created_at, as_of))
            .group_by(ArtifactVersion.artifact_id)
            .subquery()
        )
        stmt = stmt.join(
            newest,
            and_(
                newest.c.artifact_id == ArtifactVersion.artifact_id,
                newest.c.seq == ArtifactVersion.seq,
            ),
        )
    return set(await session.scalars(stmt))


async def page(
    session: AsyncSession,
    result: Walk,
    first: int,
    after: Key | None,
    *,
    version_columns: tuple[str, ...] | None = None,
    step_columns: tuple[str, ...] | None = None,
) -> LineagePage:
    """One page of nodes in key order, with the rows to show them and the edges they own.
    The rows hold the columns named (`id` always; `artifact_name` for a version's name), or
    all of them."""
    # A node's key ends with its id, so the keys alone sort and name the nodes.
    ordered = sorted([*result.versions.values(), *result.steps.values()])
    if after is not None:
        ordered = ordered[bisect_right(ordered, after) :]
    has_next = len(ordered) > first
    ordered = ordered[:first]
    order = [key[3] for key in ordered]
    on_page = set(order)
    version_ids = [node for node in order if node in result.versions]
    step_ids = [node for node in order if node not in result.versions]
    versions: dict[str, Row[Any]] = {}
    steps: dict[str, Row[Any]] = {}
    if version_ids:
        statement = _version_rows(_dialect(session), version_columns)
        rows = await session.execute(statement, {"ids": version_ids})
        versions.update((row[0], row) for row in rows)  # `id` comes first
    if step_ids:
        rows = await session.execute(_step_rows(_dialect(session), step_columns), {"ids": step_ids})
        steps.update((row[0], row) for row in rows)
    # An edge is listed with its later endpoint (the larger key), in the order of the page's
    # nodes, then by (source, target): edges gathered by owner, rather than all sorted.
    keys = {**result.steps, **result.versions}
    owned: dict[str, list[Edge]] = {}
    for edge in result.edges.values():
        source, target = keys[edge.source], keys[edge.target]
        owner = (source if source > target else target)[3]
        if owner in on_page:
            if owner in owned:
                owned[owner].append(edge)
            else:
                owned[owner] = [edge]
    edges: list[Edge] = []
    for node in order:
        found = owned.get(node)
        if found is not None:
            edges += sorted(found) if len(found) > 1 else found
    return LineagePage(
        versions=[versions[v] for v in version_ids],
        steps=[steps[s] for s in step_ids],
        order=order,
        edges=edges,
        truncated=result.truncated,
        has_next=has_next,
        has_previous=after is not None,
        start_key=ordered[0] if ordered else None,
        end_key=ordered[-1] if ordered else None,
        total=len(result.versions) + len(result.steps),
    )


@lru_cache(maxsize=256)
def _version_rows(dialect: str, columns: tuple[str, ...] | None = None) -> Any:
    """Plain rows (no ORM objects: answers can hold thousands) of the versions in `:ids`: `id`
    first, then the other columns named (every one if None), then `artifact_name` when named
    or all are."""
    versions, artifacts = ArtifactVersion.__table__, Artifact.__table__
    names = [c.name for c in versions.c] if columns is None else list(columns)
    chosen = [versions.c.id, *(versions.c[n] for n in names if n not in ("id", "artifact_name"))]
    if columns is None or "artifact_name" in columns:
        chosen.append(artifacts.c.name.label("artifact_name"))
    statement = select(*chosen).where(_among_ids(dialect, versions.c.id))
    if columns is None or "artifact_name" in columns:
        statement = statement.join_from(
            versions, artifacts, artifacts.c.id == versions.c.artifact_id
        )
    return statement


@lru_cache(maxsize=256)
def _step_rows(dialect: str, columns: tuple[str, ...] | None = None) -> Any:
    """The step runs in `:ids`: `id` first, then the other columns named (every one if None)."""
    steps = StepRun.__table__
    names = [c.name for c in steps.c] if columns is None else list(columns)
    chosen = [steps.c.id, *(steps.c[name] for name in names if name != "id")]
    return select(*chosen).where(_among_ids(dialect, steps.c.id))


async def path(
    session: AsyncSession, source: str, target: str, depth: int, as_of: datetime | None
) -> Walk:
    """Every chain by which `target` was derived from `source`: the nodes downstream of
    `source` that are also upstream of `target`, and the edges between them."""
    down = await walk(session, LineageQuery(source, Direction.DOWNSTREAM, depth, as_of))
    up = await walk(session, LineageQuery(target, Direction.UPSTREAM, depth, as_of))
    shared = (set(down.versions) | set(down.steps)) & (set(up.versions) | set(up.steps))
    result = Walk()
    result.merge(down)
    result.edges.update(up.edges)
    if target not in shared:
        shared = set()
    result.restrict(shared)
    result.truncated = down.truncated or up.truncated
    return result
