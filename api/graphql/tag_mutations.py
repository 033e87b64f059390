"""Tag mutations: add and remove tags of an artifact or of one version, in one transaction."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import NotFound
from api.graphql.context import Info
from api.graphql.types import Artifact, ArtifactVersion
from api.storage import artifacts as artifact_store

ADD_TAGS = "Tags to add; a tag already present is left as it is."
REMOVE_TAGS = "Tags to remove; a tag that is absent is ignored."


@strawberry.type
class TagMutations:
    @strawberry.mutation(
        description="Add and remove tags of the artifact `name` (all tags are checked before "
        "any is written); returns the artifact with its new tags."
    )
    async def update_artifact(
        self,
        info: Info,
        name: str,
        add_tags: Annotated[list[str] | None, strawberry.argument(description=ADD_TAGS)] = None,
        remove_tags: Annotated[
            list[str] | None, strawberry.argument(description=REMOVE_TAGS)
        ] = None,
    ) -> Artifact:
        change = artifact_store.tag_change(add_tags or [], remove_tags or [])
        async with info.context.db.write() as session:
            row = await artifact_store.update_artifact_tags(session, name, change)
            artifact = Artifact.from_model(row)
            tags = await artifact_store.artifact_tags(session, [row.id])
        info.context.loaders.artifact_tags.prime(artifact.id, tags.get(row.id, []), force=True)
        return artifact

    @strawberry.mutation(
        description="Add and remove tags of one artifact version, found by `id` or by `name` "
        "and `version` (`name` alone: the latest); returns the version with its new tags."
    )
    async def update_artifact_version(
        self,
        info: Info,
        id: strawberry.ID | None = None,
        name: str | None = None,
        version: str | None = None,
        add_tags: Annotated[list[str] | None, strawberry.argument(description=ADD_TAGS)] = None,
        remove_tags: Annotated[
            list[str] | None, strawberry.argument(description=REMOVE_TAGS)
        ] = None,
    ) -> ArtifactVersion:
        change = artifact_store.tag_change(add_tags or [], remove_tags or [])
        async with info.context.db.write() as session:
            row = await artifact_store.find_version(session, id=id, name=name, version=version)
            if row is None:
                raise await _missing(session, id, name, version)
            await artifact_store.update_version_tags(session, row, change)
            updated = ArtifactVersion.from_model(row)
            tags = await artifact_store.version_tags(session, [row.id])
        info.context.loaders.version_tags.prime(updated.id, tags.get(row.id, []), force=True)
        return updated


async def _missing(
    session: AsyncSession, id: str | None, name: str | None, version: str | None
) -> NotFound:
    if id is not None or name is None:
        return NotFound(f"no artifact version has id {id!r}", id=id)
    if await artifact_store.get_artifact(session, name) is None:
        return NotFound(f"no artifact is named {name!r}", artifactName=name)
    if version is None:
        return NotFound(f"artifact {name!r} has no versions yet", artifactName=name)
    return NotFound(
        f"artifact {name!r} has no version {version!r}", artifactName=name, version=version
    )
