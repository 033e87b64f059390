"""Output types, built from storage rows with `from_model`; relations resolve through loaders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar, cast

import strawberry
from strawberry.scalars import JSON

from api.graphql.context import Info
from api.graphql.inputs import (
    ArtifactSource,
    BigInt,
    LineageDirection,
    LineageFilter,
    RunStatus,
    VisualizationType,
)
from api.storage import aliases as alias_store
from api.storage import artifacts as artifact_store
from api.storage import models
from api.storage import runs as run_store
from api.storage.locations import is_relative, locate
from api.storage.pagination import Page, count, page_request, paginate

if TYPE_CHECKING:
    from api.graphql.lineage import LineageGraph

T = TypeVar("T")
Row = TypeVar("Row")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    node: T
    cursor: str


@strawberry.type(description="A Relay connection, paged in SQL by keyset cursors.")
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    count_rows: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="Rows matching the query, over all pages.")
    async def total_count(self) -> int:
        return await self.count_rows()


async def connection(
    info: Info,
    stmt: Any,
    keys: Sequence[Any],
    convert: Callable[[Any], T],
    first: int | None,
    after: str | None,
    *,
    descending: bool = False,
) -> Connection[T]:
    """Page `stmt` by `keys` and convert each row; `totalCount` runs only when selected."""
    settings = info.context.settings
    request = page_request(
        first, after, default=settings.default_page_size, maximum=settings.max_page_size
    )
    db = info.context.db
    async with db.read() as session:
        page: Page[Any] = await paginate(session, stmt, keys, request, descending=descending)

    async def count_rows() -> int:
        async with db.read() as session:
            return await count(session, stmt)

    edges = [
        Edge(node=convert(row), cursor=c) for row, c in zip(page.items, page.cursors, strict=True)
    ]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous,
            start_cursor=page.cursors[0] if page.cursors else None,
            end_cursor=page.cursors[-1] if page.cursors else None,
        ),
        count_rows=count_rows,
    )


@strawberry.type(description="A named artifact; its versions are `1`, `2`, … or custom strings.")
class Artifact:
    id: strawberry.ID
    name: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, row: models.Artifact) -> Artifact:
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field
    async def tags(self, info: Info) -> list[str]:
        return await info.context.loaders.artifact_tags.load(self.id)

    @strawberry.field(description="Its aliases, by name (`latest` is built in and not listed).")
    async def aliases(self, info: Info) -> list[ArtifactAlias]:
        async with info.context.db.read() as session:
            found = await alias_store.aliases_of_artifacts(session, [self.id])
        return [ArtifactAlias.from_model(row) for row in found.get(self.id, [])]

    @strawberry.field(description="Every move of its aliases (of `alias` if given), oldest first.")
    async def alias_history(self, info: Info, alias: str | None = None) -> list[AliasMove]:
        async with info.context.db.read() as session:
            moves = await alias_store.history(session, self.id, alias)
        return [AliasMove.from_model(move) for move in moves]

    @strawberry.field(description="False for a default name (`pipeline::step::output`).")
    def has_custom_name(self) -> bool:
        return artifact_store.has_custom_name(self.name)

    @strawberry.field(description="The most recently created version (as of `asOf` if given).")
    async def latest_version(
        self, info: Info, as_of: datetime | None = None
    ) -> ArtifactVersion | None:
        if as_of is None:
            row = await info.context.loaders.latest_version.load(self.id)
        else:
            async with info.context.db.read() as session:
                row = await artifact_store.latest_version(session, self.id, as_of)
        return ArtifactVersion.from_model(row) if row else None

    @strawberry.field(description="Versions in creation order, oldest first unless `newestFirst`.")
    async def versions(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        newest_first: bool = False,
        tag: str | None = None,
    ) -> Connection[ArtifactVersion]:
        stmt = artifact_store.artifact_versions_stmt(self.id, tag)
        keys = [models.ArtifactVersion.seq]
        return await connection(
            info, stmt, keys, ArtifactVersion.from_model, first, after, descending=newest_first
        )

    @strawberry.field
    async def version_count(self, info: Info) -> int:
        return await info.context.loaders.version_count.load(self.id)

    @strawberry.field(
        description="How many of its versions carry `tag` (with `tags`, says whether an "
        "`artifacts(filter: {tag})` match is the artifact's own tag, its versions', or both)."
    )
    async def tagged_version_count(self, info: Info, tag: str) -> int:
        async with info.context.db.read() as session:
            counts = await artifact_store.tagged_version_counts(session, [self.id], tag)
        return counts.get(self.id, 0)


@strawberry.type(description="A view of an artifact version's data, saved next to it.")
class Visualization:
    type: VisualizationType
    uri: str = strawberry.field(description="Where the file lies in the artifact store.")
    url: str = strawberry.field(
        description="Where this server serves it (a path on this server), with its content type."
    )


def visualization_url(version_id: str, index: int) -> str:
    return f"/artifact-versions/{version_id}/visualizations/{index}"


@strawberry.type(description="One immutable version of an artifact: data at `uri` plus metadata.")
class ArtifactVersion:
    id: strawberry.ID
    name: str = strawberry.field(description="The artifact's name.")
    version: str
    is_custom_version: bool
    data_type: str
    materializer: str
    content_hash: str | None
    size_bytes: BigInt | None
    metadata: JSON
    created_at: datetime
    source: ArtifactSource
    data_deleted_at: datetime | None = strawberry.field(
        description="When prune deleted (or began deleting) this version's data; loading it "
        "then fails with a clear error, and no step run may consume it."
    )
    artifact_id: strawberry.Private[str]
    producer_id: strawberry.Private[str | None]
    stored_uri: strawberry.Private[str]
    visualization_rows: strawberry.Private[list[dict[str, Any]] | None] = None

    @strawberry.field(
        description="Where the data lies: the store-relative location joined to this server's "
        "artifact store (a location recorded outside any store is given as it was)."
    )
    def uri(self, info: Info) -> str:
        return locate(info.context.settings.artifact_store, self.stored_uri)

    @strawberry.field(
        description="The data's location relative to the artifact store's root (null for a "
        "location recorded outside the store): what stays true when the store is moved."
    )
    def store_path(self) -> str | None:
        return self.stored_uri if is_relative(self.stored_uri) else None

    @classmethod
    def from_model(cls, row: models.ArtifactVersion) -> ArtifactVersion:
        return cls.from_columns(row, row.artifact.name, row.metadata_)

    @classmethod
    def from_columns(cls, row: Any, name: str, metadata: dict[str, Any]) -> ArtifactVersion:
        """From an ORM row or a plain result row with the table's column names."""
        return cls(
            id=strawberry.ID(row.id),
            name=name,
            version=row.version,
            is_custom_version=row.is_custom,
            stored_uri=row.uri,
            data_type=row.data_type,
            materializer=row.materializer,
            content_hash=row.content_hash,
            size_bytes=None if row.size_bytes is None else BigInt(row.size_bytes),
            metadata=cast(JSON, metadata),
            created_at=row.created_at,
            source=models.ArtifactSource(row.source),
            data_deleted_at=row.data_deleted_at,
            artifact_id=row.artifact_id,
            producer_id=row.producer_step_run_id,
            visualization_rows=row.visualizations,
        )

    @strawberry.field(description="Views of the data saved with it (HTML, Markdown, PNG, ...).")
    def visualizations(self, info: Info) -> list[Visualization]:
        store = info.context.settings.artifact_store
        return [
            Visualization(
                type=VisualizationType(entry["type"]),
                uri=locate(store, str(entry["uri"])),
                url=visualization_url(self.id, index),
            )
            for index, entry in enumerate(self.visualization_rows or [])
        ]

    @strawberry.field
    async def artifact(self, info: Info) -> Artifact:
        row = await info.context.loaders.artifact.load(self.artifact_id)
        assert row is not None
        return Artifact.from_model(row)

    @strawberry.field
    async def tags(self, info: Info) -> list[str]:
        return await info.context.loaders.version_tags.load(self.id)

    @strawberry.field(description="The aliases pointing at this version (`production`, ...).")
    async def aliases(self, info: Info) -> list[str]:
        return await info.context.loaders.version_aliases.load(self.id)

    async def _producer(self, info: Info) -> models.StepRun | None:
        if self.producer_id is None:
            return None
        return await info.context.loaders.step_run.load(self.producer_id)

    @strawberry.field(description="The step run that created this version (null when saved).")
    async def producer(self, info: Info) -> StepRun | None:
        row = await self._producer(info)
        return StepRun.from_model(row) if row else None

    @strawberry.field(description="Step runs that took this version as an input.")
    async def consumers(self, info: Info) -> list[StepRun]:
        rows = await info.context.loaders.consumers.load(self.id)
        return [StepRun.from_model(row) for row in rows]

    @strawberry.field(description="How this version was made: producers and their inputs.")
    async def upstream(
        self,
        info: Info,
        depth: int | None = 3,
        first: int | None = None,
        after: str | None = None,
        filter: LineageFilter | None = None,
        as_of: datetime | None = None,
    ) -> Annotated[LineageGraph, strawberry.lazy("api.graphql.lineage")]:
        from api.graphql.lineage import resolve_lineage

        return await resolve_lineage(
            info, self.id, LineageDirection.UPSTREAM, depth, first, after, filter, as_of
        )

    @strawberry.field(description="What was built from this version, across pipelines.")
    async def downstream(
        self,
        info: Info,
        depth: int | None = 3,
        first: int | None = None,
        after: str | None = None,
        filter: LineageFilter | None = None,
        as_of: datetime | None = None,
    ) -> Annotated[LineageGraph, strawberry.lazy("api.graphql.lineage")]:
        from api.graphql.lineage import resolve_lineage

        return await resolve_lineage(
            info, self.id, LineageDirection.DOWNSTREAM, depth, first, after, filter, as_of
        )

    @strawberry.field(description="The pipeline run whose step created this version.")
    async def run(self, info: Info) -> PipelineRun | None:
        producer = await self._producer(info)
        if producer is None:
            return None
        row = await info.context.loaders.run.load(producer.run_id)
        return PipelineRun.from_model(row) if row else None


