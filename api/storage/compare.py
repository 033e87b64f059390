"""Comparing two artifact versions: their content, metadata, the schema or shape the
materializers extracted, and the inputs of the step runs that produced them.

`a` is the version compared from, `b` the one compared to: a change goes from `before` (a's
value) to `after` (b's value). Two versions of different artifacts may be compared."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import NotFound
from api.storage.artifacts import find_version
from api.storage.models import ArtifactVersion
from api.storage.runs import edges_of_steps


class Change(StrEnum):
    ADDED = "ADDED"  # only b has it
    REMOVED = "REMOVED"  # only a has it
    CHANGED = "CHANGED"  # both have it, with different values


_MISSING = object()


@dataclass(frozen=True)
class KeyChange:
    """One key of a JSON object (metadata, parameters) whose value differs."""

    key: str
    change: Change
    before: Any  # None when added
    after: Any  # None when removed


def key_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[KeyChange]:
    """The keys added, removed or changed from `before` to `after`, by key."""
    changes = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key, _MISSING), after.get(key, _MISSING)
        if old is _MISSING:
            changes.append(KeyChange(key, Change.ADDED, None, new))
        elif new is _MISSING:
            changes.append(KeyChange(key, Change.REMOVED, old, None))
        elif not _same_json(old, new):
            changes.append(KeyChange(key, Change.CHANGED, old, new))
    return changes


def _same_json(a: Any, b: Any) -> bool:
    """Equal as JSON values: `1` and `True` differ, `1` and `1.0` do not."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_json(x, y) for x, y in zip(a, b, strict=True))
    return bool(type(a) is type(b) or {type(a), type(b)} <= {int, float}) and a == b


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str


@dataclass(frozen=True)
class ColumnChange:
    """A column both versions have, with another dtype."""

    name: str
    before: str
    after: str


@dataclass(frozen=True)
class FrameDifference:
    """How the schema and row count of two DataFrames (or Series) differ, from the metadata
    the pandas materializer extracted (`rows`, `columns`, `dtypes`). A side without that
    metadata counts as having no columns and an unknown row count."""

    rows_before: int | None
    rows_after: int | None
    columns_before: int
    columns_after: int
    added: tuple[Column, ...]
    removed: tuple[Column, ...]
    retyped: tuple[ColumnChange, ...]

    @property
    def schema_equal(self) -> bool:
        return not (self.added or self.removed or self.retyped)

    @property
    def row_delta(self) -> int | None:
        if self.rows_before is None or self.rows_after is None:
            return None
        return self.rows_after - self.rows_before


def _dtypes(metadata: Mapping[str, Any]) -> dict[str, str] | None:
    dtypes = metadata.get("dtypes")
    if not isinstance(dtypes, dict):
        return None
    return {str(name): str(dtype) for name, dtype in dtypes.items()}


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def frame_difference(a: Mapping[str, Any], b: Mapping[str, Any]) -> FrameDifference | None:
    """The schema and row differences, when either version carries DataFrame metadata."""
    before, after = _dtypes(a), _dtypes(b)
    if before is None and after is None:
        return None
    rows_before = None if before is None else _count(a.get("rows"))
    rows_after = None if after is None else _count(b.get("rows"))
    before, after = before or {}, after or {}
    return FrameDifference(
        rows_before=rows_before,
        rows_after=rows_after,
        columns_before=len(before),
        columns_after=len(after),
        added=tuple(Column(n, after[n]) for n in sorted(after.keys() - before.keys())),
        removed=tuple(Column(n, before[n]) for n in sorted(before.keys() - after.keys())),
        retyped=tuple(
            ColumnChange(n, before[n], after[n])
            for n in sorted(before.keys() & after.keys())
            if before[n] != after[n]
        ),
    )


# The summary statistics the NumPy materializer records (sdk/materializers/numpy.py).
ARRAY_STATISTICS = ("min", "max", "mean", "std")


@dataclass(frozen=True)
class StatisticChange:
    """One summary statistic of two arrays (None on a side that has none)."""

    name: str
    before: float | None
    after: float | None

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


