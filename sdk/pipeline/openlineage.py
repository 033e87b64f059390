"""OpenLineage RunEvents for pipeline and step runs, sent through the official client.

Off unless OpenLineage is configured the standard way: `OPENLINEAGE_URL`, an
`OPENLINEAGE__TRANSPORT__...` variable, `OPENLINEAGE_CONFIG` or an `openlineage.yml` in the
working directory or `~/.openlineage` (`OPENLINEAGE_DISABLED=true` turns it off again). The
client (`pip install 'lineageql[openlineage]'`) is imported only then, so `import sdk` stays light.

Mapping: a pipeline run is a run of job `{pipeline}`, a step run a run of job
`{pipeline}.{step}` whose `parent` facet names the pipeline run; run ids are LineageQL's ids.
Artifact versions are datasets named by where their data lies (`file://{host}` + path, or
`s3://{bucket}` + key), with a `lineageql` facet (artifact name, version, tags, materializer,
content hash, cache status). A cached step sends START and COMPLETE, its `lineageql` run facet
naming the step run it reused.

A run that a KeyboardInterrupt or SystemExit stops ends with ABORT (its step too); a process that
is killed outright sends nothing more (the server marks its run ABANDONED when the heartbeats
stop, but the server sends no OpenLineage events). `save_artifact` and `register_artifact` send
one COMPLETE of job `lineageql.save` / `lineageql.register` whose output is the new version.
A pandas DataFrame or Series has a `schema` facet (column names and dtypes).

Best effort: events are built and sent by one background thread per pipeline run, so a failing
or slow receiver never fails or stalls a step. When the run ends, the pipeline waits at most
`LINEAGEQL_OPENLINEAGE_TIMEOUT` seconds (default 5) for its events to go out; the first failure
of a run is logged (a warning), later ones only at debug level.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import queue
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sdk.types import JsonObject

if TYPE_CHECKING:
    from sdk.client.records import StartedStep
    from sdk.client.views import ArtifactVersion

log = logging.getLogger("lineageql.openlineage")

TIMEOUT_ENV = "LINEAGEQL_OPENLINEAGE_TIMEOUT"
DEFAULT_TIMEOUT = 5.0  # seconds a finished run waits for its events to be delivered
HTTP_TIMEOUT = 2.0  # seconds per request when only OPENLINEAGE_URL configures the client
QUEUE_SIZE = 10_000  # events waiting per run; beyond that they are dropped (and logged)
NAMESPACE_ENV = "OPENLINEAGE_NAMESPACE"
DEFAULT_NAMESPACE = "lineageql"
PRODUCER = "https://pypi.org/project/lineageql/"
# The `$id` of the JSON schema of the `lineageql` facets, shipped beside this module
# (FACET_SCHEMA_FILE); each facet's `_schemaURL` is it plus the pointer of its definition.
FACET_SCHEMA = "urn:lineageql:openlineage:facets:1-0-0:LineageQLFacets.json"
FACET_SCHEMA_FILE = "lineageql_facets.json"
SAVE_JOBS = {
    "SAVED": "lineageql.save",
    "EXTERNAL": "lineageql.save",
    "REGISTERED": "lineageql.register",
}
# Run endings that are not the run's own failure: the process is being stopped (Ctrl-C,
# sys.exit, a signal turned into SystemExit). They end the run with ABORT, not FAIL.
ABORTING = (KeyboardInterrupt, SystemExit, GeneratorExit)
CONFIG_FILE = "openlineage.yml"


def configured() -> bool:
    """Whether OpenLineage is configured in one of the ways its own client reads."""
    if os.environ.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true":
        return False
    if os.environ.get("OPENLINEAGE_URL"):
        return True
    if any(key.startswith("OPENLINEAGE__TRANSPORT__") for key in os.environ):
        return True
    candidates = [
        os.environ.get("OPENLINEAGE_CONFIG"),
        os.path.join(os.getcwd(), CONFIG_FILE),
        os.path.join(os.path.expanduser("~/.openlineage"), CONFIG_FILE),
    ]
    return any(path and os.path.isfile(path) for path in candidates)


@dataclass(frozen=True)
class Dataset:
    """One artifact version as an OpenLineage dataset."""

    namespace: str
    name: str
    facet: JsonObject


def dataset_of(
    *,
    uri: str,
    version_id: str,
    artifact: str,
    version: str,
    tags: Sequence[str],
    materializer: str,
    content_hash: str | None,
    source: str,
    cache_status: str | None,
) -> Dataset:
    """Namespace and name from where the data lies (`file://{host}` and the absolute path for a
    local store, `{scheme}://{bucket}` and the key otherwise), and the `lineageql` facet."""
    parts = urlsplit(uri)
    if parts.scheme in {"", "file"} or len(parts.scheme) == 1:  # a path (a drive letter too)
        namespace = f"file://{socket.gethostname()}"
        path = parts.path if parts.scheme == "file" else uri
        name = path.rstrip("/") or "/"
    else:
        namespace = f"{parts.scheme}://{parts.netloc}"
        name = parts.path.strip("/")
    facet = {
        "artifactName": artifact,
        "version": version,
        "artifactVersionId": version_id,
        "tags": list(tags),
        "materializer": materializer,
        "contentHash": content_hash,
        "source": source,
        "cacheStatus": cache_status,
    }
    return Dataset(namespace, name, facet)


def columns_of(data_type: str, metadata: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(column, dtype) of a pandas DataFrame or Series, from the metadata its materializer
    recorded (`dtypes`); none for other data."""
    dtypes = metadata.get("dtypes")
    if not data_type.startswith(("pandas.", "pandas:")) or not isinstance(dtypes, Mapping):
        return []
    return [(str(name), str(dtype)) for name, dtype in dtypes.items()]