@strawberry.type
class Pipeline:
    id: strawberry.ID
    name: str
    created_at: datetime

    @classmethod
    def from_model(cls, row: models.Pipeline) -> Pipeline:
        return cls(id=strawberry.ID(row.id), name=row.name, created_at=row.created_at)

    @strawberry.field(description="Runs, newest first.")
    async def runs(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[PipelineRun]:
        stmt = run_store.runs_stmt(None, pipeline_id=self.id)
        keys = [models.PipelineRun.started_at, models.PipelineRun.id]
        return await connection(
            info, stmt, keys, PipelineRun.from_model, first, after, descending=True
        )

    @strawberry.field
    async def last_run(self, info: Info) -> PipelineRun | None:
        row = await info.context.loaders.last_run.load(self.id)
        return PipelineRun.from_model(row) if row else None


@strawberry.type
class PipelineRun:
    id: strawberry.ID
    name: str
    status: RunStatus
    started_at: datetime
    ended_at: datetime | None
    error: str | None
    pipeline_id: strawberry.Private[str]

    @classmethod
    def from_model(cls, row: models.PipelineRun) -> PipelineRun:
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            status=models.RunStatus(row.status),
            started_at=row.started_at,
            ended_at=row.ended_at,
            error=row.error,
            pipeline_id=row.pipeline_id,
        )

    @strawberry.field
    async def pipeline(self, info: Info) -> Pipeline:
        row = await info.context.loaders.pipeline.load(self.pipeline_id)
        assert row is not None
        return Pipeline.from_model(row)

    @strawberry.field(description="Step runs in the order they started.")
    async def steps(self, info: Info) -> list[StepRun]:
        rows = await info.context.loaders.run_steps.load(self.id)
        return [StepRun.from_model(row) for row in rows]

    @strawberry.field
    async def step(self, info: Info, name: str) -> StepRun | None:
        rows = await info.context.loaders.run_steps.load(self.id)
        return next((StepRun.from_model(r) for r in rows if r.name == name), None)


