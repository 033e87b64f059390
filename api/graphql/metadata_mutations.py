"""`logMetadata`: store values on an artifact version, a step run or a pipeline run, in one
transaction; every value and the target are checked before anything is written."""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.scalars import JSON

from api.errors import BadUserInput, NotFound
from api.graphql.context import Info
from api.graphql.metadata import (
    MetadataEntry,
    MetadataEntryInput,
    MetadataOwner,
    logged_values,
    resolve_run_metadata,
)
from api.graphql.tag_mutations import _missing
from api.graphql.types import ArtifactVersion, PipelineRun, StepRun
from api.storage import artifacts as artifact_store
from api.storage import metadata as metadata_store


@strawberry.input(
    description="Where to log and what: exactly one target (`artifactVersionId`; "
    "`artifactName` with `artifactVersion`, unset: its latest version; `stepRunId`; "
    "`pipelineRunId`), and the values: `metadata` (an object of JSON values, types inferred) "
    "and typed `values`. Logging a key again replaces its value (latest wins)."
)
class LogMetadataInput:
    artifact_version_id: strawberry.ID | None = None
    artifact_name: str | None = None
    artifact_version: str | None = None
    step_run_id: strawberry.ID | None = None
    pipeline_run_id: strawberry.ID | None = None
    metadata: JSON | None = None
    values: list[MetadataEntryInput] | None = None


@strawberry.type(description="What `logMetadata` wrote to, with all its run metadata now.")
class MetadataTarget:
    owner: MetadataOwner
    id: strawberry.ID

    @strawberry.field(description="Every value logged on the target, by key.")
    def run_metadata(self, info: Info) -> list[MetadataEntry]:
        return resolve_run_metadata(info, self.owner, self.id)

    @strawberry.field(description="The target when it is an artifact version.")
    async def artifact_version(self, info: Info) -> ArtifactVersion | None:
        if self.owner != MetadataOwner.ARTIFACT_VERSION:
            return None
        return ArtifactVersion.from_row(await info.context.loaders.version.load(self.id))

    @strawberry.field(description="The target when it is a step run.")
    async def step_run(self, info: Info) -> StepRun | None:
        if self.owner != MetadataOwner.STEP_RUN:
            return None
        return StepRun.from_row(await info.context.loaders.step_run.load(self.id))

    @strawberry.field(description="The target when it is a pipeline run.")
    async def pipeline_run(self, info: Info) -> PipelineRun | None:
        if self.owner != MetadataOwner.PIPELINE_RUN:
            return None
        return PipelineRun.from_row(await info.context.loaders.run.load(self.id))


async def _target(session: AsyncSession, given: LogMetadataInput) -> tuple[MetadataOwner, str]:
    """The one owner the input names, which must exist."""
    named = {
        "artifactVersionId": given.artifact_version_id is not None,
        "artifactName": given.artifact_name is not None,
        "stepRunId": given.step_run_id is not None,
        "pipelineRunId": given.pipeline_run_id is not None,
    }
    chosen = [name for name, present in named.items() if present]
    if len(chosen) != 1:
        raise BadUserInput(
            "logMetadata needs exactly one target: `artifactVersionId`, `artifactName` (with "
            "an optional `artifactVersion`), `stepRunId` or `pipelineRunId`; got "
            + (", ".join(f"`{n}`" for n in chosen) or "none")
        )
    if given.artifact_version is not None and given.artifact_name is None:
        raise BadUserInput("`artifactVersion` goes with `artifactName`")
    if given.artifact_version_id is not None or given.artifact_name is not None:
        row = await artifact_store.find_version(
            session,
            id=given.artifact_version_id,
            name=given.artifact_name,
            version=given.artifact_version,
        )
        if row is None:
            raise await _missing(
                session, given.artifact_version_id, given.artifact_name, given.artifact_version
            )
        return MetadataOwner.ARTIFACT_VERSION, row.id
    if given.step_run_id is not None:
        step_id = str(given.step_run_id)
        if await metadata_store.owner_exists(session, MetadataOwner.STEP_RUN, step_id):
            return MetadataOwner.STEP_RUN, step_id
        raise NotFound(f"no step run has id {step_id!r}", id=step_id)
    run_id = str(given.pipeline_run_id)
    if await metadata_store.owner_exists(session, MetadataOwner.PIPELINE_RUN, run_id):
        return MetadataOwner.PIPELINE_RUN, run_id
    raise NotFound(f"no pipeline run has id {run_id!r}", id=run_id)


@strawberry.type
class MetadataMutations:
    @strawberry.mutation(
        description="Log metadata on an artifact version, a step run or a pipeline run: kept "
        "apart from extracted metadata, readable as `runMetadata`, filterable and sortable in "
        "lists. A refused value or target changes nothing."
    )
    async def log_metadata(self, info: Info, input: LogMetadataInput) -> MetadataTarget:
        values = logged_values(input.metadata, input.values)
        async with info.context.db.write() as session:
            owner, owner_id = await _target(session, input)
            await metadata_store.write(session, owner, owner_id, values)
        return MetadataTarget(owner=owner, id=strawberry.ID(owner_id))
