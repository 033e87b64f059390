"""What the client's recording verbs take and answer: typed values, turned into GraphQL
variables and read back from answers here and nowhere else."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sdk.client.views import ArtifactVersion, parse_time
from sdk.metadata import entries
from sdk.types import JsonObject

if TYPE_CHECKING:
    from sdk.artifacts.store import ArtifactStore
    from sdk.client.client import Client
    from sdk.materializers import SavedData


@dataclass(frozen=True)
class VersionInput:
    """An artifact version to register: where its data lies (store-relative, what the database
    records, so that the store can move) and what describes it."""

    name: str
    uri: str
    data_type: str
    materializer: str
    content_hash: str | None
    size_bytes: int | None
    version: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)  # user metadata: any JSON
    tags: Sequence[str] = ()
    visualizations: Sequence[tuple[str, str]] = ()  # (type, store-relative uri)
    run_metadata: Mapping[str, Any] = field(default_factory=dict)  # logged by the user
    artifact_type: str | None = None  # DATA, MODEL, ... by name; None: DATA

    @classmethod
    def from_saved(
        cls,
        saved: SavedData,
        name: str,
        *,
        version: str | None,
        tags: Sequence[str],
        store: ArtifactStore,
        run_metadata: Mapping[str, Any] | None = None,
        artifact_type: str | None = None,
    ) -> VersionInput:
        return cls(
            name=name,
            version=version,
            uri=store.relative(saved.uri),
            data_type=saved.data_type,
            materializer=saved.materializer,
            content_hash=saved.content_hash,
            size_bytes=saved.size_bytes,
            metadata=saved.metadata,
            tags=tuple(tags),
            visualizations=tuple(
                (kind.upper(), store.relative(uri)) for uri, kind in saved.visualizations.items()
            ),
            run_metadata=dict(run_metadata or {}),
            artifact_type=artifact_type,
        )

    def variables(self) -> JsonObject:
        logged: JsonObject = (
            {"runMetadata": entries(self.run_metadata)} if self.run_metadata else {}
        )
        if self.artifact_type is not None:
            logged["artifactType"] = self.artifact_type
        return logged | {
            "name": self.name,
            "version": self.version,
            "uri": self.uri,
            "dataType": self.data_type,
            "materializer": self.materializer,
            "contentHash": self.content_hash,
            "sizeBytes": self.size_bytes,
            "metadata": dict(self.metadata),
            "tags": list(self.tags),
            "visualizations": [{"type": kind, "uri": uri} for kind, uri in self.visualizations],
        }


@dataclass(frozen=True)
class StepStart:
    """One step about to run: its identity, its cache key and the versions it consumes."""

    run_id: str
    name: str
    parameters: Mapping[str, Any]  # the step's JSON parameters, recorded as given
    code_hash: str
    cache_key: str | None
    cache_components: Mapping[str, Any] | None
    use_cache: bool
    cache_off_reason: str | None
    inputs: Mapping[str, str]  # input name → artifact version id

    def variables(self, client_key: str | None) -> JsonObject:
        return {
            "runId": self.run_id,
            "name": self.name,
            "parameters": dict(self.parameters),
            "codeHash": self.code_hash,
            "cacheKey": self.cache_key,
            "cacheComponents": None
            if self.cache_components is None
            else dict(self.cache_components),
            "useCache": self.use_cache,
            "cacheOffReason": self.cache_off_reason,
            "inputs": [{"name": n, "artifactVersionId": v} for n, v in self.inputs.items()],
            "clientKey": client_key,
        }


@dataclass(frozen=True)
class StepOutput:
    output_name: str
    version: VersionInput


@dataclass(frozen=True)
class StartedRun:
    id: str
    name: str


@dataclass(frozen=True)
class StartedStep:
    """The answer to starting a step: RUNNING, or CACHED with the outputs it reuses."""

    id: str
    status: str
    cache_reason: str | None
    outputs: dict[str, ArtifactVersion]
    reused_step_run_id: str | None = None  # a CACHED step's original step run
    reused_run_name: str | None = None  # and the pipeline run that executed it

    @property
    def cached(self) -> bool:
        return self.status == "CACHED"

    @classmethod
    def from_answer(cls, data: JsonObject, client: Client) -> StartedStep:
        original = data.get("originalStepRun") or {}
        return cls(
            id=data["id"],
            status=data["status"],
            cache_reason=data.get("cacheReason"),
            outputs=outputs_of(data, client),
            reused_step_run_id=original.get("id"),
            reused_run_name=(original.get("run") or {}).get("name"),
        )


@dataclass(frozen=True)
class FinishedStep:
    id: str
    status: str
    outputs: dict[str, ArtifactVersion]


@dataclass(frozen=True)
class BatchResult:
    """What a batch deletion did: the versions it acted on and the ids it left alone."""

    versions: list[ArtifactVersionRef]
    in_use: list[str]
    missing: list[str]
    removed_artifacts: list[str]

    @classmethod
    def from_answer(cls, data: JsonObject) -> BatchResult:
        return cls(
            versions=[ArtifactVersionRef.from_answer(v) for v in data["versions"]],
            in_use=list(data["inUse"]),
            missing=list(data["missing"]),
            removed_artifacts=list(data["removedArtifacts"]),
        )


@dataclass(frozen=True)
class ArtifactVersionRef:
    """The few fields of a version that prune works from."""

    id: str
    name: str
    version: str
    uri: str
    source: str
    size_bytes: int | None = None
    data_deleted_at: datetime | None = None

    @classmethod
    def from_answer(cls, data: JsonObject) -> ArtifactVersionRef:
        return cls(
            id=data["id"],
            name=data["name"],
            version=data["version"],
            uri=data["uri"],
            source=data.get("source") or "",
            size_bytes=data.get("sizeBytes"),
            data_deleted_at=parse_time(data.get("dataDeletedAt")),
        )


@dataclass(frozen=True)
class ArtifactSummary:
    """An artifact as a listing shows it: counts and the latest version's name, not its data."""

    id: str
    name: str
    tags: tuple[str, ...]
    version_count: int
    latest_version: str | None
    has_custom_name: bool
    created_at: datetime | None
    updated_at: datetime | None
    tagged_version_count: int | None = None  # with a tag filter: its versions carrying it

    @classmethod
    def from_answer(cls, data: JsonObject) -> ArtifactSummary:
        latest = data.get("latestVersion")
        return cls(
            id=data["id"],
            name=data["name"],
            tags=tuple(data["tags"]),
            version_count=int(data["versionCount"]),
            latest_version=None if latest is None else latest["version"],
            has_custom_name=bool(data["hasCustomName"]),
            created_at=parse_time(data.get("createdAt")),
            updated_at=parse_time(data.get("updatedAt")),
            tagged_version_count=data.get("taggedVersionCount"),
        )