@strawberry.type(description="An artifact version attached to a step under an input/output name.")
class StepArtifact:
    name: str
    artifact_version_id: strawberry.Private[str]

    @strawberry.field
    async def artifact_version(self, info: Info) -> ArtifactVersion:
        row = await info.context.loaders.version.load(self.artifact_version_id)
        assert row is not None
        return ArtifactVersion.from_model(row)


@strawberry.type
class StepRun:
    id: strawberry.ID
    name: str
    status: RunStatus
    cache_key: str | None
    cache_reason: str | None = strawberry.field(
        description="Why the step was cached (from which run) or why the cache missed."
    )
    code_hash: str | None
    parameters: JSON
    started_at: datetime
    ended_at: datetime | None
    error: str | None
    run_id: strawberry.Private[str]
    original_id: strawberry.Private[str | None]

    @classmethod
    def from_model(cls, row: models.StepRun | Any) -> StepRun:
        """From an ORM row or a plain result row of `step_runs`."""
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            status=models.RunStatus(row.status),
            cache_key=row.cache_key,
            cache_reason=row.cache_reason,
            code_hash=row.code_hash,
            parameters=cast(JSON, row.parameters),
            started_at=row.started_at,
            ended_at=row.ended_at,
            error=row.error,
            run_id=row.run_id,
            original_id=row.original_step_run_id,
        )

    @strawberry.field
    async def inputs(self, info: Info) -> list[StepArtifact]:
        edges = await info.context.loaders.step_inputs.load(self.id)
        return [StepArtifact(name=name, artifact_version_id=vid) for name, vid in edges]

    @strawberry.field
    async def outputs(self, info: Info) -> list[StepArtifact]:
        edges = await info.context.loaders.step_outputs.load(self.id)
        return [StepArtifact(name=name, artifact_version_id=vid) for name, vid in edges]

    @strawberry.field(description="For a CACHED step run: the run that really executed.")
    async def original_step_run(self, info: Info) -> StepRun | None:
        if self.original_id is None:
            return None
        row = await info.context.loaders.step_run.load(self.original_id)
        return StepRun.from_model(row) if row else None

    @strawberry.field
    async def run(self, info: Info) -> PipelineRun:
        row = await info.context.loaders.run.load(self.run_id)
        assert row is not None
        return PipelineRun.from_model(row)


