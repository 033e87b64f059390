"""Reading a step function: its inputs, its outputs (as ZenML does), artifact names, type checks.

Output rules: no return annotation or `-> Any` gives one output `output`; `-> None` none;
`-> Tuple[A, B]` gives `output_0`, `output_1` when every `return` in the function's own body is
a tuple literal (`return a, b`), else one tuple-valued `output`; `Annotated[T, "name"]` or
`Annotated[T, ArtifactConfig(name=...)]` renames an output (and, on the whole return type, keeps
a tuple as one output).
"""

from __future__ import annotations

import ast
import builtins
import collections
import collections.abc as abc
import inspect
import textwrap
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Annotated, Any, Final, Literal, Union, get_args, get_origin

from api import rules
from sdk.artifacts.config import ArtifactConfig, check_text, checked
from sdk.errors import InputError

MAX_CHECKED_ITEMS: Final = 1000
"""check_type looks at no more than this many elements of each container."""

_UNRESOLVED: Final = (str, typing.ForwardRef, typing.TypeVar, typing.ParamSpec)
_NESTED_SCOPES: Final = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_ELEMENT_CONTAINERS: Final = frozenset(
    {
        list,
        set,
        frozenset,
        collections.deque,
        abc.Iterable,
        abc.Collection,
        abc.Sequence,
        abc.MutableSequence,
        abc.Set,
        abc.MutableSet,
        abc.KeysView,
        abc.ValuesView,
    }
)


@dataclass(frozen=True)
class OutputSpec:
    """One output of a step.

    `key` names it within the step ("output", "output_0", or its Annotated name template);
    `name_template` is the artifact name template, None for the default name; `annotation` is
    the type its value is checked against (the Annotated wrapper removed).
    """

    key: str
    name_template: str | None
    config: ArtifactConfig | None
    annotation: Any


@dataclass(frozen=True)
class InputSpec:
    """One parameter of a step; `default` is None when `has_default` is False."""

    name: str
    annotation: Any
    has_default: bool
    default: Any


# --- annotations -------------------------------------------------------------------------------


class _LenientNamespace(dict[str, Any]):
    """Names for evaluating a string annotation: the function's globals, builtins, else Any."""

    def __init__(self, known: Mapping[str, Any]) -> None:
        super().__init__()
        self._known = known

    def __missing__(self, key: str) -> Any:
        if key in self._known:
            return self._known[key]
        return getattr(builtins, key, Any)


def _type_hints(func: Callable[..., Any]) -> dict[str, Any]:
    """Resolved annotations of `func`, never an error.

    A forward reference that cannot be resolved (say a class local to the enclosing function,
    under `from __future__ import annotations`) is read as Any, so checks stay lenient.
    """
    try:
        return typing.get_type_hints(func, include_extras=True)
    except (NameError, TypeError, SyntaxError, AttributeError):
        pass
    target = inspect.unwrap(func)
    namespace = _LenientNamespace(getattr(target, "__globals__", {}))
    raw: dict[str, Any] = dict(getattr(target, "__annotations__", None) or {})
    return {key: _resolve_lenient(value, namespace) for key, value in raw.items()}


def _resolve_lenient(annotation: Any, namespace: _LenientNamespace) -> Any:
    if annotation is None:
        return type(None)
    if not isinstance(annotation, str):
        return annotation
    try:
        return eval(annotation, {"__builtins__": {}}, namespace)
    except (NameError, AttributeError, TypeError, SyntaxError, ValueError):
        return annotation


def _label(func: Callable[..., Any]) -> str:
    return repr(getattr(func, "__name__", func))


# --- inputs ------------------------------------------------------------------------------------


def parse_inputs(func: Callable[..., Any]) -> dict[str, InputSpec]:
    """The parameters of a step function by name, in order. `*args`/`**kwargs` are refused."""
    hints = _type_hints(func)
    specs: dict[str, InputSpec] = {}
    for param in inspect.signature(func).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            star = "*" if param.kind is param.VAR_POSITIONAL else "**"
            raise InputError(
                f"{_label(func)} takes {star}{param.name}, but step and pipeline inputs must be "
                "named parameters so each can be recorded and linked in the lineage. Replace "
                f"{star}{param.name} with one named parameter per input."
            )
        has_default = param.default is not param.empty
        specs[param.name] = InputSpec(
            name=param.name,
            annotation=hints.get(param.name, Any),
            has_default=has_default,
            default=param.default if has_default else None,
        )
    return specs


# --- outputs -----------------------------------------------------------------------------------


