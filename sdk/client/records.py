"""What the client's recording verbs take and answer: typed values, turned into GraphQL
variables and read back from answers here and nowhere else."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sdk.client.views import ArtifactVersion, parse_time
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

    @classmethod
    def from_saved(
        cls,
        saved: SavedData,
        name: str,
        *,
        version: str | None,
        tags: Sequence[str],
        store: ArtifactStore,
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
        )

    def variables(self) -> JsonObject:
        return {
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


def outputs_of(data: JsonObject, client: Client) -> dict[str, ArtifactVersion]:
    """A step run answer's `outputs { name artifactVersion }`, by output name."""
    return {
        edge["name"]: ArtifactVersion.from_graphql(edge["artifactVersion"], client)
        for edge in data["outputs"]
    }