@dataclass(frozen=True)
class Alias:
    """`name@alias`: which version it points at, and whether moving it needs `force`."""

    name: str
    version: str
    version_id: str
    protected: bool
    updated_at: datetime | None

    @classmethod
    def from_answer(cls, data: JsonObject) -> Alias:
        return cls(
            name=data["name"],
            version=data["version"]["version"],
            version_id=data["version"]["id"],
            protected=bool(data["protected"]),
            updated_at=parse_time(data["updatedAt"]),
        )


@dataclass(frozen=True)
class AliasMove:
    """One move of an alias: from a version to another (None: created, or removed)."""

    alias: str
    from_version: str | None
    to_version: str | None
    moved_at: datetime | None
    moved_by: str | None

    @classmethod
    def from_answer(cls, data: JsonObject) -> AliasMove:
        return cls(
            alias=data["alias"],
            from_version=(data["fromVersion"] or {}).get("version"),
            to_version=(data["toVersion"] or {}).get("version"),
            moved_at=parse_time(data["movedAt"]),
            moved_by=data["movedBy"],
        )


@dataclass(frozen=True)
class VersionLabel:
    """A version named by id and `name:version`."""

    id: str
    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.name}:{self.version}"

    @classmethod
    def from_answer(cls, data: JsonObject | None) -> VersionLabel | None:
        if data is None:
            return None
        return cls(id=data["id"], name=data["name"], version=data["version"])


@dataclass(frozen=True)
class KeyChange:
    """A key (of metadata or parameters) whose value differs: `change` is "ADDED" (only b has
    it), "REMOVED" (only a has it) or "CHANGED"; `before` is a's value, `after` b's."""

    key: str
    change: str
    before: Any
    after: Any

    @classmethod
    def from_answer(cls, data: JsonObject) -> KeyChange:
        return cls(data["key"], data["change"], data["before"], data["after"])


