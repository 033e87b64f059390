"""Alias mutations: point `name@alias` at a version, or remove the alias; every move recorded."""

from __future__ import annotations

from typing import Annotated

import strawberry

from api.errors import NotFound
from api.graphql.context import Info
from api.graphql.types import AliasMove, ArtifactAlias
from api.storage import aliases as alias_store
from api.storage import artifacts as artifact_store

EXPECTED = (
    'The version you saw the alias at ("" for not set): when another move came first, the '
    "answer is CONFLICT (reason ALIAS_MOVED) naming the version it points at now."
)
FORCE = "Needed to move or remove a protected alias."


@strawberry.type
class AliasMutations:
    @strawberry.mutation(
        description="Point the alias at a version of the artifact `name` (by `version`, or the "
        "latest when unset); creates or moves it, recording the move."
    )
    async def set_artifact_alias(
        self,
        info: Info,
        name: str,
        alias: str,
        version: str | None = None,
        protected: Annotated[
            bool | None, strawberry.argument(description="Set or clear protection.")
        ] = None,
        force: Annotated[bool, strawberry.argument(description=FORCE)] = False,
        expected_version: Annotated[str | None, strawberry.argument(description=EXPECTED)] = None,
    ) -> ArtifactAlias:
        alias_store.check_alias(alias)
        async with info.context.db.write() as session:
            row = await artifact_store.find_version(session, id=None, name=name, version=version)
            if row is None:
                what = "no versions yet" if version is None else f"no version {version!r}"
                raise NotFound(f"artifact {name!r} has {what}", artifactName=name)
            moved = await alias_store.set_alias(
                session,
                name,
                alias,
                row,
                protected=protected,
                force=force,
                expected=expected_version,
                by=_by(info),
            )
            assert moved.alias is not None
            return ArtifactAlias.from_model(moved.alias)

    @strawberry.mutation(description="Remove the alias (recording the move); `latest` stays.")
    async def remove_artifact_alias(
        self,
        info: Info,
        name: str,
        alias: str,
        force: Annotated[bool, strawberry.argument(description=FORCE)] = False,
        expected_version: Annotated[str | None, strawberry.argument(description=EXPECTED)] = None,
    ) -> AliasMove:
        async with info.context.db.write() as session:
            moved = await alias_store.remove_alias(
                session, name, alias, force=force, expected=expected_version, by=_by(info)
            )
            return AliasMove.from_model(moved.move)


def _by(info: Info) -> str | None:
    principal = getattr(info.context, "principal", None)
    return getattr(principal, "name", None)