@strawberry.type(description="A movable name pointing at exactly one version of an artifact.")
class ArtifactAlias:
    name: str
    protected: bool = strawberry.field(description="Moving or removing it needs `force`.")
    updated_at: datetime
    version_id: strawberry.Private[str]

    @classmethod
    def from_model(cls, row: models.ArtifactAlias) -> ArtifactAlias:
        return cls(
            name=row.name,
            protected=row.protected,
            updated_at=row.updated_at,
            version_id=row.artifact_version_id,
        )

    @strawberry.field(description="The version it points at.")
    async def version(self, info: Info) -> ArtifactVersion:
        row = await info.context.loaders.version.load(self.version_id)
        assert row is not None  # an alias's version cannot be deleted
        return ArtifactVersion.from_model(row)


@strawberry.type(description="One move of an alias: from a version to another (null: none).")
class AliasMove:
    alias: str
    moved_at: datetime
    moved_by: str | None = strawberry.field(
        description="The name of the token that moved it (null in-process or without tokens)."
    )
    from_id: strawberry.Private[str | None]
    to_id: strawberry.Private[str | None]

    @classmethod
    def from_model(cls, row: models.AliasMove) -> AliasMove:
        return cls(
            alias=row.alias,
            moved_at=row.moved_at,
            moved_by=row.moved_by,
            from_id=row.from_version_id,
            to_id=row.to_version_id,
        )

    async def _version(self, info: Info, version_id: str | None) -> ArtifactVersion | None:
        row = None if version_id is None else await info.context.loaders.version.load(version_id)
        return None if row is None else ArtifactVersion.from_model(row)

    @strawberry.field(description="Where it pointed before (null: it was created).")
    async def from_version(self, info: Info) -> ArtifactVersion | None:
        return await self._version(info, self.from_id)

    @strawberry.field(description="Where it points since (null: it was removed).")
    async def to_version(self, info: Info) -> ArtifactVersion | None:
        return await self._version(info, self.to_id)


@strawberry.type(description="What this server is and where its artifact store lives.")
class ServerInfo:
    version: str
    artifact_store: str
    database: str
    store_id: str | None = strawberry.field(
        default=None,
        description="The identity of the store this database describes; the SDK writes it at "
        "the artifact store's root too, and prune refuses a store whose identity differs.",
    )