@dataclass(frozen=True)
class TextChange:
    before: str
    after: str

    @classmethod
    def from_answer(cls, data: JsonObject | None) -> TextChange | None:
        return None if data is None else cls(data["before"], data["after"])


@dataclass(frozen=True)
class ContentDiff:
    """Whether the data is the same: `equal` is None when a hash is missing and the sizes do
    not tell."""

    equal: bool | None
    hash_a: str | None
    hash_b: str | None
    size_bytes_a: int | None
    size_bytes_b: int | None
    size_bytes_delta: int | None

    @classmethod
    def from_answer(cls, data: JsonObject) -> ContentDiff:
        return cls(
            equal=data["equal"],
            hash_a=data["hashA"],
            hash_b=data["hashB"],
            size_bytes_a=data["sizeBytesA"],
            size_bytes_b=data["sizeBytesB"],
            size_bytes_delta=data["sizeBytesDelta"],
        )


@dataclass(frozen=True)
class DataFrameColumn:
    name: str
    dtype: str


@dataclass(frozen=True)
class DtypeChange:
    """A column both DataFrames have, with another dtype."""

    name: str
    before: str
    after: str


@dataclass(frozen=True)
class DataFrameDiff:
    """Schema and row-count differences of two DataFrames (or Series), from their metadata."""

    rows_before: int | None
    rows_after: int | None
    row_delta: int | None
    column_count_before: int
    column_count_after: int
    columns_added: tuple[DataFrameColumn, ...]
    columns_removed: tuple[DataFrameColumn, ...]
    dtype_changes: tuple[DtypeChange, ...]
    schema_equal: bool

    @classmethod
    def from_answer(cls, data: JsonObject | None) -> DataFrameDiff | None:
        if data is None:
            return None
        return cls(
            rows_before=data["rowsBefore"],
            rows_after=data["rowsAfter"],
            row_delta=data["rowDelta"],
            column_count_before=data["columnCountBefore"],
            column_count_after=data["columnCountAfter"],
            columns_added=tuple(
                DataFrameColumn(c["name"], c["dtype"]) for c in data["columnsAdded"]
            ),
            columns_removed=tuple(
                DataFrameColumn(c["name"], c["dtype"]) for c in data["columnsRemoved"]
            ),
            dtype_changes=tuple(
                DtypeChange(c["name"], c["before"], c["after"]) for c in data["dtypeChanges"]
            ),
            schema_equal=bool(data["schemaEqual"]),
        )


def _shape(value: list[int] | None) -> tuple[int, ...] | None:
    return None if value is None else tuple(value)


@dataclass(frozen=True)
class StatisticDiff:
    """One summary statistic (`min`, `max`, `mean`, `std`) of two arrays."""

    name: str
    before: float | None
    after: float | None
    change: float | None  # after - before, when both are known


@dataclass(frozen=True)
class ArrayDiff:
    """Shape, dtype and summary statistics of two arrays, from their metadata (None on a side
    without it)."""

    shape_before: tuple[int, ...] | None
    shape_after: tuple[int, ...] | None
    dtype_before: str | None
    dtype_after: str | None
    size_before: int | None  # elements
    size_after: int | None
    shape_changed: bool
    dtype_changed: bool
    statistics: tuple[StatisticDiff, ...] = ()

    @classmethod
    def from_answer(cls, data: JsonObject | None) -> ArrayDiff | None:
        if data is None:
            return None
        return cls(
            shape_before=_shape(data["shapeBefore"]),
            shape_after=_shape(data["shapeAfter"]),
            dtype_before=data["dtypeBefore"],
            dtype_after=data["dtypeAfter"],
            size_before=data["sizeBefore"],
            size_after=data["sizeAfter"],
            shape_changed=bool(data["shapeChanged"]),
            dtype_changed=bool(data["dtypeChanged"]),
            statistics=tuple(
                StatisticDiff(s["name"], s["before"], s["after"], s["change"])
                for s in data.get("statistics") or ()
            ),
        )


@dataclass(frozen=True)
class ProducerRef:
    """The step run that produced a version, and its pipeline run."""

    id: str
    name: str
    status: str
    run_id: str
    run_name: str

    @classmethod
    def from_answer(cls, data: JsonObject | None) -> ProducerRef | None:
        if data is None:
            return None
        run = data["run"]
        return cls(data["id"], data["name"], data["status"], run["id"], run["name"])


