"""ZenML's legacy post-execution reading API, as a thin layer over `Client`:

    from sdk.client.post_execution import get_pipelines

    pipeline_x = get_pipelines()[0]              # the pipeline with the most recent run
    latest_version = pipeline_x.versions[0]      # its newest definition
    last_run = latest_version.runs[0]            # that definition's newest run
    step = last_run.get_step(step="first_step")
    step.outputs["output_name"].read()

A pipeline *version* is one definition of the pipeline: the set of its steps with the hash of
each step's code, as the runs recorded them. Runs and versions are listed newest first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from sdk.client import operations as ops
from sdk.client.client import Client
from sdk.client.views import PipelineRun, parse_time
from sdk.errors import InputError
from sdk.types import IdLike, JsonObject

Definition = frozenset[tuple[str, str | None]]  # (step name, code hash) of each step run


@dataclass(frozen=True)
class PipelineVersionView:
    """One definition of a pipeline and the runs made with it (newest first)."""

    pipeline_name: str
    version: str  # "1" for the oldest definition, "2" for the next …
    steps: Mapping[str, str | None]  # step name → code hash
    runs: list[PipelineRun] = field(repr=False)

    @property
    def last_run(self) -> PipelineRun:
        return self.runs[0]


@dataclass(frozen=True)
class PipelineView:
    """A pipeline with its runs and versions, newest first."""

    id: str
    name: str
    last_run_started_at: datetime | None
    client: Client = field(repr=False, compare=False)

    @cached_property
    def runs(self) -> list[PipelineRun]:
        """Every run of the pipeline, newest first."""
        return self.client.list_pipeline_runs(pipeline_name=self.name)

    @cached_property
    def versions(self) -> list[PipelineVersionView]:
        """The pipeline's distinct definitions, newest first: runs whose steps had the same
        names and code share a version."""
        first_seen: dict[Definition, int] = {}
        members: dict[Definition, list[PipelineRun]] = {}
        for position, run in enumerate(reversed(self.runs)):  # oldest first
            key = frozenset((name, step.code_hash) for name, step in run.steps.items())
            first_seen.setdefault(key, position)
            members.setdefault(key, []).append(run)
        ordered = sorted(first_seen, key=first_seen.__getitem__)
        versions = [
            PipelineVersionView(
                pipeline_name=self.name,
                version=str(number),
                steps=dict(sorted(key, key=lambda pair: pair[0])),
                runs=list(reversed(members[key])),
            )
            for number, key in enumerate(ordered, start=1)
        ]
        return list(reversed(versions))

    def get_run(self, run_name: str) -> PipelineRun:
        """One of this pipeline's runs, by name."""
        for run in self.runs:
            if run.name == run_name:
                return run
        from sdk.errors import NotFoundError

        raise NotFoundError(f"pipeline {self.name!r} has no run named {run_name!r}")


def get_pipelines(client: Client | None = None) -> list[PipelineView]:
    """Every pipeline that has run, the one with the most recent run first."""
    client = client or Client()
    nodes: list[JsonObject] = []
    after: str | None = None
    while True:
        page = client.execute(ops.LIST_PIPELINES_BY_LAST_RUN, {"first": 200, "after": after})
        nodes.extend(edge["node"] for edge in page["pipelines"]["edges"])
        if not page["pipelines"]["pageInfo"]["hasNextPage"]:
            break
        after = page["pipelines"]["pageInfo"]["endCursor"]
    views = [
        PipelineView(
            id=node["id"],
            name=node["name"],
            last_run_started_at=parse_time((node.get("lastRun") or {}).get("startedAt")),
            client=client,
        )
        for node in nodes
    ]
    never = datetime.min.isoformat()
    return sorted(
        views,
        key=lambda view: (
            view.last_run_started_at.isoformat() if view.last_run_started_at else never
        ),
        reverse=True,
    )


def get_pipeline(
    pipeline: str | Callable[..., Any] | Any, client: Client | None = None
) -> PipelineView:
    """A pipeline by name, or by the `@pipeline` object itself (its `name`).

    Raises:
        NotFoundError: no pipeline of that name has run.
        InputError: `pipeline` is neither a name nor a pipeline.
    """
    client = client or Client()
    name = pipeline if isinstance(pipeline, str) else getattr(pipeline, "name", None)
    if not isinstance(name, str):
        raise InputError(
            f"get_pipeline takes a pipeline's name or the @pipeline object, not {pipeline!r}"
        )
    found = client.get_pipeline(name)
    last = found.client.list_pipeline_runs(pipeline_name=name, limit=1)
    return PipelineView(
        id=found.id,
        name=found.name,
        last_run_started_at=last[0].started_at if last else None,
        client=client,
    )


def get_run(run_name: IdLike, client: Client | None = None) -> PipelineRun:
    """A run by its name, its id or a unique id prefix (`Client().get_pipeline_run`)."""
    return (client or Client()).get_pipeline_run(run_name)


__all__ = [
    "PipelineVersionView",
    "PipelineView",
    "get_pipeline",
    "get_pipelines",
    "get_run",
]