def from_view(version: ArtifactVersion, cache_status: str | None = None) -> Dataset:
    return dataset_of(
        uri=version.uri,
        version_id=version.id,
        artifact=version.name,
        version=version.version,
        tags=version.tags,
        materializer=version.materializer,
        content_hash=version.content_hash,
        source=version.source,
        cache_status=cache_status,
    )


class Emitter:
    """The events of one pipeline run. Every method returns at once and never raises."""

    def __init__(self, pipeline: str, run_id: str, kind: str = "pipeline") -> None:
        self.pipeline = pipeline
        self.run_id = run_id
        self.kind = kind
        self.namespace = os.environ.get(NAMESPACE_ENV) or DEFAULT_NAMESPACE
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue(QUEUE_SIZE)
        self._failed = False
        self._client: Any = None
        self._thread = threading.Thread(
            target=self._work, name=f"lineageql-openlineage-{run_id}", daemon=True
        )
        self._thread.start()

    # What sdk.pipeline.execution reports.

    def run_started(self) -> None:
        self._send("START", self.pipeline, self.run_id)

    def run_finished(self, error: BaseException | None) -> None:
        """COMPLETE, FAIL (with the error) or ABORT (stopped by KeyboardInterrupt or
        SystemExit), then wait a bounded time for delivery."""
        self._send(ending(error), self.pipeline, self.run_id, error=error)
        self.close()

    def saved(self, version: ArtifactVersion) -> None:
        """One COMPLETE of this save run with the new version as its output, then wait a
        bounded time for delivery."""
        self._send("COMPLETE", self.pipeline, self.run_id, outputs=[version], kind=self.kind)
        self.close()

    def step_started(self, step_run_id: str, step: str, inputs: Sequence[ArtifactVersion]) -> None:
        self._send("START", self._job(step), step_run_id, inputs=inputs, step=step)

    def step_finished(
        self,
        step_run_id: str,
        step: str,
        inputs: Sequence[ArtifactVersion],
        outputs: Mapping[str, ArtifactVersion] | None = None,
        error: BaseException | None = None,
    ) -> None:
        """COMPLETE with the outputs (by output name, as finishStepRun answered), or FAIL
        (ABORT) with the error."""
        self._send(
            ending(error),
            self._job(step),
            step_run_id,
            inputs=inputs,
            outputs=list((outputs or {}).values()),
            error=error,
            step=step,
        )

    def step_cached(
        self, started: StartedStep, step: str, inputs: Sequence[ArtifactVersion]
    ) -> None:
        """START and COMPLETE of a step that reused an earlier step run's outputs."""
        cached = {
            "status": "CACHED",
            "cacheReason": started.cache_reason,
            "reusedStepRunId": started.reused_step_run_id,
            "reusedPipelineRunName": started.reused_run_name,
        }
        for event_type in ("START", "COMPLETE"):
            self._send(
                event_type,
                self._job(step),
                started.id,
                inputs=inputs,
                outputs=list(started.outputs.values()) if event_type == "COMPLETE" else [],
                step=step,
                cached=cached,
                cache_status="CACHED",
            )

    def close(self) -> None:
        """Wait up to LINEAGEQL_OPENLINEAGE_TIMEOUT seconds for the queued events to go out; the
        thread is left to finish (or give up) on its own after that."""
        deadline = time.monotonic() + timeout()
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=max(deadline - time.monotonic(), 0.001))
        self._thread.join(max(deadline - time.monotonic(), 0))
        if self._thread.is_alive():
            log.warning(
                "OpenLineage: events of run %s not all delivered within %.1fs; they are sent "
                "in the background while the process lives",
                self.run_id,
                timeout(),
            )

    # The background thread.

    def _job(self, step: str) -> str:
        return f"{self.pipeline}.{step}"

    def _send(self, event_type: str, job: str, run_id: str, **parts: Any) -> None:
        when = datetime.now(UTC).isoformat()
        try:
            self._queue.put_nowait(
                functools.partial(self._emit, event_type, when, job, run_id, **parts)
            )
        except queue.Full:
            self._fail(f"more than {QUEUE_SIZE} events waiting; {event_type} of {job} dropped")

    def _work(self) -> None:
        while True:
            task = self._queue.get()
            if task is None:
                return
            try:
                task()
            except ImportError as exc:
                self._fail(f"{exc}; install it with pip install 'lineageql[openlineage]'")
            except Exception as exc:  # the receiver's problem, never the pipeline's
                self._fail(f"{type(exc).__name__}: {exc}")

    def _fail(self, reason: str) -> None:
        if self._failed:
            log.debug("OpenLineage: run %s: %s", self.run_id, reason)
            return
        self._failed = True
        log.warning(
            "OpenLineage: an event of run %s was not delivered (%s); the pipeline goes on, and "
            "further failures of this run are logged at debug level",
            self.run_id,
            reason,
        )

    def _emit(
        self,
        event_type: str,
        when: str,
        job: str,
        run_id: str,
        *,
        inputs: Sequence[ArtifactVersion] = (),
        outputs: Sequence[ArtifactVersion] = (),
        error: BaseException | None = None,
        step: str | None = None,
        cached: Mapping[str, Any] | None = None,
        cache_status: str = "EXECUTED",
        kind: str | None = None,
    ) -> None:
        from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent
        from openlineage.client.event_v2 import RunState as EventType
        from openlineage.client.facet_v2 import error_message_run, parent_run, schema_dataset

        if self._client is None:
            self._client = make_client()
        run_facets: JsonObject = {}
        if step is not None:
            run_facets["parent"] = parent_run.ParentRunFacet(
                run=parent_run.Run(runId=self.run_id),
                job=parent_run.Job(namespace=self.namespace, name=self.pipeline),
                root=parent_run.Root(
                    run=parent_run.RootRun(runId=self.run_id),
                    job=parent_run.RootJob(namespace=self.namespace, name=self.pipeline),
                ),
            )
        run_facet, dataset_facet = facet_classes()
        run_facets["lineageql"] = run_facet(
            kind=kind or ("step" if step is not None else "pipeline"),
            pipeline=self.pipeline,
            step=step,
            pipelineRunId=self.run_id,
            cache=dict(cached) if cached else None,
        )
        if error is not None:
            run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message="".join(traceback.format_exception_only(type(error), error)).strip(),
                programmingLanguage="python",
                stackTrace="".join(traceback.format_exception(error)),
            )

        def facets(version: ArtifactVersion, status: str | None) -> JsonObject:
            dataset = from_view(version, status)
            made: JsonObject = {"lineageql": dataset_facet(**dataset.facet)}
            if columns := columns_of(version.data_type, version.metadata):
                made["schema"] = schema_dataset.SchemaDatasetFacet(
                    fields=[schema_dataset.SchemaDatasetFacetFields(n, t) for n, t in columns]
                )
            return made

        event = RunEvent(
            eventType=EventType[event_type],
            eventTime=when,
            run=Run(runId=str(uuid.UUID(run_id)), facets=run_facets),
            job=Job(namespace=self.namespace, name=job),
            inputs=[
                InputDataset(d.namespace, d.name, facets=facets(v, None))
                for v, d in ((v, from_view(v)) for v in inputs)
            ],
            outputs=[
                OutputDataset(d.namespace, d.name, facets=facets(v, cache_status))
                for v, d in ((v, from_view(v, cache_status)) for v in outputs)
            ],
            producer=PRODUCER,
        )
        self._client.emit(event)


