"""Mutations: each one transaction, committed whole or rolled back whole."""

from __future__ import annotations

from typing import Annotated, Any, cast

import strawberry

from api.errors import BadUserInput
from api.files import uri_exists
from api.graphql.alias_mutations import AliasMutations
from api.graphql.context import Info
from api.graphql.inputs import (
    KEY_DESCRIPTION,
    ArtifactSource,
    ArtifactVersionInput,
    FinishPipelineRunInput,
    FinishStepRunInput,
    StartPipelineRunInput,
    StartStepRunInput,
)
from api.graphql.metadata_mutations import MetadataMutations
from api.graphql.prune_mutations import PruneMutations
from api.graphql.tag_mutations import TagMutations
from api.graphql.types import ArtifactVersion, PipelineRun, StepRun
from api.storage import artifacts as artifact_store
from api.storage import idempotency, models
from api.storage import runs as run_store
from api.storage.locations import locate, place

STEP_OUTPUT = models.ArtifactSource.STEP_OUTPUT


@strawberry.type
class Mutation(TagMutations, PruneMutations, AliasMutations, MetadataMutations):
    @strawberry.mutation(description="Open a run of a pipeline (created on first use).")
    async def start_pipeline_run(self, info: Info, input: StartPipelineRunInput) -> PipelineRun:
        async with info.context.db.write() as session:
            done = await idempotency.replay(
                session, input.client_key, "startPipelineRun", models.PipelineRun
            )
            if done is not None:
                return PipelineRun.from_model(done)
            row = await run_store.create_run(
                session, input.pipeline_name, input.run_name, input.heartbeat_interval
            )
            await idempotency.remember(session, input.client_key, "startPipelineRun", row.id)
            await idempotency.purge(session)
            return PipelineRun.from_model(row)

    @strawberry.mutation(
        description="The running pipeline's heartbeat: extends the run's lease (see "
        "`heartbeatInterval`). An ABANDONED or finished run is answered as it is."
    )
    async def record_heartbeat(self, info: Info, run_id: strawberry.ID) -> PipelineRun:
        async with info.context.db.write() as session:
            return PipelineRun.from_model(await run_store.record_heartbeat(session, run_id))

    @strawberry.mutation(
        description="Record every RUNNING run whose heartbeats stopped (and its open step "
        "runs) as ABANDONED, with the reason; returns those runs. Reads of runs do it too."
    )
    async def reap_abandoned_runs(self, info: Info) -> list[PipelineRun]:
        async with info.context.db.write() as session:
            return [PipelineRun.from_model(run) for run in await run_store.abandon_expired(session)]

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
        store = info.context.settings.artifact_store

        async def exists(stored: str) -> bool:
            return await uri_exists(locate(store, stored))

        async with info.context.db.write() as session:
            done = await idempotency.replay(
                session, input.client_key, "startStepRun", models.StepRun
            )
            if done is not None:
                return StepRun.from_model(done)
            started = await run_store.start_step(session, new, exists)
            await idempotency.remember(session, input.client_key, "startStepRun", started.step.id)
        info.context.loaders.prime_started_step(started)
        return StepRun.from_model(started.step)

    @strawberry.mutation(
        description="Close a step run; when COMPLETED, register all its outputs atomically."
    )
    async def finish_step_run(self, info: Info, input: FinishStepRunInput) -> StepRun:
        store = info.context.settings.artifact_store
        result = run_store.StepResult(
            step_run_id=input.step_run_id,
            status=models.RunStatus(input.status),
            error=input.error,
            outputs=[
                (out.output_name, place(out.artifact.to_new(STEP_OUTPUT), store))
                for out in input.outputs
            ],
        )
        async with info.context.db.write() as session:
            done = await idempotency.replay(
                session, input.client_key, "finishStepRun", models.StepRun
            )
            if done is not None:
                return StepRun.from_model(done)
            finished = await run_store.finish_step(session, result)
            await idempotency.remember(session, input.client_key, "finishStepRun", finished.step.id)
        tags = [new.tags for _, new in result.outputs]
        info.context.loaders.prime_finished_step(
            finished.step,
            [(name, row, t) for (name, row), t in zip(finished.outputs, tags, strict=True)],
        )
        return StepRun.from_model(finished.step)

    @strawberry.mutation
    async def finish_pipeline_run(self, info: Info, input: FinishPipelineRunInput) -> PipelineRun:
        async with info.context.db.write() as session:
            done = await idempotency.replay(
                session, input.client_key, "finishPipelineRun", models.PipelineRun
            )
            if done is not None:
                return PipelineRun.from_model(done)
            row = await run_store.finish_run(
                session, input.run_id, models.RunStatus(input.status), input.error
            )
            await idempotency.remember(session, input.client_key, "finishPipelineRun", row.id)
            return PipelineRun.from_model(row)

    @strawberry.mutation(description="Register a version created outside a pipeline step.")
    async def create_artifact_version(
        self,
        info: Info,
        input: ArtifactVersionInput,
        source: ArtifactSource = models.ArtifactSource.SAVED,
        client_key: Annotated[str | None, strawberry.argument(description=KEY_DESCRIPTION)] = None,
    ) -> ArtifactVersion:
        if source == models.ArtifactSource.STEP_OUTPUT:
            raise BadUserInput(
                "STEP_OUTPUT versions are registered by finishStepRun, not createArtifactVersion"
            )
        new = place(
            input.to_new(models.ArtifactSource(source)), info.context.settings.artifact_store
        )
        async with info.context.db.write() as session:
            done = await idempotency.replay(
                session, client_key, "createArtifactVersion", models.ArtifactVersion
            )
            if done is not None:
                return ArtifactVersion.from_model(done)
            row = await artifact_store.create_version(session, new)
            await idempotency.remember(session, client_key, "createArtifactVersion", row.id)
        info.context.loaders.prime_version(row, new.tags)
        return ArtifactVersion.from_model(row)
