"""What the OpenLineage events applied to a run say about it: producer, job, how many events,
the last one, and the run and job facets merged over them (read back from the stored events,
api/storage/openlineage.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.storage.models import OpenLineageEvent


@dataclass(frozen=True)
class RunSummary:
    """A run's OpenLineage events, merged: the last event's producer, job and type; facets
    merged in event-time order, a later event's facet replacing an earlier one of that key."""

    producer: str
    namespace: str
    job: str
    event_count: int
    last_event_type: str
    last_event_time: datetime
    facets: dict[str, Any]
    job_facets: dict[str, Any]


def event_datetime(text: str) -> datetime:
    """An event's `eventTime`, in UTC when it names no offset."""
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _facets(holder: Any) -> dict[str, Any]:
    facets = holder.get("facets") if isinstance(holder, dict) else None
    return facets if isinstance(facets, dict) else {}


def summarize(events: Sequence[OpenLineageEvent]) -> RunSummary:
    """The summary of one run's events (at least one), in any order."""
    ordered = sorted(events, key=lambda e: (event_datetime(e.event_time), e.received_at))
    facets: dict[str, Any] = {}
    job_facets: dict[str, Any] = {}
    for event in ordered:
        facets.update(_facets(event.payload.get("run")))
        job_facets.update(_facets(event.payload.get("job")))
    last = ordered[-1]
    return RunSummary(
        producer=last.producer,
        namespace=last.job_namespace,
        job=last.job_name,
        event_count=len(ordered),
        last_event_type=last.event_type,
        last_event_time=event_datetime(last.event_time),
        facets=facets,
        job_facets=job_facets,
    )


async def run_summaries(session: AsyncSession, run_ids: Sequence[str]) -> dict[str, RunSummary]:
    """The summaries of the runs among `run_ids` that OpenLineage events were applied to, keyed
    by run id, in one statement. An event stored but not applied (one naming a run of this
    store's own pipelines) says nothing of the run."""
    rows = await session.scalars(
        select(OpenLineageEvent).where(
            OpenLineageEvent.run_id.in_(sorted(set(run_ids))),
            OpenLineageEvent.applied_at.is_not(None),
        )
    )
    by_run: dict[str, list[OpenLineageEvent]] = {}
    for row in rows:
        by_run.setdefault(row.run_id, []).append(row)
    return {run_id: summarize(events) for run_id, events in by_run.items()}
