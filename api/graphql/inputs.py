"""Enums, filters and mutation inputs."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, NewType, cast

import strawberry
from strawberry.scalars import JSON

from api.errors import BadUserInput
from api.graphql.metadata import MetadataCondition, MetadataEntryInput, logged_values
from api.storage import lineage, models
from api.storage.artifacts import ArtifactFilter as ArtifactQuery
from api.storage.artifacts import NewVersion
from api.storage.artifacts import VersionFilter as VersionQuery
from api.storage.runs import RunFilter as RunQuery
from api.storage.runs import StepFilter as StepQuery

# strawberry.enum registers the storage enums as GraphQL enums and returns the same classes.
strawberry.enum(models.RunStatus, description="Status of a pipeline run or step run.")
strawberry.enum(models.ArtifactSource, description="How an artifact version came to be.")
strawberry.enum(models.ArtifactType, description="What a version holds (ZenML's types).")
RunStatus = models.RunStatus
ArtifactSource = models.ArtifactSource
ArtifactType = models.ArtifactType
strawberry.enum(lineage.Direction, name="LineageDirection", description="Which way to walk.")
strawberry.enum(lineage.EdgeKind, description="PRODUCED: step run -> version; CONSUMED: back.")
strawberry.enum(lineage.NodeKind, name="LineageNodeKind")
LineageDirection = lineage.Direction
EdgeKind = lineage.EdgeKind
LineageNodeKind = lineage.NodeKind


@strawberry.enum(
    description="How a visualization file is shown (and the content type it is served with)."
)
class VisualizationType(StrEnum):
    HTML = "HTML"
    MARKDOWN = "MARKDOWN"
    IMAGE = "IMAGE"
    CSV = "CSV"
    JSON = "JSON"


METADATA_FILTER = "Conditions on run metadata, all of which must hold."
BigInt = NewType("BigInt", int)
BIG_INT_MAX = 2**63 - 1  # what a database BIGINT column holds


def parse_big_int(value: object) -> int:
    """A size in bytes: an integer from 0 to 2^63 - 1 (JSON numbers with no fraction; not
    booleans, strings or floats with one)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadUserInput(f"a BigInt (sizeBytes) is a whole number of bytes, got {value!r}")
    if not 0 <= value <= BIG_INT_MAX:
        raise BadUserInput(
            f"a BigInt (sizeBytes) lies between 0 and {BIG_INT_MAX} (2^63 - 1), got {value}"
        )
    return value


BIG_INT = strawberry.scalar(
    name="BigInt",
    serialize=int,
    parse_value=parse_big_int,
    description="An integer that may exceed 32 bits (sizes in bytes).",
)


