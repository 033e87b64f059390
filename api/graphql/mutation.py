"""Mutations: each one transaction, committed whole or rolled back whole."""

from __future__ import annotations

from typing import Any, cast

import strawberry

from api.errors import BadUserInput
from api.files import uri_exists
from api.graphql.context import Info
from api.graphql.inputs import (
    ArtifactSource,
    ArtifactVersionInput,
    FinishPipelineRunInput,
    FinishStepRunInput,
    StartPipelineRunInput,
    StartStepRunInput,
)
from api.graphql.prune_mutations import PruneMutations
from api.graphql.tag_mutations import TagMutations
from api.graphql.types import ArtifactVersion, PipelineRun, StepRun
from api.storage import artifacts as artifact_store
from api.storage import models
from api.storage import runs as run_store


@strawberry.type
class Mutation(TagMutations, PruneMutations):
    @strawberry.mutation(description="Open a run of a pipeline (created on first use).")
    async def start_pipeline_run(self, info: Info, input: StartPipelineRunInput) -> PipelineRun:
        async with info.context.db.write() as session:
            row = await run_store.create_run(session, input.pipeline_name, input.run_name)
            return PipelineRun.from_model(row)

    @strawberry.mutation(
        description="Open a step run and record its input edges; with `useCache`, a hit is "
        "recorded CACHED at once (check and record in one call)."
    )
    async def start_step_run(self, info: Info, input: StartStepRunInput) -> StepRun:
        new = run_store.NewStepRun(
            run_id=input.run_id,
            name=input.name,
            parameters=cast(dict[str, Any], input.parameters or {}),
            code_hash=input.code_hash,
            cache_key=input.cache_key,
            cache_components=cast(dict[str, Any] | None, input.cache_components),
            use_cache=input.use_cache,
            cache_off_reason=input.cache_off_reason,
            inputs=[(edge.name, str(edge.artifact_version_id)) for edge in input.inputs],
        )
        async with info.context.db.write() as session:
            row = await run_store.start_step(session, new, uri_exists)
        if row.status != models.RunStatus.CACHED:
            info.context.loaders.step_outputs.prime(row.id, [])
        return StepRun.from_model(row)

    @strawberry.mutation(
        description="Close a step run; when COMPLETED, register all its outputs atomically."
    )
    async def finish_step_run(self, info: Info, input: FinishStepRunInput) -> StepRun:
        result = run_store.StepResult(
            step_run_id=input.step_run_id,
            status=models.RunStatus(input.status),
            error=input.error,
            outputs=[
                (out.output_name, out.artifact.to_new(models.ArtifactSource.STEP_OUTPUT))
                for out in input.outputs
            ],
        )
        async with info.context.db.write() as session:
            finished = await run_store.finish_step(session, result)
        tags = [new.tags for _, new in result.outputs]
        info.context.loaders.prime_finished_step(
            finished.step,
            [(name, row, t) for (name, row), t in zip(finished.outputs, tags, strict=True)],
        )
        return StepRun.from_model(finished.step)

    @strawberry.mutation
    async def finish_pipeline_run(self, info: Info, input: FinishPipelineRunInput) -> PipelineRun:
        async with info.context.db.write() as session:
            row = await run_store.finish_run(
                session, input.run_id, models.RunStatus(input.status), input.error
            )
            return PipelineRun.from_model(row)

    @strawberry.mutation(description="Register a version created outside a pipeline step.")
    async def create_artifact_version(
        self,
        info: Info,
        input: ArtifactVersionInput,
        source: ArtifactSource = models.ArtifactSource.SAVED,
    ) -> ArtifactVersion:
        if source == models.ArtifactSource.STEP_OUTPUT:
            raise BadUserInput(
                "STEP_OUTPUT versions are registered by finishStepRun, not createArtifactVersion"
            )
        new = input.to_new(models.ArtifactSource(source))
        async with info.context.db.write() as session:
            row = await artifact_store.create_version(session, new)
        info.context.loaders.prime_version(row, new.tags)
        return ArtifactVersion.from_model(row)
