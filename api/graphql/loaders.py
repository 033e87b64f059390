"""DataLoaders, built per request: every relation a type resolves goes through one of these,
so a nested query costs one SQL statement per level, not one per row."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from api.storage import aliases, artifacts, runs
from api.storage.base import rows_by_id
from api.storage.engine import Database
from api.storage.models import (
    Artifact,
    ArtifactVersion,
    Pipeline,
    PipelineRun,
    StepRun,
)

V = TypeVar("V")
Fetch = Callable[[AsyncSession, Sequence[str]], Awaitable[Mapping[str, V]]]


def _by_id(db: Database, model: type[Any]) -> DataLoader[str, Any]:
    async def fetch(session: AsyncSession, ids: Sequence[str]) -> Mapping[str, Any]:
        return await rows_by_id(session, model, ids)

    return _loader(db, fetch)


def _loader(db: Database, fetch: Fetch[V], default: Any = None) -> DataLoader[str, Any]:
    async def load(keys: list[str]) -> list[Any]:
        async with db.read() as session:
            found = await fetch(session, keys)
        return [found.get(key, default) for key in keys]

    return DataLoader(load_fn=load)


@dataclass(frozen=True)
class Loaders:
    artifact: DataLoader[str, Artifact | None]
    version: DataLoader[str, ArtifactVersion | None]
    pipeline: DataLoader[str, Pipeline | None]
    run: DataLoader[str, PipelineRun | None]
    step_run: DataLoader[str, StepRun | None]
    artifact_tags: DataLoader[str, list[str]]
    version_tags: DataLoader[str, list[str]]
    latest_version: DataLoader[str, ArtifactVersion | None]
    version_count: DataLoader[str, int]
    last_run: DataLoader[str, PipelineRun | None]
    run_steps: DataLoader[str, list[StepRun]]
    step_inputs: DataLoader[str, list[tuple[str, str]]]
    step_outputs: DataLoader[str, list[tuple[str, str]]]
    consumers: DataLoader[str, list[StepRun]]
    version_aliases: DataLoader[str, list[str]]

    def prime_version(self, row: ArtifactVersion, tags: Sequence[str]) -> None:
        """A version this request has just written: its answer needs no read back."""
        self.version.prime(row.id, row)
        self.version_tags.prime(row.id, sorted(dict.fromkeys(tags)))

    def prime_finished_step(
        self, step: StepRun, outputs: Sequence[tuple[str, ArtifactVersion, Sequence[str]]]
    ) -> None:
        """A step run closed by this request, with its (name, version) outputs and their tags:
        `outputs` holds (name, version row, tags)."""
        self.step_run.prime(step.id, step)
        self.step_outputs.prime(step.id, sorted((name, row.id) for name, row, _ in outputs))
        for _, row, tags in outputs:
            self.prime_version(row, tags)

    @classmethod
    def create(cls, db: Database) -> Loaders:
        async def inputs(s: AsyncSession, ids: Sequence[str]) -> Mapping[str, Any]:
            return await runs.edges_of_steps(s, ids, outputs=False)

        async def outputs(s: AsyncSession, ids: Sequence[str]) -> Mapping[str, Any]:
            return await runs.edges_of_steps(s, ids, outputs=True)

        return cls(
            artifact=_by_id(db, Artifact),
            version=_by_id(db, ArtifactVersion),
            pipeline=_by_id(db, Pipeline),
            run=_by_id(db, PipelineRun),
            step_run=_by_id(db, StepRun),
            artifact_tags=_loader(db, artifacts.artifact_tags, []),
            version_tags=_loader(db, artifacts.version_tags, []),
            latest_version=_loader(db, artifacts.latest_versions),
            version_count=_loader(db, artifacts.version_counts, 0),
            last_run=_loader(db, runs.last_runs),
            run_steps=_loader(db, runs.steps_of_runs, []),
            step_inputs=_loader(db, inputs, []),
            step_outputs=_loader(db, outputs, []),
            consumers=_loader(db, runs.consumers_of_versions, []),
            version_aliases=_loader(db, aliases.aliases_of_versions, []),
        )
