"""Lineage as a flat graph: `nodes` (the same ArtifactVersion and StepRun types as everywhere)
and `edges`, paged by node, with `truncated` whenever depth or the page cut the answer."""

from __future__ import annotations

import base64
import binascii
import json
from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import lru_cache
from operator import itemgetter
from typing import Annotated, Any, cast

import strawberry
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

from api.errors import BadUserInput, LimitExceeded
from api.graphql.context import Info
from api.graphql.execution import stand_in
from api.graphql.inputs import EdgeKind, LineageDirection, LineageFilter
from api.graphql.types import ArtifactVersion, PageInfo, StepRun
from api.storage import lineage as store
from api.storage import models
from api.storage.lineage import Key

DEFAULT_DEPTH = 3

LineageNode = Annotated[
    ArtifactVersion | StepRun,
    strawberry.union("LineageNode", description="An artifact version or a step run."),
]


@strawberry.type
class LineageEdge:
    source: strawberry.ID
    target: strawberry.ID
    kind: EdgeKind
    name: str = strawberry.field(description="The output or input name on the step run.")


@strawberry.type(description="Nodes and edges of a lineage question, paged by node.")
class LineageGraph:
    nodes: list[LineageNode]
    edges: list[LineageEdge] = strawberry.field(
        description="Edges owned by this page: each is listed with its later endpoint."
    )
    truncated: bool = strawberry.field(
        description="Depth or the page size cut the graph: raise `depth`, or page on."
    )
    page_info: PageInfo
    total_count: int = strawberry.field(description="Nodes over all pages.")


def encode_key(key: Key) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()


def decode_key(cursor: str) -> Key:
    try:
        hop, direction, kind, node = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return (int(hop), int(direction), int(kind), str(node))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise BadUserInput(
            f"invalid cursor {cursor!r}: pass `pageInfo.endCursor` of the previous page"
        ) from exc


def check_depth(info: Info, depth: int) -> None:
    maximum = info.context.settings.max_lineage_depth
    if depth < 0:
        raise BadUserInput(f"`depth` must be zero or more, got {depth}")
    if depth > maximum:
        raise LimitExceeded(
            f"lineage depth limit exceeded: `depth` is {depth}, the maximum is {maximum}; "
            "walk on from the frontier nodes of this answer",
            limit="maxLineageDepth",
            maximum=maximum,
        )


def page_size(info: Info, first: int | None) -> int:
    settings = info.context.settings
    size = settings.default_lineage_page_size if first is None else first
    if size < 0:
        raise BadUserInput(f"`first` must be zero or more, got {size}")
    if size > settings.max_lineage_page_size:
        raise LimitExceeded(
            f"lineage page size limit exceeded: `first` is {size}, the maximum is "
            f"{settings.max_lineage_page_size}; page with `after: pageInfo.endCursor`",
            limit="maxLineagePageSize",
            maximum=settings.max_lineage_page_size,
        )
    return size


async def resolve_lineage(
    info: Info,
    start: str,
    direction: LineageDirection,
    depth: int | None,
    first: int | None,
    after: str | None,
    flt: LineageFilter | None,
    as_of: datetime | None,
) -> LineageGraph:
    depth = DEFAULT_DEPTH if depth is None else depth
    check_depth(info, depth)
    size = page_size(info, first)
    cursor = decode_key(after) if after is not None else None
    query = store.LineageQuery(start=start, direction=direction, depth=depth, as_of=as_of)
    slim = slim_nodes(info)
    async with info.context.db.read() as session:
        walk = await store.walk(session, query)
        if flt is not None:
            await store.apply_filter(session, walk, flt.to_query(), as_of)
        result = await store.page(session, walk, size, cursor, **slim.columns)
    return to_graph(result, slim)


async def resolve_path(
    info: Info, source: str, target: str, as_of: datetime | None
) -> LineageGraph:
    depth = info.context.settings.max_lineage_depth
    size = info.context.settings.max_lineage_page_size
    slim = slim_nodes(info)
    async with info.context.db.read() as session:
        walk = await store.path(session, source, target, depth, as_of)
        result = await store.page(session, walk, size, None, **slim.columns)
    return to_graph(result, slim)


