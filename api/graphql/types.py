"""Output types, built from storage rows with `from_model`; relations resolve through loaders.

Relation resolvers are plain functions (`load`): a value the request's loaders hold already (a
mutation primed them with the rows it wrote, or an earlier field loaded it) is answered at
once, and only a value still to be read is awaited. An `async def` resolver costs a coroutine
of Strawberry's, graphql-core's awaiting of it and, with two or more in one selection, an
asyncio task each, even when the value is there: about 20-30 µs a field, where the rest of the
field costs 3-5."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar, cast
from weakref import WeakKeyDictionary

import strawberry
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON

from api.graphql.context import Info
from api.graphql.inputs import (
    ArtifactSource,
    ArtifactType,
    BigInt,
    LineageDirection,
    LineageFilter,
    RunStatus,
    VisualizationType,
)
from api.graphql.metadata import MetadataEntry, MetadataOwner, resolve_run_metadata
from api.graphql.openlineage import (
    OpenLineageDataset,
    OpenLineageRun,
    pipeline_run_key,
    step_run_key,
)
from api.storage import aliases as alias_store
from api.storage import artifacts as artifact_store
from api.storage import models
from api.storage import runs as run_store
from api.storage.base import rows_by_id
from api.storage.locations import is_relative, locate
from api.storage.pagination import Page, count, page_request, paginate

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from api.graphql.lineage import LineageGraph
    from api.graphql.loaders import Loaders
    from api.storage.engine import Database

T = TypeVar("T")
Row = TypeVar("Row")
K = TypeVar("K")
V = TypeVar("V")
R = TypeVar("R")

_MISSING: Any = object()
RUN_METADATA = (
    "Values logged with `logMetadata` (or `log_metadata` in the SDK), by key, with their "
    "types; apart from the metadata materializers extract."
)


def loaded(loader: DataLoader[K, V], key: K) -> V:
    """The value `loader` holds for `key` (primed, or loaded earlier in this request), else
    `_MISSING`."""
    future = loader.cache_map.get(key)
    if future is None or not future.done() or future.cancelled() or future.exception() is not None:
        return cast(V, _MISSING)
    return future.result()


def load(loader: DataLoader[K, V], key: K, convert: Callable[[V], R]) -> R:
    """`convert` of the value `loader` has for `key`: at once when the loader holds it, else
    an awaitable of it (graphql-core awaits what a resolver returns). Typed as the value, so
    that a resolver keeps the annotation Strawberry derives the field's type from."""
    value = loaded(loader, key)
    if value is not _MISSING:
        return convert(value)
    future = loader.load(key)

    async def later() -> R:
        return convert(await future)

    return cast(R, later())


def _same(value: V) -> V:
    return value


def _count_of(summary: artifact_store.VersionSummary) -> int:
    return summary.version_count


def _latest_of(summary: artifact_store.VersionSummary) -> ArtifactVersion | None:
    return ArtifactVersion.from_row(summary.latest)


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

    return connection_of(page, convert, count_rows)


def connection_of(
    page: Page[Any], convert: Callable[[Any], T], count_rows: Callable[[], Awaitable[int]]
) -> Connection[T]:
    """One page's rows, converted, as a connection; `totalCount` calls `count_rows`."""
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

    @classmethod
    def from_present(cls, row: models.Artifact | None) -> Artifact:
        """A row that must exist (a version's artifact)."""
        assert row is not None
        return cls.from_model(row)

    @strawberry.field
    def tags(self, info: Info) -> list[str]:
        return load(info.context.loaders.artifact_tags, self.id, _same)

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
    def latest_version(self, info: Info, as_of: datetime | None = None) -> ArtifactVersion | None:
        if as_of is None:
            return load(info.context.loaders.version_summary, self.id, _latest_of)

        async def read() -> ArtifactVersion | None:
            async with info.context.db.read() as session:
                row = await artifact_store.latest_version(session, self.id, as_of)
            return ArtifactVersion.from_row(row)

        return cast(ArtifactVersion | None, read())

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
    def version_count(self, info: Info) -> int:
        return load(info.context.loaders.version_summary, self.id, _count_of)

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
    artifact_type: ArtifactType = strawberry.field(
        description="What it holds: DATA, MODEL, ... (ZenML's artifact types)."
    )
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
    def from_row(cls, row: models.ArtifactVersion | None) -> ArtifactVersion | None:
        return None if row is None else cls.from_model(row)

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
            artifact_type=models.ArtifactType(getattr(row, "artifact_type", None) or "DATA"),
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
    def artifact(self, info: Info) -> Artifact:
        return load(info.context.loaders.artifact, self.artifact_id, Artifact.from_present)

    @strawberry.field
    def tags(self, info: Info) -> list[str]:
        return load(info.context.loaders.version_tags, self.id, _same)

    @strawberry.field(description="The aliases pointing at this version (`production`, ...).")
    def aliases(self, info: Info) -> list[str]:
        return load(info.context.loaders.version_aliases, self.id, _same)

    @strawberry.field(description=RUN_METADATA)
    def run_metadata(self, info: Info) -> list[MetadataEntry]:
        return resolve_run_metadata(info, MetadataOwner.ARTIFACT_VERSION, self.id)

    @strawberry.field(description="The step run that created this version (null when saved).")
    def producer(self, info: Info) -> StepRun | None:
        if self.producer_id is None:
            return None
        return load(info.context.loaders.step_run, self.producer_id, StepRun.from_row)

    @strawberry.field(description="Step runs that took this version as an input.")
    def consumers(self, info: Info) -> list[StepRun]:
        return load(info.context.loaders.consumers, self.id, StepRun.from_rows)

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

    @strawberry.field(
        description="The OpenLineage dataset it stands for, when OpenLineage events from "
        "another tool made it (null for the store's own versions)."
    )
    def openlineage(self) -> OpenLineageDataset | None:
        return OpenLineageDataset.from_version(self.data_type, self.materializer, self.metadata)

    @strawberry.field(description="The pipeline run whose step created this version.")
    def run(self, info: Info) -> PipelineRun | None:
        if self.producer_id is None:
            return None
        loaders = info.context.loaders
        producer = loaded(loaders.step_run, self.producer_id)
        if producer is not _MISSING:
            if producer is None:
                return None
            return load(loaders.run, producer.run_id, PipelineRun.from_row)

        async def read() -> PipelineRun | None:
            row = await loaders.step_run.load(cast(str, self.producer_id))
            if row is None:
                return None
            return PipelineRun.from_row(await loaders.run.load(row.run_id))

        return cast(PipelineRun | None, read())