def parse_outputs(func: Callable[..., Any]) -> list[OutputSpec]:
    """The outputs of a step function, by the rules in this module's docstring."""
    hints = _type_hints(func)
    if "return" not in hints:
        return [OutputSpec(key="output", name_template=None, config=None, annotation=Any)]
    annotation = hints["return"]
    if annotation is None or annotation is type(None):
        return []
    if _is_multi_output(func, annotation):
        elements = get_args(annotation)
        specs = [_output_spec(func, f"output_{i}", item) for i, item in enumerate(elements)]
    else:
        specs = [_output_spec(func, "output", annotation)]
    _check_unique_keys(func, specs)
    return specs


def _output_spec(func: Callable[..., Any], default_key: str, annotation: Any) -> OutputSpec:
    if get_origin(annotation) is not Annotated:
        return OutputSpec(key=default_key, name_template=None, config=None, annotation=annotation)
    inner = get_args(annotation)[0]
    labels = [item for item in annotation.__metadata__ if isinstance(item, str | ArtifactConfig)]
    if len(labels) > 1:
        raise InputError(
            f"An output of {_label(func)} is annotated with several names or ArtifactConfigs "
            f"({labels!r}); give each output one: Annotated[T, 'name'] or "
            "Annotated[T, ArtifactConfig(name=...)]."
        )
    label = labels[0] if labels else None
    config = label if isinstance(label, ArtifactConfig) else None
    name = label.name if isinstance(label, ArtifactConfig) else label
    if name is not None:
        check_text(name, f"Output name of {_label(func)}")
        template_placeholders(name)
    return OutputSpec(key=name or default_key, name_template=name, config=config, annotation=inner)


def _check_unique_keys(func: Callable[..., Any], specs: list[OutputSpec]) -> None:
    seen: set[str] = set()
    for spec in specs:
        if spec.key in seen:
            raise InputError(
                f"{_label(func)} has two outputs named {spec.key!r}; output names within a "
                "step must be unique. Rename one in its Annotated[...] annotation."
            )
        seen.add(spec.key)


def _is_multi_output(func: Callable[..., Any], annotation: Any) -> bool:
    """True for `-> Tuple[A, B, ...]` (fixed length, two or more) returned as tuple literals."""
    if get_origin(annotation) is not tuple:
        return False
    elements = get_args(annotation)
    if len(elements) < 2 or elements[-1] is Ellipsis:
        return False
    return _returns_tuple_literals(func)


def _returns_tuple_literals(func: Callable[..., Any]) -> bool:
    """True when every `return` of func's own body returns a tuple literal without `*`.

    Returns in nested functions, lambdas and classes are not func's. Without source (code
    built by exec), or with no return at all, the answer is True.
    """
    node = _function_node(func)
    if node is None:
        return True
    return all(_is_tuple_literal(ret.value) for ret in _own_returns(node))


def _function_node(func: Callable[..., Any]) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    try:
        source = textwrap.dedent(inspect.getsource(func))
        if source[:1].isspace():  # a string line indented less than the def stopped dedent
            source = "if True:\n" + source
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return node
    return None


def _own_returns(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.Return]:
    found: list[ast.Return] = []
    pending: list[ast.AST] = list(node.body)
    while pending:
        current = pending.pop()
        if isinstance(current, ast.Return):
            found.append(current)
        elif not isinstance(current, _NESTED_SCOPES):
            pending.extend(ast.iter_child_nodes(current))
    return found


def _is_tuple_literal(value: ast.expr | None) -> bool:
    return isinstance(value, ast.Tuple) and not any(
        isinstance(item, ast.Starred) for item in value.elts
    )


# --- names -------------------------------------------------------------------------------------


def default_artifact_name(pipeline: str, step: str, key: str) -> str:
    """The name of an output that has none of its own: `{pipeline}::{step}::{key}`."""
    return f"{pipeline}::{step}::{key}"


def template_placeholders(template: str) -> list[str]:
    """The placeholder names in an artifact name template, in order of appearance.

    Raises InputError unless every placeholder is a plain `{name}`: no attribute access,
    indexing, positional `{}`, conversion (`!r`) or format spec (`:>5`).
    """
    return [field for _, field in _parse_template(template) if field is not None]


def _parse_template(template: str) -> list[tuple[str, str | None]]:
    """(literal text, placeholder or None) pairs of a template, validated by `api.rules`."""
    return checked(rules.name_template_fields, template)


def resolve_name(template: str, substitutions: Mapping[str, str], now: datetime) -> str:
    """Fill a name template's placeholders and check the resulting artifact name.

    `{date}` becomes `now` as 2026_11_22, `{time}` as 14_30_45_123456; other placeholders come
    from `substitutions`, which may also override date and time.
    """
    values = {"date": now.strftime("%Y_%m_%d"), "time": now.strftime("%H_%M_%S_%f")}
    values.update(substitutions)
    parts: list[str] = []
    for literal, field in _parse_template(template):
        parts.append(literal)
        if field is None:
            continue
        if field not in values:
            raise InputError(
                f"Artifact name {template!r} uses the placeholder {{{field}}}, which has no "
                f"value (known: {', '.join(sorted(values))}). Give it one with "
                f"step.with_options(substitutions={{{field!r}: ...}}) or the same on the "
                "pipeline."
            )
        value = values[field]
        if not isinstance(value, str):
            raise InputError(
                f"Substitution {field!r} must be a string, got {type(value).__name__} {value!r}."
            )
        parts.append(value)
    name = "".join(parts)
    what = "Artifact name" if name == template else f"Artifact name (from {template!r})"
    return check_text(name, what)