@dataclass(frozen=True)
class InputChange:
    """An input (by name) the two producers took from different versions, or that only one
    had: `change` is "ADDED", "REMOVED" or "CHANGED"."""

    name: str
    change: str
    before: VersionLabel | None  # what a's producer took
    after: VersionLabel | None  # what b's producer took

    @classmethod
    def from_answer(cls, data: JsonObject) -> InputChange:
        return cls(
            name=data["name"],
            change=data["change"],
            before=VersionLabel.from_answer(data["before"]),
            after=VersionLabel.from_answer(data["after"]),
        )


@dataclass(frozen=True)
class LineageDiff:
    """How the producers of two versions differ: their inputs and parameters."""

    inputs: tuple[InputChange, ...]
    unchanged_inputs: tuple[str, ...]
    parameters: tuple[KeyChange, ...]
    same_producer: bool
    same_step: bool
    code_changed: bool | None

    @classmethod
    def from_answer(cls, data: JsonObject) -> LineageDiff:
        return cls(
            inputs=tuple(InputChange.from_answer(i) for i in data["inputs"]),
            unchanged_inputs=tuple(data["unchangedInputs"]),
            parameters=tuple(KeyChange.from_answer(p) for p in data["parameters"]),
            same_producer=bool(data["sameProducer"]),
            same_step=bool(data["sameStep"]),
            code_changed=data["codeChanged"],
        )


@dataclass(frozen=True)
class VersionDiff:
    """What differs from version `a` to version `b` (`Client().diff(a, b)`): in each change,
    `before` is a's value and `after` is b's."""

    a: ArtifactVersion
    b: ArtifactVersion
    same_artifact: bool
    content: ContentDiff
    data_type: TextChange | None  # None when the same
    materializer: TextChange | None
    metadata: tuple[KeyChange, ...]
    data_frame: DataFrameDiff | None  # when either is a DataFrame (has `dtypes` metadata)
    array: ArrayDiff | None  # when either is an array (has `shape` metadata)
    producer_a: ProducerRef | None
    producer_b: ProducerRef | None
    lineage: LineageDiff

    @property
    def content_equal(self) -> bool | None:
        return self.content.equal

    @property
    def identical(self) -> bool:
        """Same content, type, materializer, metadata and producers' inputs and parameters."""
        return (
            self.content.equal is True
            and self.data_type is None
            and self.materializer is None
            and not self.metadata
            and not self.lineage.inputs
            and not self.lineage.parameters
        )

    @classmethod
    def from_answer(cls, data: JsonObject, client: Client) -> VersionDiff:
        return cls(
            a=ArtifactVersion.from_graphql(data["a"], client),
            b=ArtifactVersion.from_graphql(data["b"], client),
            same_artifact=bool(data["sameArtifact"]),
            content=ContentDiff.from_answer(data["content"]),
            data_type=TextChange.from_answer(data["dataType"]),
            materializer=TextChange.from_answer(data["materializer"]),
            metadata=tuple(KeyChange.from_answer(m) for m in data["metadata"]),
            data_frame=DataFrameDiff.from_answer(data["dataFrame"]),
            array=ArrayDiff.from_answer(data["array"]),
            producer_a=ProducerRef.from_answer(data["producerA"]),
            producer_b=ProducerRef.from_answer(data["producerB"]),
            lineage=LineageDiff.from_answer(data["lineage"]),
        )

    def to_dict(self) -> JsonObject:
        """Plain JSON values (what `lineageql artifacts diff --json` prints): the two
        versions as `{id, name, version}`, every other field as named here."""
        plain = {
            f.name: asdict(getattr(self, f.name))
            if is_dataclass(getattr(self, f.name))
            else getattr(self, f.name)
            for f in fields(self)
            if f.name not in ("a", "b", "metadata")
        }
        return {
            "a": asdict(VersionLabel(self.a.id, self.a.name, self.a.version)),
            "b": asdict(VersionLabel(self.b.id, self.b.name, self.b.version)),
            **plain,
            "metadata": [asdict(change) for change in self.metadata],
            "identical": self.identical,
        }


def outputs_of(data: JsonObject, client: Client) -> dict[str, ArtifactVersion]:
    """A step run answer's `outputs { name artifactVersion }`, by output name."""
    return {
        edge["name"]: ArtifactVersion.from_graphql(edge["artifactVersion"], client)
        for edge in data["outputs"]
    }
