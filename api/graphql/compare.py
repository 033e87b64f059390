"""`compareArtifactVersions(a, b)`: what differs between two artifact versions, as types built
from `api.storage.compare` (the comparison itself is computed there)."""

from __future__ import annotations

from enum import Enum
from typing import cast

import strawberry
from strawberry.scalars import JSON

from api.graphql.context import Info
from api.graphql.inputs import BigInt
from api.graphql.types import ArtifactVersion, StepRun
from api.storage import compare as store
from api.storage import models


@strawberry.enum(description="How a key, column or input differs from `a` to `b`.")
class ChangeKind(Enum):
    ADDED = "ADDED"
    REMOVED = "REMOVED"
    CHANGED = "CHANGED"


@strawberry.type(description="A key of a JSON object whose value differs from `a` to `b`.")
class KeyChange:
    key: str
    change: ChangeKind
    before: JSON | None = strawberry.field(description="Its value in `a` (null when added).")
    after: JSON | None = strawberry.field(description="Its value in `b` (null when removed).")

    @classmethod
    def of(cls, change: store.KeyChange) -> KeyChange:
        return cls(
            key=change.key,
            change=ChangeKind(change.change.value),
            before=cast(JSON, change.before),
            after=cast(JSON, change.after),
        )


@strawberry.type(description="A text that differs from `a` to `b`.")
class TextChange:
    before: str
    after: str


@strawberry.type(description="Whether the data itself is the same.")
class ContentComparison:
    equal: bool | None = strawberry.field(
        description="True when both content hashes are recorded and equal; false when they "
        "(or the sizes) differ; null when a hash is missing and the sizes do not tell."
    )
    hash_a: str | None
    hash_b: str | None
    size_bytes_a: BigInt | None
    size_bytes_b: BigInt | None
    size_bytes_delta: BigInt | None = strawberry.field(description="`b`'s size minus `a`'s.")


@strawberry.type(description="A column of a DataFrame, with its dtype.")
class DataFrameColumn:
    name: str
    dtype: str


@strawberry.type(description="A column both DataFrames have, with another dtype.")
class ColumnDtypeChange:
    name: str
    before: str
    after: str


@strawberry.type(
    description="How the schema and row count of two DataFrames (or Series) differ, from the "
    "metadata extracted when they were saved (`rows`, `dtypes`)."
)
class DataFrameComparison:
    rows_before: BigInt | None
    rows_after: BigInt | None
    row_delta: BigInt | None
    column_count_before: int
    column_count_after: int
    columns_added: list[DataFrameColumn]
    columns_removed: list[DataFrameColumn]
    dtype_changes: list[ColumnDtypeChange]
    schema_equal: bool = strawberry.field(description="Same columns with the same dtypes.")

    @classmethod
    def of(cls, diff: store.FrameDifference) -> DataFrameComparison:
        return cls(
            rows_before=_big(diff.rows_before),
            rows_after=_big(diff.rows_after),
            row_delta=_big(diff.row_delta),
            column_count_before=diff.columns_before,
            column_count_after=diff.columns_after,
            columns_added=[DataFrameColumn(name=c.name, dtype=c.dtype) for c in diff.added],
            columns_removed=[DataFrameColumn(name=c.name, dtype=c.dtype) for c in diff.removed],
            dtype_changes=[
                ColumnDtypeChange(name=c.name, before=c.before, after=c.after) for c in diff.retyped
            ],
            schema_equal=diff.schema_equal,
        )


@strawberry.type(description="One summary statistic of two arrays (`min`, `max`, `mean`, `std`).")
class StatisticChange:
    name: str
    before: float | None = strawberry.field(description="In `a` (null when it has none).")
    after: float | None = strawberry.field(description="In `b` (null when it has none).")
    change: float | None = strawberry.field(description="`after - before`, when both are known.")


