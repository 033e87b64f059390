"""Running a composed pipeline: one GraphQL round trip to start each step, one to finish it
with all its outputs. Output data is written completely before it is registered; a failed
step registers nothing and leaves no files behind."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sdk import cache
from sdk import operations as ops
from sdk.client import Client
from sdk.config import ExternalArtifact
from sdk.errors import InputError, LineageQLError, TransportError
from sdk.signature import (
    OutputSpec,
    check_type,
    default_artifact_name,
    describe_type,
    resolve_name,
)
from sdk.steps import Composition, Invocation, OutputRef, PipelineOptions, Step
from sdk.views import ArtifactVersion, PipelineRun

if TYPE_CHECKING:
    from sdk.materializers import BaseMaterializer, SavedData

log = logging.getLogger("lineageql")


class StepOutputError(LineageQLError, TypeError):
    """A step returned values that do not match its declared outputs."""


@dataclass(frozen=True)
class RunState:
    client: Client
    run_id: str
    pipeline: str
    options: PipelineOptions
    names: dict[tuple[str, str], str]
    produced: dict[tuple[str, str], ArtifactVersion]


def plan_names(
    composition: Composition, options: PipelineOptions, now: datetime
) -> dict[tuple[str, str], str]:
    """The artifact name of every output, resolved before any step runs (so a bad placeholder
    fails the call, not the third step)."""
    names: dict[tuple[str, str], str] = {}
    for invocation in composition.invocations:
        step = invocation.step
        substitutions = {**options.substitutions, **step.options.substitutions}
        for spec in step.outputs:
            names[(invocation.name, spec.key)] = (
                default_artifact_name(composition.pipeline, invocation.name, spec.key)
                if spec.name_template is None
                else resolve_name(spec.name_template, substitutions, now)
            )
    return names


def run_composition(composition: Composition, options: PipelineOptions) -> PipelineRun:
    names = plan_names(composition, options, datetime.now(UTC))
    client = Client()
    client.store  # where outputs go is known before anything runs  # noqa: B018
    run = client.execute(
        ops.START_PIPELINE_RUN,
        {"input": {"pipelineName": composition.pipeline, "runName": options.run_name}},
    )["startPipelineRun"]
    state = RunState(client, run["id"], composition.pipeline, options, names, {})
    log.info("Pipeline %s: run %s started", composition.pipeline, run["name"])
    try:
        for invocation in composition.invocations:
            _run_step(state, invocation)
    except BaseException as exc:
        _best_effort(_finish_run, client, state.run_id, "FAILED", _error_text(exc))
        log.info("Pipeline %s: run %s FAILED", composition.pipeline, run["name"])
        raise
    finished = _finish_run(client, state.run_id, "COMPLETED", None)
    log.info("Pipeline %s: run %s completed", composition.pipeline, run["name"])
    return PipelineRun.from_graphql(finished, client)


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
    failed = {"stepRunId": step_run_id, "status": "FAILED", "error": _error_text(exc)}
    _best_effort(state.client.execute, ops.FINISH_STEP_RUN, {"input": failed})


def _finish_run(client: Client, run_id: str, status: str, error: str | None) -> dict[str, Any]:
    """Close the run; the answer holds the whole run, steps and versions included."""
    variables = {"input": {"runId": run_id, "status": status, "error": error}}
    finished: dict[str, Any] = client.execute(ops.FINISH_PIPELINE_RUN, variables)[
        "finishPipelineRun"
    ]
    return finished


def _error_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def _resolve_external(client: Client, external: ExternalArtifact, name: str) -> ArtifactVersion:
    if external.id is not None:
        return client.get_artifact_version(external.id)
    if external.name is not None:
        return client.get_artifact_version(external.name, external.version)
    from sdk.artifacts import save_artifact

    return save_artifact(
        external.value, name=name, materializer=external.materializer, source="EXTERNAL"
    )


def _resolve_inputs(
    state: RunState, invocation: Invocation
) -> tuple[dict[str, ArtifactVersion], dict[str, Any]]:
    """Split the call's arguments into artifact inputs and JSON parameters."""
    artifacts: dict[str, ArtifactVersion] = {}
    parameters: dict[str, Any] = {}
    for name, value in invocation.arguments.items():
        if isinstance(value, OutputRef):
            artifacts[name] = state.produced[(value.invocation, value.key)]
        elif isinstance(value, ExternalArtifact):
            default = default_artifact_name(state.pipeline, invocation.name, name)
            artifacts[name] = _resolve_external(state.client, value, default)
        elif isinstance(value, ArtifactVersion):
            artifacts[name] = value
        else:
            parameters[name] = value
    return artifacts, parameters