def parse_aware_datetime(value: object) -> datetime:
    """A DateTime argument (`asOf`): ISO 8601 with a time zone (`Z` or an offset). A date, or
    a time without a zone, is refused: the server would have to guess which zone it meant."""
    if not isinstance(value, str):
        raise BadUserInput(f"a DateTime (asOf) is an ISO 8601 string, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadUserInput(
            f"a DateTime (asOf) is an ISO 8601 date and time such as 2026-11-30T00:00:00Z, "
            f"got {value!r}"
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise BadUserInput(
            f"a DateTime (asOf) needs a time zone: {value!r} has none; write it in UTC with "
            f"a Z (such as {parsed.replace(tzinfo=None).isoformat()}Z) or with an offset "
            "(+01:00)"
        )
    return parsed


AWARE_DATETIME = strawberry.scalar(
    name="DateTime",
    serialize=datetime.isoformat,
    parse_value=parse_aware_datetime,
    description="Date with time (isoformat)",
)


@strawberry.input
class ArtifactFilter:
    name: str | None = None
    name_contains: str | None = None
    tag: str | None = strawberry.field(
        default=None,
        description="Artifacts carrying this tag themselves, or having a version that does.",
    )
    has_custom_name: bool | None = strawberry.field(
        default=None,
        description="true: hide artifacts with default names (`pipeline::step::output`); "
        "false: only those.",
    )

    def to_query(self) -> ArtifactQuery:
        return ArtifactQuery(
            name=self.name,
            name_contains=self.name_contains,
            tag=self.tag,
            has_custom_name=self.has_custom_name,
        )


@strawberry.input
class ArtifactVersionFilter:
    artifact_name: str | None = None
    tag: str | None = None
    source: ArtifactSource | None = None
    content_hash: str | None = None
    unused: bool | None = strawberry.field(
        default=None,
        description="True: only versions no step run produced or consumed (what prune may "
        "delete); false: only versions a run did.",
    )
    metadata: list[MetadataCondition] | None = strawberry.field(
        default=None, description=METADATA_FILTER
    )
    artifact_type: ArtifactType | None = None

    def to_query(self) -> VersionQuery:
        return VersionQuery(
            artifact_name=self.artifact_name,
            tag=self.tag,
            source=self.source,
            content_hash=self.content_hash,
            unused=self.unused,
            artifact_type=self.artifact_type,
        )


@strawberry.input(description="Keep only matching nodes (and the edges between them).")
class LineageFilter:
    artifact_name: str | None = None
    tag: str | None = None
    node_kind: LineageNodeKind | None = None
    latest_only: bool = strawberry.field(
        default=False, description="Only the newest version of each artifact (as of `asOf`)."
    )

    def to_query(self) -> lineage.LineageFilter:
        return lineage.LineageFilter(
            artifact_name=self.artifact_name,
            tag=self.tag,
            node_kind=self.node_kind,
            latest_only=self.latest_only,
        )


@strawberry.input
class PipelineRunFilter:
    pipeline_name: str | None = None
    status: RunStatus | None = None
    name: str | None = strawberry.field(default=None, description="The run's exact name.")
    id_prefix: str | None = strawberry.field(
        default=None, description="Runs whose id starts with this (any case)."
    )
    metadata: list[MetadataCondition] | None = strawberry.field(
        default=None, description=METADATA_FILTER
    )

    def to_query(self) -> RunQuery:
        return RunQuery(
            pipeline_name=self.pipeline_name,
            status=self.status,
            name=self.name,
            id_prefix=self.id_prefix,
        )


@strawberry.input
class StepRunFilter:
    name: str | None = None
    status: RunStatus | None = None
    run_id: strawberry.ID | None = None
    pipeline_name: str | None = None
    metadata: list[MetadataCondition] | None = strawberry.field(
        default=None, description=METADATA_FILTER
    )

    def to_query(self) -> StepQuery:
        return StepQuery(
            name=self.name,
            status=self.status,
            run_id=None if self.run_id is None else str(self.run_id),
            pipeline_name=self.pipeline_name,
        )


@strawberry.input(description="A visualization file, written inside the version directory.")
class VisualizationInput:
    type: VisualizationType
    uri: str


@strawberry.input(description="An artifact version whose data is already written at `uri`.")
class ArtifactVersionInput:
    name: str
    uri: str
    data_type: str
    materializer: str
    version: str | None = strawberry.field(
        default=None, description="A custom version; unset takes the next number."
    )
    content_hash: str | None = None
    size_bytes: BigInt | None = None
    metadata: JSON | None = None
    tags: list[str] = strawberry.field(default_factory=list)
    visualizations: list[VisualizationInput] | None = strawberry.field(
        default=None, description="Files inside the version directory `uri` to show the data."
    )
    run_metadata: list[MetadataEntryInput] | None = strawberry.field(
        default=None,
        description="Values to log on the version as it is registered (see `logMetadata`).",
    )
    artifact_type: ArtifactType = ArtifactType.DATA

    def to_new(self, source: models.ArtifactSource) -> NewVersion:
        meta: dict[str, Any] = cast(dict[str, Any], self.metadata or {})
        return NewVersion(
            name=self.name,
            uri=self.uri,
            data_type=self.data_type,
            materializer=self.materializer,
            version=self.version,
            content_hash=self.content_hash,
            size_bytes=self.size_bytes,
            metadata=dict(meta),
            tags=tuple(self.tags),
            source=source,
            visualizations=tuple((v.type.value, v.uri) for v in self.visualizations or ()),
            run_metadata=tuple(logged_values(None, self.run_metadata)) if self.run_metadata else (),
            artifact_type=models.ArtifactType(self.artifact_type),
        )


KEY_DESCRIPTION = (
    "A key chosen by the client before its first attempt (e.g. a UUID): a retry with the same "
    "key answers with what the first request created instead of creating it again."
)


@strawberry.input
class StartPipelineRunInput:
    pipeline_name: str
    run_name: str | None = None
    client_key: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)
    heartbeat_interval: float | None = strawberry.field(
        default=None,
        description="Seconds between the heartbeats the client promises to send "
        "(`recordHeartbeat`); a run silent for several intervals becomes ABANDONED. Unset: no "
        "heartbeats, the run is never abandoned.",
    )


@strawberry.input
class StepInputEdge:
    name: str
    artifact_version_id: strawberry.ID


@strawberry.input
class StartStepRunInput:
    run_id: strawberry.ID
    name: str
    parameters: JSON | None = None
    code_hash: str | None = None
    cache_key: str | None = None
    cache_components: JSON | None = strawberry.field(
        default=None, description="What the key is made of; says why a later run missed."
    )
    use_cache: bool = strawberry.field(
        default=False,
        description="Look up a completed run with `cacheKey` whose outputs still exist; on a "
        "hit the step run is recorded CACHED with that run's outputs.",
    )
    cache_off_reason: str | None = strawberry.field(
        default=None, description="Why the caller did not ask for a lookup (recorded)."
    )
    inputs: list[StepInputEdge] = strawberry.field(default_factory=list)
    client_key: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.input
class StepOutputInput:
    output_name: str
    artifact: ArtifactVersionInput


@strawberry.input
class FinishStepRunInput:
    step_run_id: strawberry.ID
    status: RunStatus
    error: str | None = None
    outputs: list[StepOutputInput] = strawberry.field(default_factory=list)
    client_key: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)


@strawberry.input
class FinishPipelineRunInput:
    run_id: strawberry.ID
    status: RunStatus
    error: str | None = None
    client_key: str | None = strawberry.field(default=None, description=KEY_DESCRIPTION)