def to_graph(result: store.LineagePage, slim: SlimNodes | None = None) -> LineageGraph:
    slim = slim or SlimNodes()
    if slim.version is not None and result.versions:
        build = slim.version.builder(tuple(result.versions[0]._fields))
        versions = {row[0]: build(row) for row in result.versions}
    else:
        versions = {
            row.id: ArtifactVersion.from_columns(row, row.artifact_name, row.metadata)
            for row in result.versions
        }
    if slim.step is not None and result.steps:
        build = slim.step.builder(tuple(result.steps[0]._fields))
        steps = {row[0]: build(row) for row in result.steps}
    else:
        steps = {row.id: StepRun.from_model(row) for row in result.steps}
    nodes: list[ArtifactVersion | StepRun] = [
        versions[node] if node in versions else steps[node] for node in result.order
    ]
    end = encode_key(result.end_key) if result.end_key is not None else None
    return LineageGraph(
        nodes=nodes,
        edges=cast(list[LineageEdge], result.edges),  # see stand_in below
        truncated=result.truncated or result.has_next,
        page_info=PageInfo(
            has_next_page=result.has_next,
            has_previous_page=result.has_previous,
            start_cursor=encode_key(result.start_key) if result.start_key else None,
            end_cursor=end,
        ),
        total_count=result.total,
    )


# A page's edges are answered as they come from the store: a named tuple with LineageEdge's
# fields (source, target, kind, name), not copied into thousands of LineageEdge objects.
stand_in(LineageEdge, store.Edge)


# --- slim nodes ----------------------------------------------------------------------------
#
# A lineage answer of thousands of nodes spent more time reading every column of every node
# (dates parsed, JSON decoded) and building each node whole than walking the graph. When the
# selection on `nodes` asks only for plain fields listed below, the page reads just their
# columns and each node is built with just those attributes: the answer is the same (see
# tests/api/test_slim_nodes.py, which compares every listed field with the whole build), and
# any other field, argument or sub-selection takes the whole build. A slim node is a named
# tuple of just those attributes, which answers as its node type (`stand_in`): a field read by
# mistake fails loudly instead of answering null.


@dataclass(frozen=True)
class SlimField:
    column: str  # of the page's rows
    attribute: str  # of the node
    convert: Callable[[Any], Any] | None = None  # of a value that is not null


def _enum_member(enum: type[Enum]) -> Callable[[Any], Any]:
    """`enum(value)` by one dictionary lookup (the enum's own call costs a microsecond: a
    10,000-node page converts 10,000 statuses); a value it does not know goes to `enum`,
    which raises as before."""
    members = enum._value2member_map_

    def member(value: Any) -> Any:
        try:
            return members[value]
        except (KeyError, TypeError):
            return enum(value)

    return member


# GraphQL field -> how it is read, per node type: the conversions of `from_columns` and
# `from_model` for these fields. An `ID` is the column's str as it is (`strawberry.ID` is a
# NewType: calling it changes nothing).
SLIM_VERSION_FIELDS: dict[str, SlimField] = {
    "id": SlimField("id", "id"),
    "name": SlimField("artifact_name", "name"),
    "version": SlimField("version", "version"),
    "isCustomVersion": SlimField("is_custom", "is_custom_version"),
    "dataType": SlimField("data_type", "data_type"),
    "materializer": SlimField("materializer", "materializer"),
    "contentHash": SlimField("content_hash", "content_hash"),
    "sizeBytes": SlimField("size_bytes", "size_bytes"),  # BigInt: an int as it is
    "createdAt": SlimField("created_at", "created_at"),
    "source": SlimField("source", "source", _enum_member(models.ArtifactSource)),
}
SLIM_STEP_FIELDS: dict[str, SlimField] = {
    "id": SlimField("id", "id"),
    "name": SlimField("name", "name"),
    "status": SlimField("status", "status", _enum_member(models.RunStatus)),
    "cacheReason": SlimField("cache_reason", "cache_reason"),
    "startedAt": SlimField("started_at", "started_at"),
    "endedAt": SlimField("ended_at", "ended_at"),
}