@strawberry.type(
    description="How the shape, dtype and summary statistics of two arrays differ, from the "
    "metadata extracted when they were saved (`shape`, `dtype`, `min`, `max`, `mean`, `std`)."
)
class ArrayComparison:
    shape_before: list[BigInt] | None
    shape_after: list[BigInt] | None
    dtype_before: str | None
    dtype_after: str | None
    size_before: BigInt | None = strawberry.field(description="Elements in `a`.")
    size_after: BigInt | None = strawberry.field(description="Elements in `b`.")
    shape_changed: bool
    dtype_changed: bool
    statistics: list[StatisticChange] = strawberry.field(
        description="The statistics either side recorded, in the order min, max, mean, std "
        "(mean and std of a sample of at most 100,000 values in a larger array)."
    )

    @classmethod
    def of(cls, diff: store.ArrayDifference) -> ArrayComparison:
        return cls(
            shape_before=_shape(diff.shape_before),
            shape_after=_shape(diff.shape_after),
            dtype_before=diff.dtype_before,
            dtype_after=diff.dtype_after,
            size_before=_big(diff.size_before),
            size_after=_big(diff.size_after),
            shape_changed=diff.shape_changed,
            dtype_changed=diff.dtype_changed,
            statistics=[
                StatisticChange(name=c.name, before=c.before, after=c.after, change=c.delta)
                for c in diff.statistics
            ],
        )


@strawberry.type(description="An input the two producers took from different versions.")
class InputChange:
    name: str = strawberry.field(description="The input's name on the step.")
    change: ChangeKind
    before_id: strawberry.Private[str | None]
    after_id: strawberry.Private[str | None]

    async def _version(self, info: Info, version_id: str | None) -> ArtifactVersion | None:
        row = None if version_id is None else await info.context.loaders.version.load(version_id)
        return None if row is None else ArtifactVersion.from_model(row)

    @strawberry.field(description="The version `a`'s producer took (null when added).")
    async def before(self, info: Info) -> ArtifactVersion | None:
        return await self._version(info, self.before_id)

    @strawberry.field(description="The version `b`'s producer took (null when removed).")
    async def after(self, info: Info) -> ArtifactVersion | None:
        return await self._version(info, self.after_id)


@strawberry.type(description="How the step runs that produced `a` and `b` differ.")
class LineageComparison:
    inputs: list[InputChange] = strawberry.field(
        description="The inputs, by name, taken from different versions or by one producer only."
    )
    unchanged_inputs: list[str] = strawberry.field(
        description="The names of the inputs both producers took from the same version."
    )
    producer_a_id: strawberry.Private[str | None]
    producer_b_id: strawberry.Private[str | None]

    async def _producers(self, info: Info) -> tuple[models.StepRun | None, models.StepRun | None]:
        load = info.context.loaders.step_run.load
        a = None if self.producer_a_id is None else await load(self.producer_a_id)
        b = None if self.producer_b_id is None else await load(self.producer_b_id)
        return a, b

    @strawberry.field(description="One step run produced both.")
    def same_producer(self) -> bool:
        return self.producer_a_id is not None and self.producer_a_id == self.producer_b_id

    @strawberry.field(description="Both producers are runs of the same step name.")
    async def same_step(self, info: Info) -> bool:
        a, b = await self._producers(info)
        return a is not None and b is not None and a.name == b.name

    @strawberry.field(
        description="The steps' code hashes differ (null when a producer or a hash is missing)."
    )
    async def code_changed(self, info: Info) -> bool | None:
        a, b = await self._producers(info)
        if a is None or b is None or a.code_hash is None or b.code_hash is None:
            return None
        return a.code_hash != b.code_hash

    @strawberry.field(description="The producers' parameters that differ, by key.")
    async def parameters(self, info: Info) -> list[KeyChange]:
        a, b = await self._producers(info)
        before = {} if a is None else a.parameters or {}
        after = {} if b is None else b.parameters or {}
        return [KeyChange.of(c) for c in store.key_changes(before, after)]


