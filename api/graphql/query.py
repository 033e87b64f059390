"""Root queries: thin resolvers over storage functions and loaders."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

import strawberry

from api.errors import BadUserInput
from api.graphql.compare import ArtifactVersionComparison, resolve_comparison
from api.graphql.context import Info
from api.graphql.inputs import (
    ArtifactFilter,
    ArtifactVersionFilter,
    LineageDirection,
    LineageFilter,
    PipelineRunFilter,
    StepRunFilter,
)
from api.graphql.lineage import LineageGraph, resolve_lineage, resolve_path
from api.graphql.loaders import selects
from api.graphql.metadata import MetadataOrder, MetadataOwner, listing
from api.graphql.types import (
    Artifact,
    ArtifactVersion,
    Connection,
    Pipeline,
    PipelineRun,
    ServerInfo,
    StepRun,
    connection,
)
from api.storage import aliases as alias_store
from api.storage import artifacts as artifact_store
from api.storage import models
from api.storage import runs as run_store
from api.storage.base import utcnow
from api.storage.engine import sqlite_path
from api.storage.identity import read_store_id

SERVER_VERSION = "0.1.0"


@strawberry.type
class Query:
    @strawberry.field
    async def artifact(self, info: Info, name: str) -> Artifact | None:
        async with info.context.db.read() as session:
            row = await artifact_store.get_artifact(session, name)
        return Artifact.from_model(row) if row else None

    @strawberry.field(description="Artifacts ordered by name.")
    async def artifacts(
        self,
        info: Info,
        filter: ArtifactFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Artifact]:
        stmt = artifact_store.artifacts_stmt(filter.to_query() if filter else None)
        keys = [models.Artifact.name]
        return await connection(info, stmt, keys, Artifact.from_model, first, after)

    @strawberry.field(description="By id, by name and version, or by name alone (the latest).")
    async def artifact_version(
        self,
        info: Info,
        id: strawberry.ID | None = None,
        name: str | None = None,
        version: str | None = None,
        as_of: datetime | None = None,
        alias: Annotated[
            str | None,
            strawberry.argument(
                description="With `name`: the version this alias points at (`latest` built in)."
            ),
        ] = None,
    ) -> ArtifactVersion | None:
        async with info.context.db.read() as session:
            if alias is not None:
                if name is None or id is not None or version is not None or as_of is not None:
                    raise BadUserInput("`alias` goes with `name` alone: name + alias")
                row = await alias_store.resolve(session, name, alias)
            else:
                row = await artifact_store.find_version(
                    session, id=id, name=name, version=version, as_of=as_of
                )
            if row is not None and selects(info.selected_fields, "tags"):
                await info.context.loaders.prime_version_tags(session, row.id)
        return ArtifactVersion.from_model(row) if row else None

    @strawberry.field(description="Artifact versions in the order they were created.")
    async def artifact_versions(
        self,
        info: Info,
        filter: ArtifactVersionFilter | None = None,
        first: int | None = None,
        after: str | None = None,
        order_by: MetadataOrder | None = None,
    ) -> Connection[ArtifactVersion]:
        stmt = artifact_store.versions_stmt(filter.to_query() if filter else None)
        keys = [models.ArtifactVersion.created_at, models.ArtifactVersion.id]
        return await listing(
            info,
            stmt,
            keys,
            ArtifactVersion.from_model,
            first,
            after,
            owner=MetadataOwner.ARTIFACT_VERSION,
            owner_id=models.ArtifactVersion.id,
            conditions=filter.metadata if filter else None,
            order=order_by,
        )

    @strawberry.field(
        description="What differs from version `a` to version `b` (by id; versions of "
        "different artifacts may be compared): content, metadata, DataFrame schema or array "
        "shape, and the inputs of the step runs that produced them."
    )
    async def compare_artifact_versions(
        self, info: Info, a: strawberry.ID, b: strawberry.ID
    ) -> ArtifactVersionComparison:
        return await resolve_comparison(info, a, b)

    @strawberry.field
    async def pipeline(self, info: Info, name: str) -> Pipeline | None:
        async with info.context.db.read() as session:
            row = await run_store.get_pipeline(session, name)
        return Pipeline.from_model(row) if row else None

    @strawberry.field(description="Pipelines ordered by name.")
    async def pipelines(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Pipeline]:
        stmt = run_store.pipelines_stmt()
        return await connection(
            info, stmt, [models.Pipeline.name], Pipeline.from_model, first, after
        )

    @strawberry.field
    async def pipeline_run(self, info: Info, id: strawberry.ID) -> PipelineRun | None:
        await sweep_abandoned(info)
        row = await info.context.loaders.run.load(id)
        return PipelineRun.from_model(row) if row else None

    @strawberry.field(description="Pipeline runs, newest first.")
    async def pipeline_runs(
        self,
        info: Info,
        filter: PipelineRunFilter | None = None,
        first: int | None = None,
        after: str | None = None,
        order_by: MetadataOrder | None = None,
    ) -> Connection[PipelineRun]:
        await sweep_abandoned(info)
        stmt = run_store.runs_stmt(filter.to_query() if filter else None)
        keys = [models.PipelineRun.started_at, models.PipelineRun.id]
        return await listing(
            info,
            stmt,
            keys,
            PipelineRun.from_model,
            first,
            after,
            owner=MetadataOwner.PIPELINE_RUN,
            owner_id=models.PipelineRun.id,
            conditions=filter.metadata if filter else None,
            order=order_by,
            descending=True,
        )

    @strawberry.field(description="Step runs of every pipeline run, newest first.")
    async def step_runs(
        self,
        info: Info,
        filter: StepRunFilter | None = None,
        first: int | None = None,
        after: str | None = None,
        order_by: MetadataOrder | None = None,
    ) -> Connection[StepRun]:
        stmt = run_store.step_runs_stmt(filter.to_query() if filter else None)
        keys = [models.StepRun.started_at, models.StepRun.id]
        return await listing(
            info,
            stmt,
            keys,
            StepRun.from_model,
            first,
            after,
            owner=MetadataOwner.STEP_RUN,
            owner_id=models.StepRun.id,
            conditions=filter.metadata if filter else None,
            order=order_by,
            descending=True,
        )

    @strawberry.field
    async def step_run(self, info: Info, id: strawberry.ID) -> StepRun | None:
        row = await info.context.loaders.step_run.load(id)
        return StepRun.from_model(row) if row else None

    @strawberry.field(
        description="Nodes and edges around an artifact version or step run, `depth` artifact "
        "hops away; as the store stood at `asOf` when given."
    )
    async def lineage(
        self,
        info: Info,
        id: strawberry.ID,
        direction: LineageDirection | None = LineageDirection.BOTH,
        depth: int | None = 3,
        first: int | None = None,
        after: str | None = None,
        filter: LineageFilter | None = None,
        as_of: datetime | None = None,
    ) -> LineageGraph:
        way = direction or LineageDirection.BOTH
        return await resolve_lineage(info, id, way, depth, first, after, filter, as_of)

    @strawberry.field(
        name="lineagePath",
        description="Every chain of step runs and versions by which `to` was derived from "
        "`from` (empty when it was not).",
    )
    async def lineage_path(
        self,
        info: Info,
        from_: Annotated[strawberry.ID, strawberry.argument(name="from")],
        to: strawberry.ID,
        as_of: datetime | None = None,
    ) -> LineageGraph:
        return await resolve_path(info, from_, to, as_of)

    @strawberry.field
    async def server_info(self, info: Info) -> ServerInfo:
        settings = info.context.settings
        path = sqlite_path(settings.database_url)
        database = "sqlite" if path is not None else info.context.db.dialect
        async with info.context.db.read() as session:
            store_id = await read_store_id(session)
        return ServerInfo(
            version=SERVER_VERSION,
            artifact_store=settings.artifact_store,
            database=database,
            store_id=store_id,
        )


SWEEP_PAUSE = timedelta(seconds=0.1)
"""How long after a look that found no lease ended runs are read without looking again (a
served worker reads runs hundreds of times a second; each look was a statement), and never
past the earliest lease end it saw: a run whose lease ended is shown RUNNING at most this much
longer. Half the shortest lease (four heartbeats of at least 0.05 s), so a run started by
another process meanwhile cannot end its lease unseen."""


async def sweep_abandoned(info: Info) -> None:
    """Before runs are read: record runs whose heartbeats stopped as ABANDONED (a write only
    when one is due; a look at the leases only after SWEEP_PAUSE, see there)."""
    db, now = info.context.db, utcnow()
    if db.leases_quiet_until is not None and now < db.leases_quiet_until:
        return
    async with db.read() as session:
        earliest = await run_store.earliest_lease_end(session)
    if earliest is not None and earliest < now:
        db.leases_quiet_until = None
        async with db.write() as session:
            await run_store.abandon_expired(session)
    else:
        pause = now + SWEEP_PAUSE
        db.leases_quiet_until = pause if earliest is None else min(earliest, pause)
