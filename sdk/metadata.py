"""Run metadata: values you log on artifact versions, step runs and pipeline runs with
`log_metadata`, kept apart from the metadata materializers extract.

Values are JSON (numbers, strings, bools, None, lists, tuples, sets, dicts) or the typed values
`Uri`, `Path`, `DType` and `StorageSize`, which are stored with their type and come back as the
same types. Logging a key again replaces its value: the latest wins.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from sdk.errors import InputError
from sdk.types import JsonObject

if TYPE_CHECKING:
    from sdk.client.client import Client


class Uri(str):
    """A URI, stored with its type (as ZenML's `zenml.metadata.metadata_types.Uri`)."""


class Path(str):
    """A file system path, stored with its type."""


class DType(str):
    """A data type (`DType("float32")`, `DType(str(array.dtype))`), stored with its type."""


class StorageSize(int):
    """A size in bytes, stored with its type."""


_TYPED: dict[type, str] = {Uri: "URI", Path: "PATH", DType: "DTYPE", StorageSize: "STORAGE_SIZE"}
_BACK: dict[str, Any] = {
    "URI": Uri,
    "PATH": Path,
    "DTYPE": DType,
    "STORAGE_SIZE": StorageSize,
    "TUPLE": tuple,
    "SET": set,
}


def _plain(key: str, value: Any) -> Any:
    """`value` as JSON data (NumPy scalars as Python numbers), or InputError naming `key`."""
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        value = value.item()  # a NumPy scalar
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"metadata {key!r}: {value} is not a JSON number (no NaN or infinity)")
    if isinstance(value, tuple | set | frozenset):
        value = list(value)
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise InputError(
            f"metadata {key!r}: a {type(value).__name__} is not JSON; log numbers, strings, "
            "bools, None, lists, dicts, or Uri, Path, DType, StorageSize"
        ) from None
    return value


def entry(key: object, value: Any) -> JsonObject:
    """One value as GraphQL's `MetadataEntryInput` (its type given for typed values)."""
    if not isinstance(key, str):
        raise InputError(f"metadata keys are strings, got {key!r}")
    kind: str | None = None
    for typed, name in _TYPED.items():
        if isinstance(value, typed):
            kind = name
            value = int(cast(int, value)) if typed is StorageSize else str(value)
            break
    else:
        if isinstance(value, tuple):
            kind = "TUPLE"
        elif isinstance(value, set | frozenset):
            kind = "SET"
    return {"key": key, "value": _plain(key, value), "type": kind}


def entries(metadata: Mapping[str, Any]) -> list[JsonObject]:
    if not isinstance(metadata, Mapping):
        raise InputError(
            f"metadata is a dict of keys and values, got {type(metadata).__name__}: "
            "log_metadata({'accuracy': 0.9})"
        )
    return [entry(key, value) for key, value in metadata.items()]


def decoded(rows: list[JsonObject]) -> dict[str, Any]:
    """`runMetadata` entries as a dict, typed values rebuilt (`Uri`, `StorageSize`, tuples)."""
    values: dict[str, Any] = {}
    for row in rows:
        make = _BACK.get(row["type"])
        values[row["key"]] = row["value"] if make is None else make(row["value"])
    return values


# ZenML's filter syntax: "gt:0.9", "oneof:[...]"; a bare value means equals.
_OPS = {
    "equals": "EQ",
    "notequals": "NE",
    "gt": "GT",
    "gte": "GTE",
    "lt": "LT",
    "lte": "LTE",
    "contains": "CONTAINS",
    "startswith": "STARTSWITH",
    "endswith": "ENDSWITH",
    "oneof": "IN",
    "exists": "EXISTS",
}
_TEXT_OPS = {"CONTAINS", "STARTSWITH", "ENDSWITH"}