def ending(error: BaseException | None) -> str:
    """The finishing event type: COMPLETE, ABORT for a stopped process, FAIL otherwise."""
    if error is None:
        return "COMPLETE"
    return "ABORT" if isinstance(error, ABORTING) else "FAIL"


def facet_schema() -> JsonObject:
    """The JSON schema of the `lineageql` facets, as shipped in the package."""
    import json
    from importlib import resources

    text = resources.files(__package__ or "sdk.pipeline").joinpath(FACET_SCHEMA_FILE).read_text()
    schema: JsonObject = json.loads(text)
    return schema


def timeout() -> float:
    """LINEAGEQL_OPENLINEAGE_TIMEOUT as seconds (default 5); a bad value means the default."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    try:
        value = float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if 0 <= value <= 3600 else DEFAULT_TIMEOUT


def make_client() -> Any:
    """The OpenLineage client as its configuration says. With only OPENLINEAGE_URL (and
    OPENLINEAGE_ENDPOINT / OPENLINEAGE_API_KEY) set, the HTTP transport gets a short timeout
    and one retry instead of the client's defaults (5s, five retries with backoff)."""
    from openlineage.client import OpenLineageClient

    url = os.environ.get("OPENLINEAGE_URL")
    explicit = any(key.startswith("OPENLINEAGE__TRANSPORT__") for key in os.environ)
    if url and not explicit and not os.environ.get("OPENLINEAGE_CONFIG"):
        from openlineage.client.transport.http import HttpConfig, HttpTransport

        config: JsonObject = {
            "url": url,
            "endpoint": os.environ.get("OPENLINEAGE_ENDPOINT", "api/v1/lineage"),
            "timeout": HTTP_TIMEOUT,
            "retry": {"total": 1, "connect": 1, "read": 1, "backoff_factor": 0.1},
        }
        if api_key := os.environ.get("OPENLINEAGE_API_KEY"):
            config["auth"] = {"type": "api_key", "apiKey": api_key}
        return OpenLineageClient(transport=HttpTransport(HttpConfig.from_dict(config)))
    return OpenLineageClient()