@dataclass(frozen=True)
class SlimType:
    """How to build one node type from the columns its selection needs."""

    node_class: type[Any]
    fields: tuple[SlimField, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(sorted({field.column for field in self.fields} | {"id"}))

    def builder(self, columns: tuple[str, ...]) -> Callable[[Sequence[Any]], Any]:
        """A function building a node from a row of `columns`, in that order."""
        return _builder(self, columns)


def _slim_base(node_class: type[Any]) -> type[Any]:
    """The base of a node type's slim named tuples: it answers as the node type (`stand_in`,
    and Strawberry's own union resolution, which reads `__strawberry_definition__`)."""
    definition = node_class.__strawberry_definition__
    base = type(
        f"Slim{node_class.__name__}",
        (),
        {"__slots__": (), "__strawberry_definition__": definition, "__module__": __name__},
    )
    stand_in(node_class, base)
    return base


_SLIM_BASES = {node_class: _slim_base(node_class) for node_class in (ArtifactVersion, StepRun)}


@lru_cache(maxsize=256)
def _builder(slim: SlimType, columns: tuple[str, ...]) -> Callable[[Sequence[Any]], Any]:
    # A node is a named tuple built from the row's values by position (a named read of a
    # SQLAlchemy row costs 15 times more, building an object and its attribute dict 3 times
    # more): thousands of nodes per page.
    position = {name: i for i, name in enumerate(columns)}
    attributes = [field.attribute for field in slim.fields]
    base = _SLIM_BASES[slim.node_class]
    fields = namedtuple(base.__name__, attributes)  # type: ignore[misc]  # noqa: PYI024
    node_class = type(base.__name__, (fields, base), {"__slots__": ()})
    indexes = [position[field.column] for field in slim.fields]
    values: Callable[[Sequence[Any]], Sequence[Any]]
    if len(indexes) > 1:
        values = itemgetter(*indexes)
    else:  # itemgetter of one index answers the value, not a tuple
        values = lambda row: tuple(row[i] for i in indexes)  # noqa: E731
    converts = [(i, f.convert) for i, f in enumerate(slim.fields) if f.convert is not None]
    new = tuple.__new__

    if not converts:

        def build(row: Sequence[Any]) -> Any:
            return new(node_class, values(row))

        return build

    def build_converted(row: Sequence[Any]) -> Any:
        found = list(values(row))
        for i, convert in converts:
            if found[i] is not None:
                found[i] = convert(found[i])
        return new(node_class, found)

    return build_converted


@dataclass(frozen=True)
class SlimNodes:
    """The slim builds of a lineage answer's node types (None: the whole build)."""

    version: SlimType | None = None
    step: SlimType | None = None

    @property
    def columns(self) -> dict[str, tuple[str, ...] | None]:
        """`store.page`'s keyword arguments: the columns to read (None: all)."""
        return {
            "version_columns": None if self.version is None else self.version.column_names,
            "step_columns": None if self.step is None else self.step.column_names,
        }


_TYPES = {"ArtifactVersion": "version", "StepRun": "step"}


def slim_nodes(info: Info) -> SlimNodes:
    """The slim builds the selection on `nodes` allows, by node type."""
    names: dict[str, set[str]] = {"version": set(), "step": set()}
    try:
        for field in info.selected_fields:
            for nodes in _nodes_fields(field.selections):
                _collect(nodes.selections, set(names), names)
    except _NotSlim:
        return SlimNodes()
    return SlimNodes(
        version=_slim_type(ArtifactVersion, SLIM_VERSION_FIELDS, names["version"]),
        step=_slim_type(StepRun, SLIM_STEP_FIELDS, names["step"]),
    )


class _NotSlim(Exception):
    pass


def _nodes_fields(selections: Any) -> list[SelectedField]:
    """The `nodes` fields among a LineageGraph's selections, through its fragments."""
    found = []
    for selection in selections:
        if isinstance(selection, SelectedField):
            if selection.name == "nodes":
                found.append(selection)
        elif isinstance(selection, InlineFragment | FragmentSpread):
            if selection.type_condition not in (None, "LineageGraph"):
                raise _NotSlim
            found += _nodes_fields(selection.selections)
        else:
            raise _NotSlim
    return found


def _collect(selections: Any, kinds: set[str], names: dict[str, set[str]]) -> None:
    for selection in selections:
        if isinstance(selection, SelectedField):
            if selection.arguments or selection.selections:
                raise _NotSlim
            for kind in kinds:
                names[kind].add(selection.name)
        elif isinstance(selection, InlineFragment | FragmentSpread):
            condition = selection.type_condition
            if condition in _TYPES:
                _collect(selection.selections, kinds & {_TYPES[condition]}, names)
            elif condition in (None, "LineageNode"):
                _collect(selection.selections, kinds, names)
            else:
                raise _NotSlim  # not a type this resolver knows
        else:
            raise _NotSlim


def _slim_type(
    node_class: type[Any], known: dict[str, SlimField], selected: set[str]
) -> SlimType | None:
    selected = selected - {"__typename"}
    if not selected <= known.keys():
        return None
    return SlimType(node_class, tuple(known[name] for name in sorted(selected)))
