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

import functools
import hashlib
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import ApiError, BadRequest, BadUserInput
from api.storage.artifacts import (
    NewVersion,
    create_version,
    find_version,
    validate_custom_version,
    validate_name,
)
from api.storage.base import utcnow
from api.storage.locations import locate, relative_to
from api.storage.models import (
    ArtifactSource,
    ArtifactVersion,
    OpenLineageEvent,
    Pipeline,
    PipelineRun,
    RunStatus,
    StepInput,
    StepOutput,
    StepRun,
)
from api.storage.openlineage_naming import check_dataset

EVENT_TYPES = {"START", "RUNNING", "COMPLETE", "FAIL", "ABORT", "OTHER"}
FINISHING = {"COMPLETE": RunStatus.COMPLETED, "FAIL": RunStatus.FAILED, "ABORT": RunStatus.FAILED}
# The spec versions whose RunEvent the shipped schema describes (`openlineage_run_event.json`):
# every 1-x-x and 2-x-x (a minor or patch release adds optional fields only).
SPEC_URL = re.compile(r"/spec/(\d+)-(\d+)-(\d+)/OpenLineage\.json(#.*)?$")
SPEC_MAJORS = {"1", "2"}
SPEC_SCHEMA_FILE = "openlineage_run_event.json"
DATA_TYPE = "openlineage.dataset"
MATERIALIZER = "openlineage"


def run_name(run_id: str) -> str:
    """The name of the pipeline run an OpenLineage run (or a child's parent run) became."""
    return f"openlineage-{run_id}"


def step_parameters(namespace: str, job: str, run_id: str) -> dict[str, Any]:
    """A step run's parameters when OpenLineage made it: the job and the OpenLineage run it
    stands for (a child job's own run; the job run whose lineage edges it holds)."""
    return {"openlineage": {"namespace": namespace, "job": job, "runId": run_id}}


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
    version = spec_version(_text(event.get("schemaURL"), "schemaURL", index), index)
    for key in ("inputs", "outputs"):
        datasets = event.get(key, [])
        if not isinstance(datasets, list):
            raise BadRequest(f"event {index}: {key} must be a list", field=key)
        for position, dataset in enumerate(datasets):
            where = f"{key}[{position}]"
            if not isinstance(dataset, dict):
                raise BadRequest(f"event {index}: {where} must be an object", field=where)
            namespace_text, name_text = dataset.get("namespace"), dataset.get("name")
            if isinstance(namespace_text, str) and isinstance(name_text, str):
                check_dataset(namespace_text, name_text, where, index)
            _text(namespace_text, f"{where}.namespace", index)
            _text(name_text, f"{where}.name", index)
    validate_spec(event, version, index)
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


def spec_version(schema_url: str, index: int = 0) -> str:
    """The spec version a `schemaURL` declares (`https://openlineage.io/spec/2-0-2/
    OpenLineage.json#/$defs/RunEvent` → `2-0-2`), or BadRequest when it names none we know."""
    match = SPEC_URL.search(schema_url)
    if match is None:
        raise BadRequest(
            f"event {index}: schemaURL must name the OpenLineage spec version of the event "
            f"(https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent), "
            f"not {schema_url!r}",
            field="schemaURL",
        )
    if match.group(1) not in SPEC_MAJORS:
        raise BadRequest(
            f"event {index}: OpenLineage spec {'-'.join(match.groups()[:3])} is not supported; "
            f"send events of spec 1-x-x or 2-x-x",
            field="schemaURL",
        )
    return "-".join(match.groups()[:3])


@functools.cache
def _spec_validator() -> Any:
    """The validator of the shipped RunEvent schema (jsonschema, imported on first use)."""
    from importlib import resources

    import jsonschema

    text = resources.files("api.storage").joinpath(SPEC_SCHEMA_FILE).read_text()
    validator_class = jsonschema.Draft202012Validator
    return validator_class(json.loads(text), format_checker=validator_class.FORMAT_CHECKER)


