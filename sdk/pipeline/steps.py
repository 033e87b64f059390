"""`@step` and `@pipeline`: calling a pipeline composes its steps, then runs them now."""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, overload

from sdk.artifacts.config import ExternalArtifact
from sdk.client.views import ArtifactVersion, PipelineRun
from sdk.errors import InputError
from sdk.pipeline.signature import InputSpec, OutputSpec, parse_inputs, parse_outputs

if TYPE_CHECKING:
    from sdk.client.client import Client

MaterializerOption = type | Mapping[str, type] | None


@dataclass(frozen=True)
class OutputRef:
    """A step output inside a pipeline being composed; becomes an artifact version at run time."""

    invocation: str
    key: str


@dataclass(frozen=True)
class Invocation:
    name: str
    step: Step
    arguments: dict[str, Any]


@dataclass
class Composition:
    pipeline: str
    invocations: list[Invocation] = field(default_factory=list)

    def add(self, step: Step, arguments: dict[str, Any]) -> Invocation:
        taken = {inv.name for inv in self.invocations}
        name, n = step.name, 1
        while name in taken:
            n += 1
            name = f"{step.name}_{n}"
        invocation = Invocation(name=name, step=step, arguments=arguments)
        self.invocations.append(invocation)
        return invocation


_composing: ContextVar[Composition | None] = ContextVar("lineageql_composing", default=None)


def _check_argument(step: str, name: str, value: Any) -> None:
    if isinstance(value, OutputRef | ExternalArtifact | ArtifactVersion):
        return
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"input {name!r} of step {step!r} is a {type(value).__name__}, which is neither "
            "another step's output nor a JSON-serialisable parameter; pass large or binary "
            "data as ExternalArtifact(value=...) or produce it in a step"
        ) from exc


@dataclass(frozen=True)
class StepOptions:
    name: str
    enable_cache: bool | None = None
    output_materializers: MaterializerOption = None
    substitutions: Mapping[str, str] = field(default_factory=dict)
    # None and True: outputs get their materializer's visualizations; False: none are saved.
    enable_artifact_visualization: bool | None = None


class Step:
    """A function whose outputs become versioned artifacts when it runs in a pipeline."""

    def __init__(self, func: Callable[..., Any], options: StepOptions) -> None:
        self.func = func
        self.options = options
        self.inputs: dict[str, InputSpec] = parse_inputs(func)
        self.outputs: list[OutputSpec] = parse_outputs(func)
        self._signature = inspect.signature(func)
        functools.update_wrapper(self, func)

    @property
    def name(self) -> str:
        return self.options.name

    def with_options(
        self,
        *,
        name: str | None = None,
        enable_cache: bool | None = None,
        output_materializers: MaterializerOption = None,
        substitutions: Mapping[str, str] | None = None,
        enable_artifact_visualization: bool | None = None,
    ) -> Step:
        """A copy with some options changed (substitutions are merged)."""
        visualize = enable_artifact_visualization
        options = replace(
            self.options,
            name=name or self.options.name,
            enable_cache=self.options.enable_cache if enable_cache is None else enable_cache,
            output_materializers=output_materializers or self.options.output_materializers,
            substitutions={**self.options.substitutions, **(substitutions or {})},
            enable_artifact_visualization=(
                self.options.enable_artifact_visualization if visualize is None else visualize
            ),
        )
        return Step(self.func, options)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        composition = _composing.get()
        if composition is None:  # outside a pipeline: a plain function call
            return self.func(*args, **kwargs)
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise InputError(f"step {self.name!r} called with wrong arguments: {exc}") from None
        bound.apply_defaults()
        for arg_name, value in bound.arguments.items():
            _check_argument(self.name, arg_name, value)
        invocation = composition.add(self, dict(bound.arguments))
        refs = tuple(OutputRef(invocation.name, spec.key) for spec in self.outputs)
        if not refs:
            return None
        return refs[0] if len(refs) == 1 else refs

    def __repr__(self) -> str:
        return f"<step {self.name}>"


