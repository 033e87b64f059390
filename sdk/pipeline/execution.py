"""Running a composed pipeline: one GraphQL round trip to start each step, one to finish it
with all its outputs. Output data is written completely before it is registered; a failed
step registers nothing and leaves no files behind. Inputs from outside the pipeline
(`ExternalArtifact`, `ArtifactVersion`) are resolved before the run starts."""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from api import rules
from api.rules import RuleError
from sdk.artifacts.config import ExternalArtifact
from sdk.client.client import Client, resolve
from sdk.client.records import StepOutput, StepStart, VersionInput
from sdk.client.views import ArtifactVersion, PipelineRun
from sdk.errors import InputError, LineageQLError, NotFoundError, TransportError
from sdk.metadata import StepContext, running_step
from sdk.pipeline import cache, openlineage
from sdk.pipeline.signature import (
    OutputSpec,
    check_type,
    default_artifact_name,
    describe_type,
    resolve_name,
)
from sdk.pipeline.steps import Composition, Invocation, OutputRef, PipelineOptions, Step

if TYPE_CHECKING:
    from sdk.materializers import BaseMaterializer

log = logging.getLogger("lineageql")


class StepOutputError(LineageQLError, TypeError):
    """A step returned values that do not match its declared outputs."""


InputKey = tuple[str, str]  # (step invocation name, input name)


@dataclass(frozen=True)
class RunState:
    client: Client
    run_id: str
    pipeline: str
    options: PipelineOptions
    names: dict[tuple[str, str], str]
    produced: dict[tuple[str, str], ArtifactVersion]
    external: Mapping[InputKey, ArtifactVersion]
    events: openlineage.Emitter | openlineage._Off = openlineage.OFF  # OpenLineage, if set up


def plan_names(
    composition: Composition, options: PipelineOptions, now: datetime
) -> dict[tuple[str, str], str]:
    """The artifact name of every output, resolved before any step runs, and every output's
    name, version and tags checked by the rules the API applies (`api.rules`): a bad placeholder
    or tag fails the call with nothing run, recorded or written, not the third step."""
    names: dict[tuple[str, str], str] = {}
    for invocation in composition.invocations:
        step = invocation.step
        substitutions = {**options.substitutions, **step.options.substitutions}
        for spec in step.outputs:
            name = (
                default_artifact_name(composition.pipeline, invocation.name, spec.key)
                if spec.name_template is None
                else resolve_name(spec.name_template, substitutions, now)
            )
            _check_output(invocation.name, spec, name)
            names[(invocation.name, spec.key)] = name
    return names


def _check_output(step_name: str, spec: OutputSpec, name: str) -> None:
    """The name, custom version and tags one output will be registered with, checked now."""
    try:
        rules.check_name(name)
        if spec.config is not None:
            rules.check_version(spec.config.version)
            rules.check_tags(spec.config.tags)
    except RuleError as exc:
        raise InputError(
            f"Output {spec.key!r} of step {step_name!r}: {exc} Nothing was run or recorded."
        ) from None


def run_composition(composition: Composition, options: PipelineOptions) -> PipelineRun:
    names = plan_names(composition, options, datetime.now(UTC))
    client = resolve(options.client)
    client.store  # where outputs go is known before anything runs  # noqa: B018
    external = resolve_external_inputs(client, composition)
    interval = client.settings.heartbeat_interval
    run = client.start_pipeline_run(
        composition.pipeline, run_name=options.run_name, heartbeat_interval=interval
    )
    events = openlineage.for_run(composition.pipeline, run.id)
    state = RunState(client, run.id, composition.pipeline, options, names, {}, external, events)
    events.run_started()
    log.info("Pipeline %s: run %s started", composition.pipeline, run.name)
    try:
        with Heartbeat(client, state.run_id, interval):
            for invocation in composition.invocations:
                _run_step(state, invocation)
    except BaseException as exc:
        _best_effort(client.finish_pipeline_run, state.run_id, "FAILED", _error_text(exc))
        events.run_finished(exc)
        log.info("Pipeline %s: run %s FAILED", composition.pipeline, run.name)
        raise
    finished = client.finish_pipeline_run(state.run_id, "COMPLETED", None)
    events.run_finished(None)
    log.info("Pipeline %s: run %s completed", composition.pipeline, run.name)
    return finished


