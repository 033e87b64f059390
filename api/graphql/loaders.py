"""DataLoaders, built per request: every relation a type resolves goes through one of these,
so a nested query costs one SQL statement per level, not one per row. Each loader is made on
first use (a request needs a few of the fifteen), and a mutation primes them with the rows it
has just written or read, so its answer needs no read back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import cached_property
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from api.storage import aliases, artifacts, openlineage_runs, runs
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


async def _inputs(s: AsyncSession, ids: Sequence[str]) -> Mapping[str, Any]:
    return await runs.edges_of_steps(s, ids, outputs=False)


async def _outputs(s: AsyncSession, ids: Sequence[str]) -> Mapping[str, Any]:
    return await runs.edges_of_steps(s, ids, outputs=True)


def selects(fields: Sequence[Selection], name: str) -> bool:
    """Whether the fields (`info.selected_fields`) select `name` directly, through fragments
    too: what decides whether a resolver reads a relation ahead of its loader."""
    for field in fields:
        for selection in field.selections:
            if isinstance(selection, SelectedField):
                if selection.name == name:
                    return True
            elif isinstance(selection, FragmentSpread | InlineFragment) and selects(
                [selection], name
            ):
                return True
    return False


class Loaders:
    """The loaders of one request, each made when first used."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @classmethod
    def create(cls, db: Database) -> Loaders:
        return cls(db)

    @cached_property
    def artifact(self) -> DataLoader[str, Artifact | None]:
        return _by_id(self._db, Artifact)

    @cached_property
    def version(self) -> DataLoader[str, ArtifactVersion | None]:
        return _by_id(self._db, ArtifactVersion)

    @cached_property
    def pipeline(self) -> DataLoader[str, Pipeline | None]:
        return _by_id(self._db, Pipeline)

    @cached_property
    def run(self) -> DataLoader[str, PipelineRun | None]:
        return _by_id(self._db, PipelineRun)

    @cached_property
    def step_run(self) -> DataLoader[str, StepRun | None]:
        return _by_id(self._db, StepRun)

    @cached_property
    def artifact_tags(self) -> DataLoader[str, list[str]]:
        return _loader(self._db, artifacts.artifact_tags, [])

    @cached_property
    def version_tags(self) -> DataLoader[str, list[str]]:
        return _loader(self._db, artifacts.version_tags, [])

    @cached_property
    def version_summary(self) -> DataLoader[str, artifacts.VersionSummary]:
        """An artifact's `versionCount` and `latestVersion`: one loader, so one statement."""
        return _loader(self._db, artifacts.version_summaries, artifacts.NO_VERSIONS)

    @cached_property
    def last_run(self) -> DataLoader[str, PipelineRun | None]:
        return _loader(self._db, runs.last_runs)

    @cached_property
    def run_counts(self) -> DataLoader[str, dict[str, int]]:
        return _loader(self._db, runs.run_counts, {})

    @cached_property
    def run_steps(self) -> DataLoader[str, list[StepRun]]:
        return _loader(self._db, runs.steps_of_runs, [])

    @cached_property
    def step_inputs(self) -> DataLoader[str, list[tuple[str, str]]]:
        return _loader(self._db, _inputs, [])

    @cached_property
    def step_outputs(self) -> DataLoader[str, list[tuple[str, str]]]:
        return _loader(self._db, _outputs, [])

    @cached_property
    def consumers(self) -> DataLoader[str, list[StepRun]]:
        return _loader(self._db, runs.consumers_of_versions, [])

    @cached_property
    def version_aliases(self) -> DataLoader[str, list[str]]:
        return _loader(self._db, aliases.aliases_of_versions, [])

    @cached_property
    def openlineage_run(self) -> DataLoader[str, openlineage_runs.RunSummary | None]:
        return _loader(self._db, openlineage_runs.run_summaries)

    async def prime_version_tags(self, session: AsyncSession, version_id: str) -> None:
        """Read a version's tags in the caller's open session, rather than in a session of
        the loader's own after it."""
        tags = await artifacts.version_tags(session, [version_id])
        self.version_tags.prime(version_id, tags.get(version_id, []))

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

    def prime_started_step(self, started: runs.StartedStep) -> None:
        """A step run opened by this request: RUNNING (no outputs yet), or CACHED with the
        rows of the hit that its answer shows (read in the mutation's own transaction)."""
        step = started.step
        self.step_run.prime(step.id, step)
        self.step_outputs.prime(step.id, [(name, row.id) for name, row in started.outputs])
        if started.original is not None:
            self.step_run.prime(started.original.id, started.original)
        if started.original_run is not None:
            self.run.prime(started.original_run.id, started.original_run)
        for _, row in started.outputs:
            self.version.prime(row.id, row)
            self.version_tags.prime(row.id, started.output_tags.get(row.id, []))