@strawberry.type
class Pipeline:
    id: strawberry.ID
    name: str
    created_at: datetime

    @classmethod
    def from_model(cls, row: models.Pipeline) -> Pipeline:
        return cls(id=strawberry.ID(row.id), name=row.name, created_at=row.created_at)

    @classmethod
    def from_present(cls, row: models.Pipeline | None) -> Pipeline:
        """A row that must exist (a run's pipeline)."""
        assert row is not None
        return cls.from_model(row)

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
    def last_run(self, info: Info) -> PipelineRun | None:
        return load(info.context.loaders.last_run, self.id, PipelineRun.from_row)

    @strawberry.field(description="How many runs it has had, whatever their status.")
    def run_count(self, info: Info) -> int:
        return load(info.context.loaders.run_counts, self.id, _all_runs)

    @strawberry.field(description="Its runs that succeeded: COMPLETED or CACHED.")
    def success_count(self, info: Info) -> int:
        return load(info.context.loaders.run_counts, self.id, _succeeded)

    @strawberry.field(description="Its runs that did not: FAILED or ABANDONED.")
    def failure_count(self, info: Info) -> int:
        return load(info.context.loaders.run_counts, self.id, _failed)


def _all_runs(counts: dict[str, int]) -> int:
    return sum(counts.values())


def _succeeded(counts: dict[str, int]) -> int:
    return counts.get(RunStatus.COMPLETED, 0) + counts.get(RunStatus.CACHED, 0)


def _failed(counts: dict[str, int]) -> int:
    return counts.get(RunStatus.FAILED, 0) + counts.get(RunStatus.ABANDONED, 0)


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

    @classmethod
    def from_row(cls, row: models.PipelineRun | None) -> PipelineRun | None:
        return None if row is None else cls.from_model(row)

    @strawberry.field
    def pipeline(self, info: Info) -> Pipeline:
        return load(info.context.loaders.pipeline, self.pipeline_id, Pipeline.from_present)

    @strawberry.field(
        description="The OpenLineage run it stands for, when another tool's OpenLineage "
        "events made it (null for the store's own runs)."
    )
    def openlineage(self, info: Info) -> OpenLineageRun | None:
        key = pipeline_run_key(self.id, self.name)
        if key is None:
            return None
        return load(info.context.loaders.openlineage_run, key, OpenLineageRun.from_summary)

    @strawberry.field(description="Step runs in the order they started.")
    def steps(self, info: Info) -> list[StepRun]:
        loaders = info.context.loaders
        rows = loaded(loaders.run_steps, self.id)
        if rows is not _MISSING:
            return StepRun.from_rows(rows)
        needs = step_needs(info._raw_info.field_nodes, info._raw_info.fragments)
        if needs == NO_NEEDS:
            return load(loaders.run_steps, self.id, StepRun.from_rows)
        prefetch = steps_with_relations(info.context.db, loaders)
        return load(prefetch, (self.id, needs), StepRun.from_rows)

    @strawberry.field
    def step(self, info: Info, name: str) -> StepRun | None:
        def named(rows: list[models.StepRun]) -> StepRun | None:
            return next((StepRun.from_model(r) for r in rows if r.name == name), None)

        return load(info.context.loaders.run_steps, self.id, named)

    @strawberry.field(description=RUN_METADATA)
    def run_metadata(self, info: Info) -> list[MetadataEntry]:
        return resolve_run_metadata(info, MetadataOwner.PIPELINE_RUN, self.id)