@overload
def step(func: Callable[..., Any], /) -> Step: ...
@overload
def step(
    *,
    name: str | None = None,
    enable_cache: bool | None = None,
    output_materializers: MaterializerOption = None,
    enable_artifact_visualization: bool | None = None,
) -> Callable[[Callable[..., Any]], Step]: ...


def step(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    enable_cache: bool | None = None,
    output_materializers: MaterializerOption = None,
    enable_artifact_visualization: bool | None = None,
) -> Step | Callable[[Callable[..., Any]], Step]:
    """Make a function a pipeline step: `@step` or `@step(name=..., enable_cache=...)`.

    `enable_artifact_visualization=False` saves the outputs without visualizations."""

    def wrap(f: Callable[..., Any]) -> Step:
        options = StepOptions(
            name=name or f.__name__,
            enable_cache=enable_cache,
            output_materializers=output_materializers,
            enable_artifact_visualization=enable_artifact_visualization,
        )
        return Step(f, options)

    return wrap(func) if func is not None else wrap


@dataclass(frozen=True)
class PipelineOptions:
    name: str
    enable_cache: bool | None = None
    substitutions: Mapping[str, str] = field(default_factory=dict)
    run_name: str | None = None
    client: Client | None = None  # None: the active client when the pipeline is called


class PipelineDefinition:
    """Calling it composes the steps it calls, runs them in order, and returns the run."""

    def __init__(self, func: Callable[..., Any], options: PipelineOptions) -> None:
        self.func = func
        self.options = options
        functools.update_wrapper(self, func)

    @property
    def name(self) -> str:
        return self.options.name

    def with_options(
        self,
        *,
        name: str | None = None,
        enable_cache: bool | None = None,
        substitutions: Mapping[str, str] | None = None,
        run_name: str | None = None,
        client: Client | None = None,
    ) -> PipelineDefinition:
        """A copy with these options; `client` runs it through that client instead of the
        active one."""
        options = replace(
            self.options,
            name=name or self.options.name,
            enable_cache=self.options.enable_cache if enable_cache is None else enable_cache,
            substitutions={**self.options.substitutions, **(substitutions or {})},
            run_name=run_name,
            client=client or self.options.client,
        )
        return PipelineDefinition(self.func, options)

    def compose(self, *args: Any, **kwargs: Any) -> Composition:
        """Record the step calls of the pipeline function without running any step."""
        if _composing.get() is not None:
            raise InputError(
                f"pipeline {self.name!r} was called while composing another pipeline; "
                "call its steps directly instead"
            )
        composition = Composition(pipeline=self.name)
        token = _composing.set(composition)
        try:
            self.func(*args, **kwargs)
        finally:
            _composing.reset(token)
        if not composition.invocations:
            raise InputError(f"pipeline {self.name!r} calls no step; call at least one @step")
        return composition

    def __call__(self, *args: Any, **kwargs: Any) -> PipelineRun:
        from sdk.pipeline.execution import run_composition

        return run_composition(self.compose(*args, **kwargs), self.options)

    def __repr__(self) -> str:
        return f"<pipeline {self.name}>"


@overload
def pipeline(func: Callable[..., Any], /) -> PipelineDefinition: ...
@overload
def pipeline(
    *, name: str | None = None, enable_cache: bool | None = None
) -> Callable[[Callable[..., Any]], PipelineDefinition]: ...


def pipeline(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    enable_cache: bool | None = None,
) -> PipelineDefinition | Callable[[Callable[..., Any]], PipelineDefinition]:
    """Make a function a pipeline: `@pipeline` or `@pipeline(name=..., enable_cache=...)`."""

    def wrap(f: Callable[..., Any]) -> PipelineDefinition:
        return PipelineDefinition(
            f, PipelineOptions(name=name or f.__name__, enable_cache=enable_cache)
        )

    return wrap(func) if func is not None else wrap
