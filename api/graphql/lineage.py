"""Lineage as a flat graph: `nodes` (the same ArtifactVersion and StepRun types as everywhere)
and `edges`, paged by node, with `truncated` whenever depth or the page cut the answer."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Annotated

import strawberry

from api.errors import BadUserInput, LimitExceeded
from api.graphql.context import Info
from api.graphql.inputs import EdgeKind, LineageDirection, LineageFilter
from api.graphql.types import ArtifactVersion, PageInfo, StepRun
from api.storage import lineage as store
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
    async with info.context.db.read() as session:
        walk = await store.walk(session, query)
        if flt is not None:
            await store.apply_filter(session, walk, flt.to_query(), as_of)
        result = await store.page(session, walk, size, cursor)
    return to_graph(result)


async def resolve_path(
    info: Info, source: str, target: str, as_of: datetime | None
) -> LineageGraph:
    depth = info.context.settings.max_lineage_depth
    size = info.context.settings.max_lineage_page_size
    async with info.context.db.read() as session:
        walk = await store.path(session, source, target, depth, as_of)
        result = await store.page(session, walk, size, None)
    return to_graph(result)


def to_graph(result: store.LineagePage) -> LineageGraph:
    versions = {
        row.id: ArtifactVersion.from_columns(row, row.artifact_name, row.metadata)
        for row in result.versions
    }
    steps = {row.id: StepRun.from_model(row) for row in result.steps}
    nodes: list[ArtifactVersion | StepRun] = [
        versions[node] if node in versions else steps[node] for node in result.order
    ]
    end = encode_key(result.end_key) if result.end_key is not None else None
    return LineageGraph(
        nodes=nodes,
        edges=[
            LineageEdge(
                source=strawberry.ID(e.source),
                target=strawberry.ID(e.target),
                kind=e.kind,
                name=e.name,
            )
            for e in result.edges
        ],
        truncated=result.truncated or result.has_next,
        page_info=PageInfo(
            has_next_page=result.has_next,
            has_previous_page=result.has_previous,
            start_cursor=encode_key(result.start_key) if result.start_key else None,
            end_cursor=end,
        ),
        total_count=result.total,
    )