def _operand(text: str) -> Any:
    """The operand of `op:text`: JSON when it parses as JSON (`0.9`, `true`, `"1"`, `[..]`),
    else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def condition(key: str, spec: Any) -> JsonObject:
    """A `MetadataCondition` from ZenML's syntax: `"gt:0.9"`, `"contains:bert"`,
    `"oneof:[1, 2]"`, `"exists:true"`; a bare value (`0.9`, `"prod"`) means equals it."""
    if not isinstance(spec, str) or ":" not in spec:
        return {"key": key, "op": "EQ", "value": _plain(key, spec)}
    prefix, _, text = spec.partition(":")
    op = _OPS.get(prefix.strip().lower())
    if op is None:
        return {"key": key, "op": "EQ", "value": spec}  # a string that holds a colon
    value: Any = text if op in _TEXT_OPS else _operand(text)
    if op == "IN" and not isinstance(value, list):
        raise InputError(
            f'metadata filter {key!r}: oneof takes a JSON list, e.g. \'oneof:["a", "b"]\''
        )
    if op == "EXISTS":
        value = True if text.strip() == "" else value
    return {"key": key, "op": op, "value": value}


def conditions(
    metadata: Mapping[str, Any] | Sequence[tuple[str, Any]] | str | Sequence[str] | None,
) -> list[JsonObject] | None:
    """`MetadataCondition`s of a dict `{key: filter}`, of (key, filter) pairs (a key may then
    have several conditions), or of ZenML 0.98's strings `"key:op:value"`."""
    if metadata is None:
        return None
    if isinstance(metadata, Mapping):
        return [condition(key, spec) for key, spec in metadata.items()]
    if isinstance(metadata, str):
        metadata = [metadata]
    if all(isinstance(entry, str) for entry in metadata):
        return [_zenml_entry(cast(str, entry)) for entry in metadata]
    pairs = [pair for pair in metadata if isinstance(pair, tuple) and len(pair) == 2]
    if len(pairs) != len(metadata):
        raise InputError("metadata filters are a dict: {'accuracy': 'gt:0.9'}")
    return [condition(key, spec) for key, spec in pairs]


def _zenml_entry(entry: str) -> JsonObject:
    """ZenML 0.98's own spelling, `run_metadata="accuracy:gt:0.9"` (or a list of them):
    KEY:VALUE (equals; the value read as JSON when it parses, as all of it is text) or
    KEY:OP:VALUE."""
    key, colon, spec = entry.partition(":")
    if not colon or not key:
        raise InputError(
            f"metadata filter {entry!r}: write 'KEY:VALUE' or 'KEY:OP:VALUE', "
            "e.g. 'accuracy:gt:0.9'"
        )
    found = condition(key, spec)
    if ":" not in spec:
        found["value"] = _operand(spec)
    return found


def order(sort_by: str | None) -> JsonObject | None:
    """A `MetadataOrder` from `sort_by`: `"metadata:accuracy"` ascending,
    `"desc:metadata:accuracy"` descending (ZenML's `desc:` prefix); None: the usual order."""
    if sort_by is None:
        return None
    text = sort_by.strip()
    desc = False
    for prefix, descending in (("desc:", True), ("asc:", False)):
        if text.startswith(prefix):
            text, desc = text[len(prefix) :], descending
    if not text.startswith("metadata:") or not text[len("metadata:") :]:
        raise InputError(
            f"sort_by={sort_by!r}: sort by a metadata key with 'metadata:KEY' or "
            "'desc:metadata:KEY'"
        )
    return {"metadata": text[len("metadata:") :], "desc": desc}


@dataclass
class StepContext:
    """The step running in this thread: its step run, its outputs (output key -> artifact
    name) and the metadata logged for them, attached when they are registered."""

    client: Client
    step_run_id: str
    step_name: str
    outputs: dict[str, str]
    output_metadata: dict[str, dict[str, Any]] = field(default_factory=dict)

    def output_key(self, name: str | None) -> str:
        """The output that `name` (an output key or its artifact name) names; with None, the
        step's only output."""
        if name is None:
            if len(self.outputs) != 1:
                raise InputError(
                    f"log_metadata(infer_artifact=True) in step {self.step_name!r}, which has "
                    f"{len(self.outputs)} outputs ({', '.join(self.outputs) or 'none'}): name "
                    "one with artifact_name=..."
                )
            return next(iter(self.outputs))
        if name in self.outputs:
            return name
        keys = [key for key, artifact in self.outputs.items() if artifact == name]
        if len(keys) == 1:
            return keys[0]
        raise InputError(
            f"step {self.step_name!r} has no output {name!r}; its outputs: "
            + (", ".join(f"{k!r} ({a})" for k, a in self.outputs.items()) or "none")
        )

    def add_output_metadata(self, key: str, metadata: Mapping[str, Any]) -> None:
        entries(metadata)  # refuse what is not JSON now, in the step
        self.output_metadata.setdefault(key, {}).update(metadata)