@functools.cache
def facet_classes() -> tuple[Any, Any]:
    """The `lineageql` run and dataset facets (attrs classes of the client, built on first
    use so that the client is imported only when events are sent)."""
    import attr
    from openlineage.client.generated.base import DatasetFacet, RunFacet

    @attr.define
    class LineageQLRunFacet(RunFacet):
        kind: str
        pipeline: str
        step: str | None = None
        pipelineRunId: str | None = None  # noqa: N815
        cache: JsonObject | None = None

        @staticmethod
        def _get_schema() -> str:
            return f"{FACET_SCHEMA}#/$defs/LineageQLRunFacet"

    @attr.define
    class LineageQLDatasetFacet(DatasetFacet):
        artifactName: str  # noqa: N815
        version: str
        artifactVersionId: str  # noqa: N815
        tags: list[str]
        materializer: str
        contentHash: str | None = None  # noqa: N815
        source: str | None = None
        cacheStatus: str | None = None  # noqa: N815

        @staticmethod
        def _get_schema() -> str:
            return f"{FACET_SCHEMA}#/$defs/LineageQLDatasetFacet"

    return LineageQLRunFacet, LineageQLDatasetFacet


class _Off:
    """What sdk.pipeline.execution talks to when OpenLineage is not configured."""

    def __bool__(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Callable[..., None]:
        if name.startswith("__"):  # copy, pickle and friends see a plain object
            raise AttributeError(name)
        return lambda *args, **kwargs: None


def for_run(pipeline: str, run_id: str) -> Emitter | _Off:
    """An Emitter for the run when OpenLineage is configured, else a do-nothing stand-in."""
    if not configured():
        return OFF
    try:
        return Emitter(pipeline, run_id)
    except Exception as exc:  # e.g. a thread that cannot start: never fail the pipeline
        log.warning("OpenLineage: no events for run %s: %s", run_id, exc)
        return OFF


OFF = _Off()


def artifact_saved(version: ArtifactVersion) -> None:
    """A COMPLETE of job `lineageql.save` (`lineageql.register` for registered data) with the
    new version as its output, when OpenLineage is configured; never raises, waits at most
    LINEAGEQL_OPENLINEAGE_TIMEOUT seconds."""
    if not configured():
        return
    job = SAVE_JOBS.get(version.source, SAVE_JOBS["SAVED"])
    try:
        Emitter(job, str(uuid.uuid4()), kind=job.rsplit(".", 1)[-1]).saved(version)
    except Exception as exc:  # never fail the save
        log.warning("OpenLineage: no event for the save of %s: %s", version.name, exc)
