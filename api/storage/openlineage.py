"""OpenLineage RunEvents received from other tools: checked, stored as sent, then applied.

A job `{namespace}/{name}` becomes a pipeline of that name, a run a pipeline run with the
event's runId as id (and one step run named after the job, which holds the lineage edges).
COMPLETE finishes it COMPLETED, FAIL and ABORT FAILED. Each output dataset of a COMPLETE
becomes a new version of the artifact `{namespace}/{name}` (source EXTERNAL, produced by that
step run); each input dataset is consumed in its latest version, created (EXTERNAL) when the
store has none. Events may come in any order and more than once: an identical event is stored
and applied once, an event for a run that has finished changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import ApiError, BadRequest, BadUserInput
from api.storage.artifacts import NewVersion, create_version, find_version, validate_name
from api.storage.base import utcnow
from api.storage.models import (
    ArtifactSource,
    OpenLineageEvent,
    Pipeline,
    PipelineRun,
    RunStatus,
    StepInput,
    StepOutput,
    StepRun,
)

EVENT_TYPES = {"START", "RUNNING", "COMPLETE", "FAIL", "ABORT", "OTHER"}
FINISHING = {"COMPLETE": RunStatus.COMPLETED, "FAIL": RunStatus.FAILED, "ABORT": RunStatus.FAILED}
DATA_TYPE = "openlineage.dataset"
MATERIALIZER = "openlineage"


@dataclass(frozen=True)
class ReceivedEvent:
    """A RunEvent that passed the checks: the fields applied, and the event as sent."""

    event_type: str
    event_time: str
    run_id: str
    job_namespace: str
    job_name: str
    producer: str
    payload: dict[str, Any]
    digest: str


def _text(value: Any, where: str, index: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"event {index}: {where} must be a non-empty string", field=where)
    return value


def check_event(event: Any, index: int = 0) -> ReceivedEvent:
    """The minimal checks of a RunEvent, or BadRequest naming the field and the reason."""
    if not isinstance(event, dict):
        raise BadRequest(f"event {index}: an OpenLineage event is a JSON object")
    event_type = _text(event.get("eventType"), "eventType", index)
    if event_type not in EVENT_TYPES:
        raise BadRequest(
            f"event {index}: eventType must be one of {', '.join(sorted(EVENT_TYPES))}, "
            f"not {event_type!r}",
            field="eventType",
        )
    event_time = _text(event.get("eventTime"), "eventTime", index)
    try:
        datetime.fromisoformat(event_time.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(
            f"event {index}: eventTime must be an ISO 8601 date-time, not {event_time!r}",
            field="eventTime",
        ) from None
    run = event.get("run")
    raw_id = _text(run.get("runId") if isinstance(run, dict) else None, "run.runId", index)
    try:
        run_id = str(uuid.UUID(raw_id))
    except ValueError:
        raise BadRequest(
            f"event {index}: run.runId must be a UUID, not {raw_id!r}", field="run.runId"
        ) from None
    job = event.get("job")
    job = job if isinstance(job, dict) else {}
    namespace = _text(job.get("namespace"), "job.namespace", index)
    name = _text(job.get("name"), "job.name", index)
    producer = _text(event.get("producer"), "producer", index)
    _text(event.get("schemaURL"), "schemaURL", index)
    for key in ("inputs", "outputs"):
        datasets = event.get(key, [])
        if not isinstance(datasets, list):
            raise BadRequest(f"event {index}: {key} must be a list", field=key)
        for position, dataset in enumerate(datasets):
            where = f"{key}[{position}]"
            if not isinstance(dataset, dict):
                raise BadRequest(f"event {index}: {where} must be an object", field=where)
            _text(dataset.get("namespace"), f"{where}.namespace", index)
            _text(dataset.get("name"), f"{where}.name", index)
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return ReceivedEvent(
        event_type=event_type,
        event_time=event_time,
        run_id=run_id,
        job_namespace=namespace,
        job_name=name,
        producer=producer,
        payload=event,
        digest=hashlib.sha256(canonical.encode()).hexdigest(),
    )


async def ingest(session: AsyncSession, events: Sequence[ReceivedEvent]) -> list[dict[str, Any]]:
    """Store each event as sent, then apply it; one result per event: `stored` (false for a
    repeat), `applied`, and `error` when it could not be applied (it stays stored)."""
    results = []
    for event in events:
        if await session.scalar(
            select(OpenLineageEvent.id).where(OpenLineageEvent.digest == event.digest)
        ):
            results.append({"runId": event.run_id, "stored": False, "applied": False})
            continue
        row = OpenLineageEvent(
            digest=event.digest,
            event_type=event.event_type,
            event_time=event.event_time,
            run_id=event.run_id,
            job_namespace=event.job_namespace,
            job_name=event.job_name,
            producer=event.producer,
            payload=event.payload,
            received_at=utcnow(),
        )
        session.add(row)
        await session.flush()
        try:
            async with session.begin_nested():
                await _apply(session, event)
        except ApiError as exc:
            row.error = exc.message
        else:
            row.applied_at = utcnow()
        await session.flush()
        result: dict[str, Any] = {"runId": event.run_id, "stored": True}
        result["applied"] = row.error is None
        if row.error is not None:
            result["error"] = row.error
        results.append(result)
    return results


def dataset_name(dataset: dict[str, Any]) -> str:
    """`{namespace}/{name}`, with one slash between them (a path name starts with one)."""
    namespace, name = dataset["namespace"].rstrip("/"), dataset["name"]
    return f"{namespace}{name}" if name.startswith("/") else f"{namespace}/{name}"


def dataset_uri(dataset: dict[str, Any]) -> str:
    """Where the data lies, as an absolute URI (never read as a place in the artifact store)."""
    namespace, name = dataset["namespace"].rstrip("/"), dataset["name"]
    if "://" in namespace:
        return f"{namespace}/{name.lstrip('/')}"
    if namespace == "file":
        return f"file://{name}" if name.startswith("/") else f"file:///{name}"
    return f"openlineage://{namespace}/{name.lstrip('/')}"


def _event_datetime(event: ReceivedEvent) -> datetime:
    return datetime.fromisoformat(event.event_time.replace("Z", "+00:00"))


async def _apply(session: AsyncSession, event: ReceivedEvent) -> None:
    pipeline_name = validate_name(f"{event.job_namespace}/{event.job_name}", "job name")
    step_name = validate_name(event.job_name, "job name")
    run = await session.get(PipelineRun, event.run_id)
    if run is None:
        pipeline = await session.scalar(select(Pipeline).where(Pipeline.name == pipeline_name))
        if pipeline is None:
            pipeline = Pipeline(name=pipeline_name, created_at=utcnow())
            session.add(pipeline)
            await session.flush()
        run = PipelineRun(
            id=event.run_id,
            pipeline_id=pipeline.id,
            name=f"openlineage-{event.run_id}",
            status=RunStatus.RUNNING,
            started_at=_event_datetime(event),
        )
        session.add(run)
        await session.flush()
    else:
        pipeline = await session.get(Pipeline, run.pipeline_id)
        if pipeline is None or pipeline.name != pipeline_name:
            owner = pipeline.name if pipeline is not None else "another pipeline"
            raise BadUserInput(
                f"run {event.run_id} belongs to {owner!r}, not to job {pipeline_name!r}"
            )
    if run.status != RunStatus.RUNNING:
        return  # finished already: a late or repeated event changes nothing
    if event.event_type == "START":
        run.started_at = min(run.started_at, _event_datetime(event))
    step = await session.scalar(
        select(StepRun).where(StepRun.run_id == run.id, StepRun.name == step_name)
    )
    if step is None:
        step = StepRun(run_id=run.id, name=step_name, status=RunStatus.RUNNING)
        step.started_at = run.started_at
        session.add(step)
        await session.flush()
    for dataset in event.payload.get("inputs") or []:
        await _consume(session, step, dataset)
    status = FINISHING.get(event.event_type)
    if status is None:
        return
    if status is RunStatus.COMPLETED:
        for dataset in event.payload.get("outputs") or []:
            await _produce(session, step, dataset)
    error = None if status is RunStatus.COMPLETED else _error_message(event)
    ended = _event_datetime(event)
    for target in (step, run):
        target.status = status
        target.error = error
        target.ended_at = max(ended, target.started_at)
    await session.flush()


def _error_message(event: ReceivedEvent) -> str:
    facets = (event.payload.get("run") or {}).get("facets") or {}
    message = (facets.get("errorMessage") or {}).get("message")
    return message if isinstance(message, str) and message else f"{event.event_type} (OpenLineage)"


def _new_version(dataset: dict[str, Any], producer: str | None) -> NewVersion:
    return NewVersion(
        name=dataset_name(dataset),
        uri=dataset_uri(dataset),
        data_type=DATA_TYPE,
        materializer=MATERIALIZER,
        metadata={"openlineage": {"namespace": dataset["namespace"], "name": dataset["name"]}},
        source=ArtifactSource.EXTERNAL,
        producer_step_run_id=producer,
    )


async def _consume(session: AsyncSession, step: StepRun, dataset: dict[str, Any]) -> None:
    name = validate_name(dataset_name(dataset), "dataset name")
    if await session.get(StepInput, (step.id, name)) is not None:
        return
    version = await find_version(session, id=None, name=name, version=None)
    if version is None:
        version = await create_version(session, _new_version(dataset, None))
    session.add(
        StepInput(
            step_run_id=step.id, name=name, artifact_version_id=version.id, created_at=utcnow()
        )
    )
    await session.flush()


async def _produce(session: AsyncSession, step: StepRun, dataset: dict[str, Any]) -> None:
    name = validate_name(dataset_name(dataset), "dataset name")
    if await session.get(StepOutput, (step.id, name)) is not None:
        return
    version = await create_version(session, _new_version(dataset, step.id))
    session.add(
        StepOutput(
            step_run_id=step.id, name=name, artifact_version_id=version.id, created_at=utcnow()
        )
    )
    await session.flush()