def _run_step(state: RunState, invocation: Invocation) -> None:
    """Start the step (one round trip, which is also the cache check), run it unless the
    cache hit, and finish it with all its outputs (the second round trip)."""
    artifacts, parameters = _resolve_inputs(state, invocation)
    started = state.client.execute(
        ops.START_STEP_RUN, {"input": _start_input(state, invocation, artifacts, parameters)}
    )["startStepRun"]
    if started["status"] == "CACHED":
        _record_outputs(state, invocation, started["outputs"])
        log.info("Step %s cached: %s", invocation.name, started["cacheReason"])
        return
    step_run_id = started["id"]
    written: list[str] = []
    clock = time.perf_counter()
    try:
        outputs = _execute(state, invocation, artifacts, parameters, written)
        result = state.client.execute(
            ops.FINISH_STEP_RUN,
            {"input": {"stepRunId": step_run_id, "status": "COMPLETED", "outputs": outputs}},
        )["finishStepRun"]
    except BaseException as exc:
        _abandon_step(state, step_run_id, written, exc)
        log.info("Step %s FAILED: %s", invocation.name, _error_text(exc))
        raise
    _record_outputs(state, invocation, result["outputs"])
    log.info(
        "Step %s executed in %.3fs (not cached: %s)",
        invocation.name,
        time.perf_counter() - clock,
        started["cacheReason"],
    )


def _start_input(
    state: RunState,
    invocation: Invocation,
    artifacts: Mapping[str, ArtifactVersion],
    parameters: Mapping[str, Any],
) -> dict[str, Any]:
    step = invocation.step
    parts = cache.components(step, artifacts, parameters)
    off_reason = _cache_off_reason(state, invocation)
    if parts is None:
        off_reason = off_reason or "an input has no content hash to key the cache on"
    return {
        "runId": state.run_id,
        "name": invocation.name,
        "parameters": dict(parameters),
        "codeHash": cache.code_digest(step.func),
        "cacheKey": None if parts is None else cache.cache_key(parts),
        "cacheComponents": parts,
        "useCache": off_reason is None,
        "cacheOffReason": off_reason,
        "inputs": [{"name": n, "artifactVersionId": v.id} for n, v in artifacts.items()],
    }


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


def _record_outputs(state: RunState, invocation: Invocation, edges: list[dict[str, Any]]) -> None:
    for edge in edges:
        version = ArtifactVersion.from_graphql(edge["artifactVersion"], state.client)
        state.produced[(invocation.name, edge["name"])] = version


def _execute(
    state: RunState,
    invocation: Invocation,
    artifacts: Mapping[str, ArtifactVersion],
    parameters: Mapping[str, Any],
    written: list[str],
) -> list[dict[str, Any]]:
    """Load inputs, call the function, write its outputs; returns them as mutation inputs."""
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
    returned = step.func(**kwargs)
    values = _split_outputs(invocation.name, step.outputs, returned)
    outputs = []
    for spec, value in zip(step.outputs, values, strict=True):
        if not check_type(value, spec.annotation):
            raise StepOutputError(
                f"step {invocation.name!r} output {spec.key!r} is a {type(value).__name__}, "
                f"but the step declares {describe_type(spec.annotation)}"
            )
        outputs.append(_save_output(state, invocation, spec, value, written))
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
) -> dict[str, Any]:
    from sdk.materializers import save_data

    name = state.names[(invocation.name, spec.key)]
    store = state.client.store
    uri = store.new_version_uri(invocation.name, spec.key)
    written.append(uri)
    saved = save_data(value, uri, store, _materializer_for(invocation.step, spec.key))
    config = spec.config
    return {
        "outputName": spec.key,
        "artifact": _version_input(
            saved,
            name,
            version=None if config is None or config.version is None else str(config.version),
            tags=list(config.tags) if config else [],
        ),
    }


def _version_input(
    saved: SavedData, name: str, *, version: str | None, tags: list[str]
) -> dict[str, Any]:
    return {
        "name": name,
        "version": version,
        "uri": saved.uri,
        "dataType": saved.data_type,
        "materializer": saved.materializer,
        "contentHash": saved.content_hash,
        "sizeBytes": saved.size_bytes,
        "metadata": saved.metadata,
        "tags": tags,
    }