_STEP: ContextVar[StepContext | None] = ContextVar("lineageql_step", default=None)


@contextmanager
def running_step(context: StepContext) -> Iterator[StepContext]:
    """Mark `context` as the step running in this thread while its function runs."""
    token = _STEP.set(context)
    try:
        yield context
    finally:
        _STEP.reset(token)


def current_step() -> StepContext | None:
    return _STEP.get()


def log_metadata(
    metadata: Mapping[str, Any],
    *,
    step_name: str | None = None,
    run_id_name_or_prefix: str | UUID | None = None,
    artifact_name: str | None = None,
    artifact_version: str | int | None = None,
    artifact_version_id: str | UUID | None = None,
    infer_artifact: bool = False,
    step_id: str | UUID | None = None,
    client: Client | None = None,
) -> None:
    """Log metadata (latest value per key wins), as ZenML's `log_metadata`.

    Inside a step, with no target: on the step's run. With `infer_artifact=True` or
    `artifact_name=` (an output key or output artifact name of the step): on that output's
    version, attached when it is registered after the step returns.
    Anywhere: `artifact_version_id=`, `artifact_name=` (+ `artifact_version=`; unset, the
    latest version) outside a step, `step_id=`, `step_name=` with `run_id_name_or_prefix=` (a
    step of that run), or `run_id_name_or_prefix=` alone (the pipeline run).

    Args:
        metadata: keys and values: JSON values, or `Uri`, `Path`, `DType`, `StorageSize`.

    Raises:
        InputError: no target can be found (outside a step with no target), or a value that
            is not JSON.
        NotFoundError: the named version, step run or pipeline run does not exist.
    """
    from sdk.client.client import id_text, resolve

    values = entries(metadata)
    context = current_step()
    if infer_artifact or (
        context is not None
        and artifact_name is not None
        and artifact_version is None
        and artifact_version_id is None
    ):
        if context is None:
            raise InputError(
                "log_metadata(infer_artifact=True) works inside a step; outside one, name the "
                "version: artifact_name=... (with artifact_version=...) or artifact_version_id=..."
            )
        context.add_output_metadata(context.output_key(artifact_name), metadata)
        return
    target: JsonObject
    if artifact_version_id is not None:
        target = {"artifactVersionId": id_text(artifact_version_id, "artifact_version_id")}
    elif artifact_name is not None:
        version = None if artifact_version is None else str(artifact_version)
        target = {"artifactName": artifact_name, "artifactVersion": version}
    elif step_id is not None:
        target = {"stepRunId": id_text(step_id, "step_id")}
    elif run_id_name_or_prefix is not None:
        chosen = resolve(client if client is not None else None)
        run = chosen.get_pipeline_run(run_id_name_or_prefix)
        if step_name is None:
            target = {"pipelineRunId": run.id}
        else:
            target = {"stepRunId": run.get_step(step_name).id}
    elif step_name is not None:
        raise InputError(
            "log_metadata(step_name=...) needs run_id_name_or_prefix=... to say which run"
        )
    elif context is not None:
        target = {"stepRunId": context.step_run_id}
        client = client or context.client
    else:
        raise InputError(
            "log_metadata() outside a step needs a target: artifact_name=... (with "
            "artifact_version=...), artifact_version_id=..., step_id=..., "
            "run_id_name_or_prefix=... (with step_name=... for a step run)"
        )
    resolve(client).log_metadata_on(target, values)