class Heartbeat:
    """While the block runs, a daemon thread tells the API every `interval` seconds that the
    run is alive. If this process dies (SIGKILL, power loss), the heartbeats stop and the API
    records the run ABANDONED a few intervals later. A failed heartbeat is logged, not raised."""

    def __init__(self, client: Client, run_id: str, interval: float | None) -> None:
        self._client, self._run_id, self._interval = client, run_id, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        if self._interval is not None:
            self._thread = threading.Thread(
                target=self._beat, name=f"lineageql-heartbeat-{self._run_id}", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _beat(self) -> None:
        assert self._interval is not None
        while not self._stop.wait(self._interval):
            try:
                self._client.record_heartbeat(self._run_id)
            except (LineageQLError, OSError) as exc:
                log.warning("heartbeat of run %s not recorded: %s", self._run_id, exc)


def _best_effort(record: Callable[..., object], *args: Any) -> None:
    """Record a failure without hiding the exception that caused it."""
    try:
        record(*args)
    except (LineageQLError, OSError) as exc:
        log.warning("could not record the failure: %s", exc)


def _abandon_step(
    state: RunState, step_run_id: str, written: list[str], exc: BaseException
) -> None:
    """Remove the failed step's files, unless the API may have registered them: after a
    transport error the outcome of finishStepRun is unknown, and files are kept."""
    if not isinstance(exc, TransportError):
        for uri in written:
            _best_effort(state.client.store.remove, uri)
    _best_effort(state.client.fail_step, step_run_id, _error_text(exc))


def _error_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def resolve_external_inputs(
    client: Client, composition: Composition
) -> dict[InputKey, ArtifactVersion]:
    """The version every `ExternalArtifact` or `ArtifactVersion` input stands for, before the
    run starts: first every lookup, so an unknown name, version or id fails the call with
    nothing recorded, then the upload of each `ExternalArtifact(value=...)` (source EXTERNAL).
    An object passed to several inputs is resolved once."""
    uses = [
        (invocation.name, name, value)
        for invocation in composition.invocations
        for name, value in invocation.arguments.items()
        if isinstance(value, ExternalArtifact | ArtifactVersion)
    ]
    found: dict[int, ArtifactVersion] = {}
    for uploads in (False, True):
        for step_name, name, value in uses:
            if id(value) in found or _is_upload(value) is not uploads:
                continue
            default = default_artifact_name(composition.pipeline, step_name, name)
            found[id(value)] = _resolve_external(client, value, step_name, name, default)
    return {(step_name, name): found[id(value)] for step_name, name, value in uses}


def _is_upload(value: ExternalArtifact | ArtifactVersion) -> bool:
    return isinstance(value, ExternalArtifact) and value.has_value


def _resolve_external(
    client: Client,
    value: ExternalArtifact | ArtifactVersion,
    step_name: str,
    input_name: str,
    default_name: str,
) -> ArtifactVersion:
    """The version one external input stands for; NotFoundError says which input asked what."""
    if isinstance(value, ExternalArtifact) and value.has_value:
        from sdk.artifacts.functions import save_version

        version = save_version(
            client,
            value.value,
            default_name,
            materializer=value.materializer,
            source="EXTERNAL",
            include_visualizations=value.store_artifact_visualizations,
            extract_metadata=value.store_artifact_metadata,
        )
    else:
        try:
            version = _look_up(client, value)
        except NotFoundError as exc:
            raise NotFoundError(
                f"{_describe(value)}, input {input_name!r} of step {step_name!r}: {exc}. "
                "Nothing was run or recorded."
            ) from None
    log.info(
        "Input %s of step %s: %s:%s (%s)",
        input_name,
        step_name,
        version.name,
        version.version,
        _describe(value),
    )
    return version


def _look_up(client: Client, value: ExternalArtifact | ArtifactVersion) -> ArtifactVersion:
    if isinstance(value, ArtifactVersion):
        return _by_id(
            client, value.id, "this store holds no such version; was it read from another store?"
        )
    if value.id is not None:
        return _by_id(client, value.id, "use ExternalArtifact(name=...) to pick one by name")
    assert value.name is not None
    if value.alias is not None:  # resolved now; the run records the exact version used
        return client.get_aliased_version(value.name, value.alias)
    return _by_name(client, value.name, value.version)


def _by_name(client: Client, name: str, version: str | None) -> ArtifactVersion:
    found = client.find_artifact_version(name=name, version=version)
    if found is not None:
        return found
    try:
        client.get_artifact(name)
    except NotFoundError:
        raise client.unknown_artifact(name) from None
    return client.get_artifact_version(name, version)  # raises, naming the latest versions


def _by_id(client: Client, version_id: str, hint: str) -> ArtifactVersion:
    found = client.find_artifact_version(id=version_id)
    if found is None:
        raise NotFoundError(f"no artifact version has id {version_id!r} ({hint})")
    return found


def _describe(value: ExternalArtifact | ArtifactVersion) -> str:
    if isinstance(value, ArtifactVersion):
        return f"artifact version {value.name}:{value.version} (id {value.id})"
    if value.has_value:
        return f"ExternalArtifact(value=<{type(value.value).__name__}>)"
    if value.id is not None:
        return f"ExternalArtifact(id={value.id!r})"
    version = "" if value.version is None else f", version={value.version!r}"
    version += "" if value.alias is None else f", alias={value.alias!r}"
    return f"ExternalArtifact(name={value.name!r}{version})"


def _resolve_inputs(
    state: RunState, invocation: Invocation
) -> tuple[dict[str, ArtifactVersion], dict[str, Any]]:
    """Split the call's arguments into artifact inputs and JSON parameters."""
    artifacts: dict[str, ArtifactVersion] = {}
    parameters: dict[str, Any] = {}
    for name, value in invocation.arguments.items():
        if isinstance(value, OutputRef):
            artifacts[name] = state.produced[(value.invocation, value.key)]
        elif isinstance(value, ExternalArtifact | ArtifactVersion):
            artifacts[name] = state.external[(invocation.name, name)]
        else:
            parameters[name] = value
    return artifacts, parameters


def _run_step(state: RunState, invocation: Invocation) -> None:
    """Start the step (one round trip, which is also the cache check), run it unless the
    cache hit, and finish it with all its outputs (the second round trip)."""
    artifacts, parameters = _resolve_inputs(state, invocation)
    started = state.client.start_step(_step_start(state, invocation, artifacts, parameters))
    inputs = list(artifacts.values())
    if started.cached:
        _record_outputs(state, invocation, started.outputs)
        state.events.step_cached(started, invocation.name, inputs)
        log.info("Step %s cached: %s", invocation.name, started.cache_reason)
        return
    step_run_id = started.id
    state.events.step_started(step_run_id, invocation.name, inputs)
    written: list[str] = []
    clock = time.perf_counter()
    try:
        outputs = _execute(state, invocation, artifacts, parameters, written, step_run_id)
        result = state.client.finish_step(step_run_id, outputs)
    except BaseException as exc:
        _abandon_step(state, step_run_id, written, exc)
        state.events.step_finished(step_run_id, invocation.name, inputs, error=exc)
        log.info("Step %s FAILED: %s", invocation.name, _error_text(exc))
        raise
    _record_outputs(state, invocation, result.outputs)
    state.events.step_finished(step_run_id, invocation.name, inputs, result.outputs)
    log.info(
        "Step %s executed in %.3fs (not cached: %s)",
        invocation.name,
        time.perf_counter() - clock,
        started.cache_reason,
    )


def _step_start(
    state: RunState,
    invocation: Invocation,
    artifacts: Mapping[str, ArtifactVersion],
    parameters: Mapping[str, Any],
) -> StepStart:
    step = invocation.step
    parts = cache.components(step, artifacts, parameters)
    off_reason = _cache_off_reason(state, invocation)
    if parts is None:
        off_reason = off_reason or "an input has no content hash to key the cache on"
    return StepStart(
        run_id=state.run_id,
        name=invocation.name,
        parameters=parameters,
        code_hash=cache.code_digest(step.func),
        cache_key=None if parts is None else cache.cache_key(parts),
        cache_components=parts,
        use_cache=off_reason is None,
        cache_off_reason=off_reason,
        inputs={n: v.id for n, v in artifacts.items()},
    )


def _cache_off_reason(state: RunState, invocation: Invocation) -> str | None:
    """Why this step must not reuse a cached run, or None. The step's `enable_cache` wins
    over the pipeline's; caching is on when neither sets it."""
    step_setting = invocation.step.options.enable_cache
    if step_setting is False:
        return "caching is disabled on the step"
    if step_setting is None and state.options.enable_cache is False:
        return "caching is disabled on the pipeline"
    external = [n for n, v in invocation.arguments.items() if isinstance(v, ExternalArtifact)]
    if external:
        return f"input {external[0]!r} is an ExternalArtifact, which is never cached"
    return None


def _record_outputs(
    state: RunState, invocation: Invocation, outputs: Mapping[str, ArtifactVersion]
) -> None:
    for name, version in outputs.items():
        state.produced[(invocation.name, name)] = version


def _execute(
    state: RunState,
    invocation: Invocation,
    artifacts: Mapping[str, ArtifactVersion],
    parameters: Mapping[str, Any],
    written: list[str],
    step_run_id: str,
) -> list[StepOutput]:
    """Load inputs, call the function, write its outputs; returns what to register (with the
    metadata `log_metadata` logged for them while the function ran)."""
    step = invocation.step
    kwargs = dict(parameters)
    for name, version in artifacts.items():
        kwargs[name] = version.load()
    for name, value in kwargs.items():
        declared = step.inputs.get(name)
        if declared is not None and not check_type(value, declared.annotation):
            raise InputError(
                f"input {name!r} of step {invocation.name!r} is a {type(value).__name__}, "
                f"but the step declares {describe_type(declared.annotation)}"
            )
    outputs_named = {spec.key: state.names[(invocation.name, spec.key)] for spec in step.outputs}
    context = StepContext(state.client, step_run_id, invocation.name, outputs_named)
    with running_step(context):
        returned = step.func(**kwargs)
    values = _split_outputs(invocation.name, step.outputs, returned)
    outputs = []
    for spec, value in zip(step.outputs, values, strict=True):
        if not check_type(value, spec.annotation):
            raise StepOutputError(
                f"step {invocation.name!r} output {spec.key!r} is a {type(value).__name__}, "
                f"but the step declares {describe_type(spec.annotation)}"
            )
        logged = context.output_metadata.get(spec.key, {})
        outputs.append(_save_output(state, invocation, spec, value, written, logged))
    return outputs


def _split_outputs(step: str, specs: list[OutputSpec], returned: Any) -> list[Any]:
    if not specs:
        return []
    if len(specs) == 1:
        return [returned]
    if not isinstance(returned, tuple) or len(returned) != len(specs):
        raise StepOutputError(
            f"step {step!r} declares {len(specs)} outputs "
            f"({', '.join(s.key for s in specs)}) but returned "
            f"{type(returned).__name__ if not isinstance(returned, tuple) else len(returned)}"
            f"{'' if not isinstance(returned, tuple) else ' values'}"
        )
    return list(returned)


def _materializer_for(step: Step, key: str) -> type[BaseMaterializer] | None:
    option = step.options.output_materializers
    if option is None:
        return None
    if isinstance(option, Mapping):
        return option.get(key)
    return option


def _save_output(
    state: RunState,
    invocation: Invocation,
    spec: OutputSpec,
    value: Any,
    written: list[str],
    logged: Mapping[str, Any],
) -> StepOutput:
    from sdk.materializers import save_data

    name = state.names[(invocation.name, spec.key)]
    store = state.client.store
    uri = store.new_version_uri(invocation.name, spec.key)
    written.append(uri)
    saved = save_data(
        value,
        uri,
        store,
        _materializer_for(invocation.step, spec.key),
        visualize=invocation.step.options.enable_artifact_visualization is not False,
    )
    config = spec.config
    version = None if config is None or config.version is None else str(config.version)
    tags = list(config.tags) if config else []
    run_metadata = {**(config.run_metadata if config else {}), **logged}
    return StepOutput(
        spec.key,
        VersionInput.from_saved(
            saved,
            name,
            version=version,
            tags=tags,
            store=store,
            run_metadata=run_metadata,
            artifact_type=config.artifact_type if config else None,
        ),
    )