@strawberry.type(description="An artifact version attached to a step under an input/output name.")
class StepArtifact:
    name: str
    artifact_version_id: strawberry.Private[str]

    @strawberry.field
    def artifact_version(self, info: Info) -> ArtifactVersion:
        return load(info.context.loaders.version, self.artifact_version_id, _present_version)


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

    @classmethod
    def from_row(cls, row: models.StepRun | None) -> StepRun | None:
        return None if row is None else cls.from_model(row)

    @classmethod
    def from_rows(cls, rows: Sequence[models.StepRun]) -> list[StepRun]:
        return [cls.from_model(row) for row in rows]

    @strawberry.field
    def inputs(self, info: Info) -> list[StepArtifact]:
        return load(info.context.loaders.step_inputs, self.id, _step_artifacts)

    @strawberry.field
    def outputs(self, info: Info) -> list[StepArtifact]:
        return load(info.context.loaders.step_outputs, self.id, _step_artifacts)

    @strawberry.field(description="For a CACHED step run: the run that really executed.")
    def original_step_run(self, info: Info) -> StepRun | None:
        if self.original_id is None:
            return None
        return load(info.context.loaders.step_run, self.original_id, StepRun.from_row)

    @strawberry.field
    def run(self, info: Info) -> PipelineRun:
        return load(info.context.loaders.run, self.run_id, _present_run)

    @strawberry.field(description=RUN_METADATA)
    def run_metadata(self, info: Info) -> list[MetadataEntry]:
        return resolve_run_metadata(info, MetadataOwner.STEP_RUN, self.id)

    @strawberry.field(
        description="The OpenLineage run it stands for, when another tool's OpenLineage "
        "events made it: a child job's run, or the job run whose lineage this step holds "
        "(null for the store's own step runs)."
    )
    def openlineage(self, info: Info) -> OpenLineageRun | None:
        key = step_run_key(self.id, self.parameters)
        if key is None:
            return None
        return load(info.context.loaders.openlineage_run, key, OpenLineageRun.from_summary)


@dataclass(frozen=True)
class StepNeeds:
    """The relations a selection of step runs reads through loaders, nested below it."""

    inputs: bool = False
    outputs: bool = False
    versions: bool = False  # `artifactVersion` of an input or output
    tags: bool = False  # ... and its `tags`
    producers: bool = False  # ... and its `producer` or `run`
    originals: bool = False  # `originalStepRun`
    original_runs: bool = False  # ... and its `run`


_NEEDS_FIELDS = (
    "inputs",
    "outputs",
    "versions",
    "tags",
    "producers",
    "originals",
    "original_runs",
)


def step_needs(
    field_nodes: Sequence[FieldNode], fragments: Mapping[str, FragmentDefinitionNode]
) -> StepNeeds:
    """What the fields (a `steps` field and its repeats) select below them, through
    fragments; `@skip`/`@include` are not looked at (reading a relation a directive skips
    only reads ahead)."""
    steps = _below([node.selection_set for node in field_nodes], fragments)
    edges = _below(steps.get("inputs", []) + steps.get("outputs", []), fragments)
    versions = _below(edges.get("artifactVersion", []), fragments)
    return StepNeeds(
        inputs="inputs" in steps,
        outputs="outputs" in steps,
        versions="artifactVersion" in edges,
        tags="tags" in versions,
        producers="producer" in versions or "run" in versions,
        originals="originalStepRun" in steps,
        original_runs="run" in _below(steps.get("originalStepRun", []), fragments),
    )