@dataclass(frozen=True)
class ArrayDifference:
    """How the shape, dtype and summary statistics of two arrays differ, from the metadata the
    NumPy materializer extracted (`shape`, `dtype`, `min`, `max`, `mean`, `std`); None on a
    side that has none."""

    shape_before: tuple[int, ...] | None
    shape_after: tuple[int, ...] | None
    dtype_before: str | None
    dtype_after: str | None
    statistics: tuple[StatisticChange, ...] = ()

    @property
    def shape_changed(self) -> bool:
        return self.shape_before != self.shape_after

    @property
    def dtype_changed(self) -> bool:
        return self.dtype_before != self.dtype_after

    @property
    def size_before(self) -> int | None:
        return _elements(self.shape_before)

    @property
    def size_after(self) -> int | None:
        return _elements(self.shape_after)


def _elements(shape: tuple[int, ...] | None) -> int | None:
    if shape is None:
        return None
    size = 1
    for n in shape:
        size *= n
    return size


def _shape(metadata: Mapping[str, Any]) -> tuple[int, ...] | None:
    shape = metadata.get("shape")
    if not isinstance(shape, list) or not all(_count(n) is not None for n in shape):
        return None
    return tuple(shape)


def _dtype(metadata: Mapping[str, Any]) -> str | None:
    dtype = metadata.get("dtype")
    return dtype if isinstance(dtype, str) else None


def _statistic(metadata: Mapping[str, Any], name: str) -> float | None:
    value = metadata.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def array_difference(a: Mapping[str, Any], b: Mapping[str, Any]) -> ArrayDifference | None:
    """The shape, dtype and statistics of both, when either version carries array metadata."""
    shape_a, shape_b = _shape(a), _shape(b)
    if shape_a is None and shape_b is None:
        return None
    statistics = tuple(
        StatisticChange(name, _statistic(a, name), _statistic(b, name))
        for name in ARRAY_STATISTICS
        if _statistic(a, name) is not None or _statistic(b, name) is not None
    )
    return ArrayDifference(shape_a, shape_b, _dtype(a), _dtype(b), statistics)


def content_equal(a: ArtifactVersion, b: ArtifactVersion) -> bool | None:
    """True when both content hashes are recorded and equal; False when they differ or the
    sizes do; None when neither says (a hash missing, sizes equal or unknown)."""
    if a.content_hash is not None and b.content_hash is not None:
        return a.content_hash == b.content_hash and a.size_bytes == b.size_bytes
    if a.size_bytes is not None and b.size_bytes is not None and a.size_bytes != b.size_bytes:
        return False
    return None


@dataclass(frozen=True)
class InputDifference:
    """An input, by name, that the two producers took from different versions (or that only
    one of them had)."""

    name: str
    change: Change
    before_id: str | None  # the version a's producer took
    after_id: str | None  # the version b's producer took


@dataclass(frozen=True)
class Comparison:
    """Both versions and the difference of their producers' inputs (the rest is computed
    from the versions by the functions above)."""

    a: ArtifactVersion
    b: ArtifactVersion
    inputs: tuple[InputDifference, ...]
    unchanged_inputs: tuple[str, ...]  # input names both producers took from one version


def input_differences(
    before: Mapping[str, str], after: Mapping[str, str]
) -> tuple[tuple[InputDifference, ...], tuple[str, ...]]:
    """(differing inputs, names of the same ones) of two producers' `name → version id`."""
    differing, same = [], []
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old == new:
            same.append(name)
        else:
            change = Change.ADDED if old is None else Change.REMOVED if new is None else None
            differing.append(InputDifference(name, change or Change.CHANGED, old, new))
    return tuple(differing), tuple(same)


async def compare_versions(session: AsyncSession, a_id: str, b_id: str) -> Comparison:
    """Both versions by id and their producers' inputs: three statements.

    Raises NotFound naming the id (and which side) when either version does not exist."""
    versions = []
    for side, version_id in (("a", a_id), ("b", b_id)):
        found = await find_version(session, id=version_id, name=None, version=None)
        if found is None:
            raise NotFound(f"no artifact version has id {version_id!r} ({side})", id=version_id)
        versions.append(found)
    a, b = versions
    producers = [p for p in (a.producer_step_run_id, b.producer_step_run_id) if p is not None]
    edges = await edges_of_steps(session, producers, outputs=False) if producers else {}

    def inputs_of(version: ArtifactVersion) -> dict[str, str]:
        producer = version.producer_step_run_id
        return {} if producer is None else dict(edges.get(producer, []))

    differing, same = input_differences(inputs_of(a), inputs_of(b))
    return Comparison(a=a, b=b, inputs=differing, unchanged_inputs=same)