def _where(path: Sequence[Any]) -> str:
    """`run.facets.parent.run.runId`, `inputs[0].name`: where in the event an error is."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "the event"


def validate_spec(event: dict[str, Any], version: str, index: int = 0) -> None:
    """BadRequest with the first error (jsonschema's best match) when the event is not a
    RunEvent of the spec it declares, facets it names (parent, errorMessage, schema,
    columnLineage) included."""
    from jsonschema.exceptions import best_match

    error = best_match(_spec_validator().iter_errors(event))
    if error is None:
        return
    where = _where(list(error.absolute_path))
    raise BadRequest(
        f"event {index}: not a valid OpenLineage {version} RunEvent: {where}: {error.message}",
        field=where,
    )


async def ingest(
    session: AsyncSession, events: Sequence[ReceivedEvent], store_uri: str
) -> list[dict[str, Any]]:
    """Store each event as sent, then apply it; one result per event: `stored` (false for a
    repeat), `applied`, `error` when it could not be applied (it stays stored) and `note` when
    it changed less than its type says (a second finishing event). `store_uri` is the artifact
    store, whose own data a dataset at the same location joins."""
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
        applied = Applied()
        try:
            async with session.begin_nested():
                applied = await _apply(session, event, store_uri)
        except ApiError as exc:
            row.error = exc.message
        else:
            row.applied_at = utcnow()
        await session.flush()
        result: dict[str, Any] = {"runId": event.run_id, "stored": True}
        result["applied"] = row.error is None
        if row.error is not None:
            result["error"] = row.error
        if applied.note is not None:
            result["note"] = applied.note
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


def local_location(dataset: dict[str, Any]) -> str:
    """Where the data lies in the form the artifact store's locations take: the path alone for
    a `file://{host}` namespace (any host: a shared folder has the same path everywhere),
    `{scheme}://{bucket}/{key}` otherwise."""
    namespace, name = dataset["namespace"].rstrip("/"), dataset["name"]
    if namespace == "file" or namespace.startswith("file:"):
        return name if name.startswith("/") else f"/{name}"
    return dataset_uri(dataset)


def _event_datetime(event: ReceivedEvent) -> datetime:
    return datetime.fromisoformat(event.event_time.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Parent:
    """The run an event's run belongs to: its `parent` facet's, or the `root` run it names."""

    run_id: str
    namespace: str
    name: str


def parent_of(event: ReceivedEvent) -> Parent | None:
    """The pipeline run of a job run that has a `parent` run facet: the facet's `root` run when
    it names one (an Airflow task's Spark job belongs to the DAG run), else its own parent."""
    facets = (event.payload.get("run") or {}).get("facets") or {}
    facet = facets.get("parent")
    if not isinstance(facet, dict):
        return None
    for holder in (facet.get("root"), facet):
        if not isinstance(holder, dict):
            continue
        run, job = holder.get("run"), holder.get("job")
        if not isinstance(run, dict) or not isinstance(job, dict):
            continue
        try:
            run_id = str(uuid.UUID(str(run.get("runId"))))
        except ValueError:
            continue
        namespace, name = job.get("namespace"), job.get("name")
        if run_id == event.run_id or not isinstance(namespace, str) or not isinstance(name, str):
            continue
        if namespace.strip() and name.strip():
            return Parent(run_id, namespace, name)
    return None


@dataclass
class Applied:
    """What one event did: a note when it changed less than its type says (a late FAIL)."""

    note: str | None = None


async def _pipeline_run(
    session: AsyncSession, run_id: str, pipeline_name: str, started: datetime
) -> PipelineRun:
    """The pipeline run `run_id` of `pipeline_name`, created RUNNING when it is new (an event
    of one of its children may come first); BadUserInput when another pipeline has that id."""
    run = await session.get(PipelineRun, run_id)
    if run is None:
        pipeline = await session.scalar(select(Pipeline).where(Pipeline.name == pipeline_name))
        if pipeline is None:
            pipeline = Pipeline(name=pipeline_name, created_at=utcnow())
            session.add(pipeline)
            await session.flush()
        run = PipelineRun(
            id=run_id,
            pipeline_id=pipeline.id,
            name=run_name(run_id),
            status=RunStatus.RUNNING,
            started_at=started,
        )
        session.add(run)
        await session.flush()
        return run
    pipeline = await session.get(Pipeline, run.pipeline_id)
    if pipeline is None or pipeline.name != pipeline_name:
        owner = pipeline.name if pipeline is not None else "another pipeline"
        raise BadUserInput(f"run {run_id} belongs to {owner!r}, not to job {pipeline_name!r}")
    return run


async def _free_step_name(session: AsyncSession, run_id: str, name: str) -> str:
    """`name`, or `name#2`, `name#3`, ... when the run has a step of that name already (a task
    retried under a new runId)."""
    taken = set(
        await session.scalars(
            select(StepRun.name).where(StepRun.run_id == run_id, StepRun.name.startswith(name))
        )
    )
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{name}#{number}"
    return candidate


def step_name(job_name: str, parent: Parent | None) -> str:
    """A child job's name without its pipeline's prefix (`dag.task` in `dag` → `task`)."""
    if parent is not None and job_name.startswith(f"{parent.name}.") and job_name != parent.name:
        return job_name[len(parent.name) + 1 :]
    return job_name


async def _apply(session: AsyncSession, event: ReceivedEvent, store_uri: str) -> Applied:
    """The run state machine. A run is RUNNING from its first event, whatever its type (a
    COMPLETE may come before its START), until its first COMPLETE (→ COMPLETED), FAIL or ABORT
    (→ FAILED). START moves the start earlier, never later; every event adds the inputs it names;
    once finished, a run's status, end and outputs never change again (a second COMPLETE, a
    FAIL after a COMPLETE: stored, noted, not applied). A run stays RUNNING while no finishing
    event came (a START without COMPLETE)."""
    when = _event_datetime(event)
    parent = parent_of(event)
    job_pipeline = validate_name(f"{event.job_namespace}/{event.job_name}", "job name")
    step = await session.get(StepRun, event.run_id)
    if step is not None and "openlineage" not in (step.parameters or {}):
        # This store's own step run (a store receiving its own events): never touched.
        raise BadUserInput(f"run {event.run_id} is a step run of this store's own pipelines")
    holder: PipelineRun | None = None
    if step is None:
        own = await session.get(PipelineRun, event.run_id)
        if own is not None or parent is None:
            # A job run of its own: a pipeline run, with one step named after the job that
            # holds its lineage edges, made when the first dataset comes.
            holder = await _pipeline_run(session, event.run_id, job_pipeline, when)
        else:
            # A child run (its `parent` facet): a step run of the parent's pipeline run.
            pipeline_name = validate_name(f"{parent.namespace}/{parent.name}", "parent job name")
            run = await _pipeline_run(session, parent.run_id, pipeline_name, when)
            name = validate_name(step_name(event.job_name, parent), "job name")
            step = StepRun(
                id=event.run_id,
                run_id=run.id,
                name=await _free_step_name(session, run.id, name),
                status=RunStatus.RUNNING,
                started_at=when,
                parameters=step_parameters(event.job_namespace, event.job_name, event.run_id),
            )
            session.add(step)
            run.started_at = min(run.started_at, when)
            await session.flush()
    inputs = event.payload.get("inputs") or []
    outputs = event.payload.get("outputs") or []
    if holder is not None:
        state: PipelineRun | StepRun = holder
        if step is None and (inputs or outputs):
            step = await _holder_step(session, holder, event)
    else:
        assert step is not None
        state = step
    if event.event_type == "START":
        for target in (state, step):
            if target is not None:
                target.started_at = min(target.started_at, when)
    if step is not None:
        for dataset in inputs:
            await _consume(session, step, dataset, store_uri, event.producer)
    status = FINISHING.get(event.event_type)
    if status is None:
        await session.flush()
        return Applied()
    if state.status != RunStatus.RUNNING:
        await session.flush()
        return Applied(
            f"the run finished {state.status} already: this {event.event_type} changes nothing"
        )
    if status is RunStatus.COMPLETED and step is not None:
        for dataset in outputs:
            await _produce(session, step, dataset, store_uri, event.producer)
    error = None if status is RunStatus.COMPLETED else _error_message(event)
    for target in (state, step):
        if target is not None:
            target.status = status
            target.error = error
            target.ended_at = max(when, target.started_at)
    await session.flush()
    return Applied()


async def _holder_step(session: AsyncSession, run: PipelineRun, event: ReceivedEvent) -> StepRun:
    name = validate_name(event.job_name, "job name")
    step = await session.scalar(
        select(StepRun).where(StepRun.run_id == run.id, StepRun.name == name)
    )
    if step is None:
        step = StepRun(
            run_id=run.id,
            name=name,
            status=run.status,
            started_at=run.started_at,
            ended_at=run.ended_at,
            error=run.error,
            parameters=step_parameters(event.job_namespace, event.job_name, run.id),
        )
        session.add(step)
        await session.flush()
    return step


def _error_message(event: ReceivedEvent) -> str:
    facets = (event.payload.get("run") or {}).get("facets") or {}
    message = (facets.get("errorMessage") or {}).get("message")
    return message if isinstance(message, str) and message else f"{event.event_type} (OpenLineage)"


def _metadata(dataset: dict[str, Any], sent_by: str) -> dict[str, Any]:
    """The dataset's identity, the producer of the event that named it first and its facets
    (schema, column lineage, ...), as sent."""
    meta: dict[str, Any] = {
        "namespace": dataset["namespace"],
        "name": dataset["name"],
        "producer": sent_by,
    }
    for key in ("facets", "inputFacets", "outputFacets"):
        if isinstance(dataset.get(key), dict) and dataset[key]:
            meta[key] = dataset[key]
    return {"openlineage": meta}


def _new_version(
    dataset: dict[str, Any],
    producer: str | None,
    *,
    sent_by: str,
    name: str | None = None,
    version: str | None = None,
) -> NewVersion:
    return NewVersion(
        name=name or dataset_name(dataset),
        version=version,
        uri=dataset_uri(dataset),
        data_type=DATA_TYPE,
        materializer=MATERIALIZER,
        metadata=_metadata(dataset, sent_by),
        source=ArtifactSource.EXTERNAL,
        producer_step_run_id=producer,
    )


async def native_version(
    session: AsyncSession, dataset: dict[str, Any], store_uri: str
) -> ArtifactVersion | None:
    """The store's own version whose data lies where the dataset says (its location, store-
    relative, with or without the trailing `/` of a folder), the newest if several."""
    location = local_location(dataset)
    candidates = {location, location.rstrip("/"), location.rstrip("/") + "/"}
    relative = relative_to(store_uri, location.rstrip("/"))
    if relative is not None:
        candidates |= {relative.rstrip("/"), relative.rstrip("/") + "/"}
    found = await session.scalar(
        select(ArtifactVersion.id)
        .where(ArtifactVersion.uri.in_(sorted(candidates)))
        .order_by(ArtifactVersion.created_at.desc())
        .limit(1)
    )
    return None if found is None else await find_version(session, id=found, name=None, version=None)


def _lineageql_facet(dataset: dict[str, Any]) -> tuple[str, str] | None:
    """(artifact name, version) from a `lineageql` dataset facet (another LineageQL store's)."""
    facet = (dataset.get("facets") or {}).get("lineageql")
    if not isinstance(facet, dict):
        return None
    name, version = facet.get("artifactName"), facet.get("version")
    if isinstance(name, str) and name and isinstance(version, str) and version:
        return name, version
    return None


def _same_place(version: ArtifactVersion, dataset: dict[str, Any], store_uri: str) -> bool:
    return locate(store_uri, version.uri).rstrip("/") == dataset_uri(dataset).rstrip("/")


async def _known_version(
    session: AsyncSession,
    dataset: dict[str, Any],
    store_uri: str,
    producer: str | None,
    sent_by: str,
) -> ArtifactVersion | None:
    """The version a dataset names by itself, whatever the event: the store's own data at that
    location, or the version its `lineageql` facet names (created when new; not when that
    name and version hold other data, then the dataset is named by its location)."""
    native = await native_version(session, dataset, store_uri)
    if native is not None:
        return native
    named = _lineageql_facet(dataset)
    if named is None:
        return None
    name, version = named
    try:
        validate_name(name, "artifact name")
        validate_custom_version(version)
    except ApiError:
        return None
    found = await find_version(session, id=None, name=name, version=version)
    if found is None:
        new = _new_version(dataset, producer, sent_by=sent_by, name=name, version=version)
        return await create_version(session, new)
    return found if _same_place(found, dataset, store_uri) else None


async def _consume(
    session: AsyncSession, step: StepRun, dataset: dict[str, Any], store_uri: str, sent_by: str
) -> None:
    version = await _known_version(session, dataset, store_uri, None, sent_by)
    if version is None:
        name = validate_name(dataset_name(dataset), "dataset name")
        version = await find_version(session, id=None, name=name, version=None)
        if version is None:
            version = await create_version(session, _new_version(dataset, None, sent_by=sent_by))
    await _link(session, StepInput, step, version)


async def _produce(
    session: AsyncSession, step: StepRun, dataset: dict[str, Any], store_uri: str, sent_by: str
) -> None:
    version = await _known_version(session, dataset, store_uri, step.id, sent_by)
    if version is not None and _written_again(version, dataset, step):
        version = None
    if version is None:
        name = validate_name(dataset_name(dataset), "dataset name")
        if await session.get(StepOutput, (step.id, name)) is not None:
            return
        new = _new_version(dataset, step.id, sent_by=sent_by)
        version = await create_version(session, new)
    elif version.producer_step_run_id is None:
        # Data a step of this event's job wrote first, known so far only as read (or saved).
        await session.execute(
            update(ArtifactVersion)
            .where(ArtifactVersion.id == version.id, ArtifactVersion.producer_step_run_id.is_(None))
            .values(producer_step_run_id=step.id)
        )
    await _link(session, StepOutput, step, version)


def _written_again(version: ArtifactVersion, dataset: dict[str, Any], step: StepRun) -> bool:
    """Whether another run's output, made from OpenLineage events, lies where this run writes
    (a daily job rewriting its table): this run's output is a new version then, not that one.
    The store's own data, and a version a `lineageql` facet names, stay the version joined."""
    return (
        version.data_type == DATA_TYPE
        and version.producer_step_run_id not in (None, step.id)
        and _lineageql_facet(dataset) is None
    )


async def _link(
    session: AsyncSession,
    edge: type[StepInput] | type[StepOutput],
    step: StepRun,
    version: ArtifactVersion,
) -> None:
    """The step's input (or output) edge to `version`, named by its artifact; once."""
    if await session.get(edge, (step.id, version.artifact.name)) is not None:
        return
    session.add(
        edge(
            step_run_id=step.id,
            name=version.artifact.name,
            artifact_version_id=version.id,
            created_at=utcnow(),
        )
    )
    await session.flush()