def _below(
    selection_sets: Sequence[SelectionSetNode | None],
    fragments: Mapping[str, FragmentDefinitionNode],
) -> dict[str, list[SelectionSetNode | None]]:
    """Field name -> the selection sets of the fields of that name in `selection_sets`,
    inline fragments and fragment spreads included (each fragment once)."""
    found: dict[str, list[SelectionSetNode | None]] = {}
    pending = [s for s in selection_sets if s is not None]
    spread: set[str] = set()
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                found.setdefault(selection.name.value, []).append(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in spread and name in fragments:
                    spread.add(name)
                    pending.append(fragments[name].selection_set)
    return found


NO_NEEDS = StepNeeds()

# Per request (its Loaders): the loader of step runs with their relations, by (run, needs).
_PREFETCHERS: WeakKeyDictionary[Loaders, DataLoader[Any, list[models.StepRun]]] = (
    WeakKeyDictionary()
)


def steps_with_relations(
    db: Database, loaders: Loaders
) -> DataLoader[tuple[str, StepNeeds], list[models.StepRun]]:
    """The request's loader of runs' steps that also reads, in the same session, the
    relations their selection reads through loaders below them (`StepNeeds`), and primes
    those loaders with them: the nested fields then resolve at once instead of each awaiting a
    loader (an asyncio task a field), and one session replaces one per relation. The
    statements are the ones the loaders would issue, batched over every run the request asks
    for (no statement per run)."""
    prefetcher = _PREFETCHERS.get(loaders)
    if prefetcher is None:

        async def fetch(keys: list[tuple[str, StepNeeds]]) -> list[list[models.StepRun]]:
            needs = StepNeeds(*(any(getattr(n, f) for _, n in keys) for f in _NEEDS_FIELDS))
            run_ids = list(dict.fromkeys(run_id for run_id, _ in keys))
            async with db.read() as session:
                steps = await run_store.steps_of_runs(session, run_ids)
                await _read_relations(session, loaders, steps, needs)
            for run_id in run_ids:
                loaders.run_steps.prime(run_id, steps.get(run_id, []))
            return [steps.get(run_id, []) for run_id, _ in keys]

        prefetcher = _PREFETCHERS[loaders] = DataLoader(load_fn=fetch)
    return prefetcher


async def _read_relations(
    session: AsyncSession,
    loaders: Loaders,
    steps: Mapping[str, Sequence[models.StepRun]],
    needs: StepNeeds,
) -> None:
    rows = [row for group in steps.values() for row in group]
    ids = [row.id for row in rows]
    if not ids:
        return
    version_ids: dict[str, None] = {}
    read: list[tuple[Mapping[str, list[tuple[str, str]]], Any]] = []
    if needs.inputs and needs.outputs:  # one statement for both
        inputs, outputs = await run_store.inputs_and_outputs_of_steps(session, ids)
        read = [(inputs, loaders.step_inputs), (outputs, loaders.step_outputs)]
    elif needs.inputs or needs.outputs:
        edges = await run_store.edges_of_steps(session, ids, outputs=needs.outputs)
        read = [(edges, loaders.step_outputs if needs.outputs else loaders.step_inputs)]
    for by_step, loader in read:
        loader.prime_many({step_id: by_step.get(step_id, []) for step_id in ids})
        version_ids.update((vid, None) for pairs in by_step.values() for _, vid in pairs)
    step_ids: dict[str, None] = {}
    if needs.originals:
        step_ids.update((r.original_step_run_id, None) for r in rows if r.original_step_run_id)
    if needs.versions and version_ids:
        versions = await rows_by_id(session, models.ArtifactVersion, list(version_ids))
        loaders.version.prime_many({vid: versions.get(vid) for vid in version_ids})
        if needs.tags:
            tags = await artifact_store.version_tags(session, list(version_ids))
            loaders.version_tags.prime_many({vid: tags.get(vid, []) for vid in version_ids})
        if needs.producers:
            step_ids.update(
                (v.producer_step_run_id, None)
                for v in versions.values()
                if v.producer_step_run_id is not None
            )
    if step_ids:
        found = await rows_by_id(session, models.StepRun, list(step_ids))
        loaders.step_run.prime_many({sid: found.get(sid) for sid in step_ids})
        if needs.original_runs:
            originals = {row.original_step_run_id for row in rows if row.original_step_run_id}
            run_ids = list(dict.fromkeys(found[s].run_id for s in originals if s in found))
            if run_ids:
                runs = await rows_by_id(session, models.PipelineRun, run_ids)
                loaders.run.prime_many({run_id: runs.get(run_id) for run_id in run_ids})


def _step_artifacts(edges: Sequence[tuple[str, str]]) -> list[StepArtifact]:
    return [StepArtifact(name=name, artifact_version_id=vid) for name, vid in edges]


def _present_version(row: models.ArtifactVersion | None) -> ArtifactVersion:
    assert row is not None
    return ArtifactVersion.from_model(row)


def _present_run(row: models.PipelineRun | None) -> PipelineRun:
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
    def version(self, info: Info) -> ArtifactVersion:
        # An alias's version cannot be deleted.
        return load(info.context.loaders.version, self.version_id, _present_version)


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

    def _version(self, info: Info, version_id: str | None) -> ArtifactVersion | None:
        if version_id is None:
            return None
        return load(info.context.loaders.version, version_id, ArtifactVersion.from_row)

    @strawberry.field(description="Where it pointed before (null: it was created).")
    def from_version(self, info: Info) -> ArtifactVersion | None:
        return self._version(info, self.from_id)

    @strawberry.field(description="Where it points since (null: it was removed).")
    def to_version(self, info: Info) -> ArtifactVersion | None:
        return self._version(info, self.to_id)


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