# --- runtime type checks -----------------------------------------------------------------------


def check_type(value: Any, annotation: Any) -> bool:
    """Whether `value` matches `annotation`, leniently: what cannot be checked passes.

    Plain classes use isinstance, except that `float` also takes int and `complex` takes
    int and float (PEP 484). Containers are checked element by element up to
    MAX_CHECKED_ITEMS each; iterators and generators are never consumed. Unions, Optional,
    Literal, Annotated, type[X], Callable, NewType and TypedDict (as dict) are understood;
    TypeVars, unresolved forward references and unknown special forms pass.
    """
    if annotation is Any or annotation is inspect.Parameter.empty:
        return True
    if isinstance(annotation, _UNRESOLVED):
        return True
    if annotation is None or annotation is type(None):
        return value is None
    if isinstance(annotation, typing.NewType):
        return check_type(value, annotation.__supertype__)
    if typing.is_typeddict(annotation):
        return isinstance(value, dict)
    origin = get_origin(annotation)
    if origin is not None:
        return _check_generic(value, origin, get_args(annotation))
    if not isinstance(annotation, type):
        return True
    if annotation is float:
        return isinstance(value, int | float)
    if annotation is complex:
        return isinstance(value, int | float | complex)
    return _isinstance(value, annotation)


def _check_generic(value: Any, origin: Any, args: tuple[Any, ...]) -> bool:
    if origin is Annotated:
        return check_type(value, args[0])
    if origin is Union or origin is types.UnionType:
        return any(check_type(value, option) for option in args)
    if origin is Literal:
        return any(type(value) is type(option) and value == option for option in args)
    if origin is type:
        return isinstance(value, type) and _is_subclass(value, args[0] if args else Any)
    if origin is abc.Callable:
        return callable(value)
    if not isinstance(origin, type):
        return True  # ClassVar, Final, Required, Unpack, …
    if not _isinstance(value, origin):
        return False
    if not args:
        return True
    if origin is tuple:
        return _check_tuple(value, args)
    if issubclass(origin, abc.Mapping) and len(args) == 2:
        items = islice(value.items(), MAX_CHECKED_ITEMS)
        return all(check_type(k, args[0]) and check_type(v, args[1]) for k, v in items)
    if origin in _ELEMENT_CONTAINERS and len(args) == 1 and _safe_to_iterate(value):
        return all(check_type(item, args[0]) for item in islice(value, MAX_CHECKED_ITEMS))
    return True


def _check_tuple(value: tuple[Any, ...], args: tuple[Any, ...]) -> bool:
    if len(args) == 2 and args[1] is Ellipsis:
        return all(check_type(item, args[0]) for item in islice(value, MAX_CHECKED_ITEMS))
    if len(value) != len(args):
        return False
    return all(check_type(item, arg) for item, arg in zip(value, args, strict=True))


def _safe_to_iterate(value: Any) -> bool:
    """A collection can be iterated without using it up; an iterator or generator cannot."""
    return isinstance(value, abc.Collection) and not isinstance(value, abc.Iterator)


def _is_subclass(cls: type, target: Any) -> bool:
    if target is Any or isinstance(target, _UNRESOLVED):
        return True
    if get_origin(target) in (Union, types.UnionType):
        return any(_is_subclass(cls, option) for option in get_args(target))
    try:
        return issubclass(cls, get_origin(target) or target)
    except TypeError:
        return True


def _isinstance(value: Any, cls: type) -> bool:
    """isinstance, but True when the class refuses the check (a Protocol not runtime-checkable)."""
    try:
        return isinstance(value, cls)
    except TypeError:
        return True


def describe_type(annotation: Any) -> str:
    """A short readable name for an annotation, for error messages: `list[int]`, `Optional[str]`."""
    if annotation is Any or annotation is inspect.Parameter.empty:
        return "Any"
    if annotation is None or annotation is type(None):
        return "None"
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, typing.ForwardRef):
        return annotation.__forward_arg__
    if isinstance(annotation, type) and get_origin(annotation) is None:
        if annotation.__module__ == "builtins":
            return annotation.__qualname__
        return f"{annotation.__module__}.{annotation.__qualname__}"
    return repr(annotation).replace("typing.", "")
