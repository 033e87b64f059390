"""Where a run or an artifact version came from when OpenLineage events made it (events that
other tools sent to `POST /api/v1/lineage`): `PipelineRun.openlineage`, `StepRun.openlineage`
and `ArtifactVersion.openlineage`, null for the store's own."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from api.storage.openlineage import DATA_TYPE, MATERIALIZER, run_name
from api.storage.openlineage_runs import RunSummary


@strawberry.type(
    description="The OpenLineage events applied to a run (a job run another tool reported): "
    "who sent them, the job, and the run and job facets they carried."
)
class OpenLineageRun:
    producer: str = strawberry.field(
        description="The `producer` of its last event (`https://github.com/OpenLineage/"
        "OpenLineage/tree/1.9.1/integration/spark`)."
    )
    namespace: str = strawberry.field(description="The job's namespace.")
    job: str = strawberry.field(description="The job's name.")
    event_count: int = strawberry.field(
        description="Events applied to it (a repeated identical event counts once)."
    )
    last_event_type: str = strawberry.field(
        description="`eventType` of its latest event by `eventTime`: START, RUNNING, COMPLETE, "
        "FAIL, ABORT or OTHER."
    )
    last_event_time: datetime = strawberry.field(description="`eventTime` of its latest event.")
    facets: JSON = strawberry.field(
        description="Its run facets, merged over its events in `eventTime` order: for each "
        "facet key, the latest event's facet."
    )
    job_facets: JSON = strawberry.field(
        description="Its job facets (sourceCode, sql, jobType, ...), merged the same way."
    )

    @classmethod
    def from_summary(cls, summary: RunSummary | None) -> OpenLineageRun | None:
        if summary is None:
            return None
        return cls(
            producer=summary.producer,
            namespace=summary.namespace,
            job=summary.job,
            event_count=summary.event_count,
            last_event_type=summary.last_event_type,
            last_event_time=summary.last_event_time,
            facets=cast(JSON, summary.facets),
            job_facets=cast(JSON, summary.job_facets),
        )


@strawberry.type(
    description="The OpenLineage dataset an artifact version stands for: its namespace and "
    "name, and what the event that first named it said of it."
)
class OpenLineageDataset:
    namespace: str = strawberry.field(description="`s3://lake`, `postgres://db:5432`, `file`.")
    name: str = strawberry.field(description="`raw/orders`, `analytics.public.orders`.")
    producer: str = strawberry.field(
        description="The `producer` of the event that first named it (empty when unknown)."
    )
    facets: JSON = strawberry.field(
        description="Its dataset facets as that event sent them (schema, columnLineage, "
        "dataSource, version, ...); a producer's input and output facets (dataQualityMetrics, "
        "outputStatistics, ...) are under the keys `inputFacets` and `outputFacets`."
    )

    @classmethod
    def from_version(
        cls, data_type: str, materializer: str, metadata: Any
    ) -> OpenLineageDataset | None:
        """From a version's columns: only a version that ingest made (its data type and
        materializer are OpenLineage's), never the store's own data."""
        if data_type != DATA_TYPE or materializer != MATERIALIZER or not isinstance(metadata, dict):
            return None
        entry = metadata.get("openlineage")
        if not isinstance(entry, dict):
            return None
        facets = entry.get("facets")
        merged: dict[str, Any] = dict(facets) if isinstance(facets, dict) else {}
        for key in ("inputFacets", "outputFacets"):
            if isinstance(entry.get(key), dict):
                merged[key] = entry[key]
        return cls(
            namespace=str(entry.get("namespace", "")),
            name=str(entry.get("name", "")),
            producer=str(entry.get("producer", "")),
            facets=cast(JSON, merged),
        )


def step_run_key(step_id: str, parameters: Any) -> str | None:
    """The OpenLineage run a step run stands for (a child job's own run; for the step that
    holds a job run's lineage edges, that run), named in the parameters ingest gave it; None
    for the store's own step runs, with no statement."""
    entry = parameters.get("openlineage") if isinstance(parameters, dict) else None
    if not isinstance(entry, dict):
        return None
    run_id = entry.get("runId")
    return run_id if isinstance(run_id, str) else step_id


def pipeline_run_key(run_id: str, name: str) -> str | None:
    """The run id when ingest made the pipeline run (its name says so), else None: the
    store's own runs cost no statement."""
    return run_id if name == run_name(run_id) else None
