"""Deleting artifact versions: one by id, or in batches for `lineageql artifacts prune`.

The API deletes metadata only: the data lives in the artifact store, which the SDK reaches
itself. The SDK's prune marks versions data-deleted, deletes their files, then their metadata,
so an interruption never leaves metadata pointing at deleted files without the mark."""

from __future__ import annotations

import strawberry

from api.errors import BadUserInput, LimitExceeded
from api.graphql.context import Info
from api.graphql.inputs import ArtifactSource
from api.storage import models
from api.storage import prune as prune_store
from api.storage.locations import locate


@strawberry.type(description="An artifact version whose metadata was deleted or marked.")
class PrunedArtifactVersion:
    id: strawberry.ID
    name: str
    version: str
    source: ArtifactSource
    stored_uri: strawberry.Private[str]

    @strawberry.field(description="Where the version's data lies (see ArtifactVersion.uri).")
    def uri(self, info: Info) -> str:
        return locate(info.context.settings.artifact_store, self.stored_uri)

    @classmethod
    def from_summary(cls, row: prune_store.DeletedVersion) -> PrunedArtifactVersion:
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            version=row.version,
            stored_uri=row.uri,
            source=models.ArtifactSource(row.source),
        )


@strawberry.type(description="What a batch deletion or marking did.")
class PruneBatchResult:
    versions: list[PrunedArtifactVersion] = strawberry.field(
        description="The versions deleted (or marked data-deleted)."
    )
    in_use: list[strawberry.ID] = strawberry.field(
        description="Versions left alone because a step run produced or consumed them."
    )
    missing: list[strawberry.ID] = strawberry.field(description="Ids that name no version.")
    removed_artifacts: list[str] = strawberry.field(
        description="Artifacts deleted because they had no version left."
    )

    @classmethod
    def from_outcome(cls, outcome: prune_store.Outcome) -> PruneBatchResult:
        return cls(
            versions=[PrunedArtifactVersion.from_summary(row) for row in outcome.done],
            in_use=[strawberry.ID(vid) for vid in outcome.in_use],
            missing=[strawberry.ID(vid) for vid in outcome.missing],
            removed_artifacts=outcome.removed_artifacts,
        )


@strawberry.type(description="A deleted artifact version and whether its artifact went too.")
class DeletedArtifactVersion:
    version: PrunedArtifactVersion
    artifact_removed: bool = strawberry.field(
        description="True when the artifact had no other version and was deleted with it."
    )


def _checked_ids(info: Info, ids: list[strawberry.ID]) -> list[str]:
    maximum = info.context.settings.max_page_size
    if not ids:
        raise BadUserInput("give at least one artifact version id in `ids`")
    if len(ids) > maximum:
        raise LimitExceeded(
            f"{len(ids)} ids in one call; send at most {maximum} per call",
            limit="maxPageSize",
            maximum=maximum,
        )
    return [str(vid) for vid in ids]


@strawberry.type
class PruneMutations:
    @strawberry.mutation(
        description="Delete one artifact version's metadata (its tags too, and its artifact "
        "when no version is left). Refused with CONFLICT, naming the runs, when a step run "
        "produced or consumed it. The data in the artifact store is not touched."
    )
    async def delete_artifact_version(
        self, info: Info, id: strawberry.ID
    ) -> DeletedArtifactVersion:
        async with info.context.db.write() as session:
            outcome = await prune_store.delete_version(session, str(id))
        return DeletedArtifactVersion(
            version=PrunedArtifactVersion.from_summary(outcome.done[0]),
            artifact_removed=bool(outcome.removed_artifacts),
        )

    @strawberry.mutation(
        description="Delete the metadata of those of these versions that no step run "
        "produced or consumed, and of artifacts left without a version. Versions a run uses "
        "are skipped and listed in `inUse`."
    )
    async def delete_artifact_versions(
        self, info: Info, ids: list[strawberry.ID]
    ) -> PruneBatchResult:
        wanted = _checked_ids(info, ids)
        async with info.context.db.write() as session:
            outcome = await prune_store.delete_versions(session, wanted)
        return PruneBatchResult.from_outcome(outcome)

    @strawberry.mutation(
        description="Mark those of these versions that no step run produced or consumed as "
        "data-deleted, before their data is deleted: from then on no step run may consume them "
        "and loading them says the data was pruned. Versions a run uses are listed in `inUse`."
    )
    async def mark_artifact_versions_data_deleted(
        self, info: Info, ids: list[strawberry.ID]
    ) -> PruneBatchResult:
        wanted = _checked_ids(info, ids)
        async with info.context.db.write() as session:
            outcome = await prune_store.mark_data_deleted(session, wanted)
        return PruneBatchResult.from_outcome(outcome)