@strawberry.type(
    description="What differs from version `a` to version `b`: content, type, metadata, the "
    "DataFrame schema or array shape, and the producers' inputs. `before` is `a`'s value, "
    "`after` is `b`'s."
)
class ArtifactVersionComparison:
    a: ArtifactVersion
    b: ArtifactVersion
    same_artifact: bool = strawberry.field(description="Both are versions of one artifact.")
    content: ContentComparison
    data_type: TextChange | None = strawberry.field(description="Null when the same.")
    materializer: TextChange | None = strawberry.field(description="Null when the same.")
    metadata: list[KeyChange] = strawberry.field(
        description="Metadata keys added, removed or changed, by key."
    )
    data_frame: DataFrameComparison | None = strawberry.field(
        description="When either version has DataFrame metadata (columns and dtypes)."
    )
    array: ArrayComparison | None = strawberry.field(
        description="When either version has array metadata (shape and dtype)."
    )
    lineage: LineageComparison

    @classmethod
    def of(cls, found: store.Comparison) -> ArtifactVersionComparison:
        a, b = found.a, found.b
        frame = store.frame_difference(a.metadata_, b.metadata_)
        array = store.array_difference(a.metadata_, b.metadata_)
        delta = (
            None if a.size_bytes is None or b.size_bytes is None else b.size_bytes - a.size_bytes
        )
        return cls(
            a=ArtifactVersion.from_model(a),
            b=ArtifactVersion.from_model(b),
            same_artifact=a.artifact_id == b.artifact_id,
            content=ContentComparison(
                equal=store.content_equal(a, b),
                hash_a=a.content_hash,
                hash_b=b.content_hash,
                size_bytes_a=_big(a.size_bytes),
                size_bytes_b=_big(b.size_bytes),
                size_bytes_delta=_big(delta),
            ),
            data_type=_text(a.data_type, b.data_type),
            materializer=_text(a.materializer, b.materializer),
            metadata=[KeyChange.of(c) for c in store.key_changes(a.metadata_, b.metadata_)],
            data_frame=None if frame is None else DataFrameComparison.of(frame),
            array=None if array is None else ArrayComparison.of(array),
            lineage=LineageComparison(
                inputs=[
                    InputChange(
                        name=i.name,
                        change=ChangeKind(i.change.value),
                        before_id=i.before_id,
                        after_id=i.after_id,
                    )
                    for i in found.inputs
                ],
                unchanged_inputs=list(found.unchanged_inputs),
                producer_a_id=a.producer_step_run_id,
                producer_b_id=b.producer_step_run_id,
            ),
        )

    @strawberry.field(description="The step run that produced `a` (null when saved).")
    async def producer_a(self, info: Info) -> StepRun | None:
        return await _step(info, self.lineage.producer_a_id)

    @strawberry.field(description="The step run that produced `b` (null when saved).")
    async def producer_b(self, info: Info) -> StepRun | None:
        return await _step(info, self.lineage.producer_b_id)


async def _step(info: Info, step_id: str | None) -> StepRun | None:
    row = None if step_id is None else await info.context.loaders.step_run.load(step_id)
    return None if row is None else StepRun.from_model(row)


def _big(value: int | None) -> BigInt | None:
    return None if value is None else BigInt(value)


def _shape(shape: tuple[int, ...] | None) -> list[BigInt] | None:
    return None if shape is None else [BigInt(n) for n in shape]


def _text(before: str, after: str) -> TextChange | None:
    return None if before == after else TextChange(before=before, after=after)


async def resolve_comparison(info: Info, a: str, b: str) -> ArtifactVersionComparison:
    async with info.context.db.read() as session:
        found = await store.compare_versions(session, a, b)
    for row in (found.a, found.b):
        info.context.loaders.version.prime(row.id, row)
    return ArtifactVersionComparison.of(found)
