"""Every table of the store. Lineage edges are `step_inputs` and `step_outputs`."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.storage.base import Base, CreatedMixin, IdMixin, JSONType, UTCDateTime, utcnow


class RunStatus(StrEnum):
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CACHED = "CACHED"
    # A run (and its open steps) whose process stopped sending heartbeats: killed or lost.
    ABANDONED = "ABANDONED"


class ArtifactType(StrEnum):
    """What a version holds, as ZenML's artifact types (`ArtifactConfig(artifact_type=...)`)."""

    DATA = "DATA"
    MODEL = "MODEL"
    DATA_ANALYSIS = "DATA_ANALYSIS"
    SCHEMA = "SCHEMA"
    SERVICE = "SERVICE"
    STATISTICS = "STATISTICS"
    BASE = "BASE"


class ArtifactSource(StrEnum):
    STEP_OUTPUT = "STEP_OUTPUT"
    SAVED = "SAVED"
    REGISTERED = "REGISTERED"
    EXTERNAL = "EXTERNAL"


class Pipeline(IdMixin, CreatedMixin, Base):
    __tablename__ = "pipelines"

    name: Mapped[str] = mapped_column(String(255), unique=True)


class PipelineRun(IdMixin, Base):
    __tablename__ = "pipeline_runs"
    __table_args__ = (Index("ix_pipeline_runs_pipeline_started", "pipeline_id", "started_at"),)

    pipeline_id: Mapped[str] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.RUNNING, index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)
    # The running process's heartbeat: past `lease_expires_at` (a few heartbeat intervals after
    # the last one) a RUNNING run is ABANDONED. NULL: the client sends no heartbeats.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


class StepRun(IdMixin, Base):
    __tablename__ = "step_runs"
    __table_args__ = (
        UniqueConstraint("run_id", "name"),
        Index("ix_step_runs_name_started", "name", "started_at"),
    )

    run_id: Mapped[str] = mapped_column(ForeignKey("pipeline_runs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.RUNNING)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    code_hash: Mapped[str | None] = mapped_column(String(128))
    cache_key: Mapped[str | None] = mapped_column(String(128), index=True)
    # What the key was made of (code, parameters, inputs, ...), to say why a later run missed.
    cache_components: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    cache_reason: Mapped[str | None] = mapped_column(Text)
    original_step_run_id: Mapped[str | None] = mapped_column(
        ForeignKey("step_runs.id", ondelete="SET NULL"), index=True
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)


class Artifact(IdMixin, CreatedMixin, Base):
    """A name. `version_seq` orders its versions; `last_number` is the last auto version."""

    __tablename__ = "artifacts"

    name: Mapped[str] = mapped_column(String(255), unique=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    version_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class ArtifactVersion(IdMixin, CreatedMixin, Base):
    __tablename__ = "artifact_versions"
    __table_args__ = (
        UniqueConstraint("artifact_id", "version"),
        UniqueConstraint("artifact_id", "seq"),
        # OpenLineage joins a dataset to the version stored at its location (migration 0008).
        Index("ix_artifact_versions_uri", "uri", postgresql_using="hash"),
    )

    artifact_id: Mapped[str] = mapped_column(ForeignKey("artifacts.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(255))
    is_custom: Mapped[bool] = mapped_column(Boolean, default=False)
    # Relative to the artifact store's root (see api/storage/locations.py); absolute only in
    # rows written before migration 0004 that lay outside the store it ran with.
    uri: Mapped[str] = mapped_column(Text)
    data_type: Mapped[str] = mapped_column(String(512))
    materializer: Mapped[str] = mapped_column(String(512))
    content_hash: Mapped[str | None] = mapped_column(String(128), index=True)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    source: Mapped[str] = mapped_column(String(16), default=ArtifactSource.STEP_OUTPUT)
    # Migration 0010; ZenML's artifact type (`is_model_artifact=True` is MODEL).
    artifact_type: Mapped[str] = mapped_column(
        String(16), default=ArtifactType.DATA, server_default=ArtifactType.DATA.value
    )
    producer_step_run_id: Mapped[str | None] = mapped_column(
        ForeignKey("step_runs.id", ondelete="SET NULL"), index=True
    )
    # Set when prune deleted the files but kept the metadata (`--only-artifact`), or is about to
    # delete both: loading says so instead of failing on a missing file.
    data_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # [{"type": "HTML" | "MARKDOWN" | "IMAGE" | "CSV" | "JSON", "uri": ...}] saved with the data.
    visualizations: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    # Loaded with every version (one join), so a version's name needs no second query.
    artifact: Mapped[Artifact] = relationship(lazy="joined", innerjoin=True)


class Tag(IdMixin, Base):
    __tablename__ = "tags"

    name: Mapped[str] = mapped_column(String(255), unique=True)


class ArtifactTag(Base):
    __tablename__ = "artifact_tags"

    artifact_id: Mapped[str] = mapped_column(
        ForeignKey("artifacts.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[str] = mapped_column(
        ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ArtifactVersionTag(Base):
    __tablename__ = "artifact_version_tags"

    artifact_version_id: Mapped[str] = mapped_column(
        ForeignKey("artifact_versions.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[str] = mapped_column(
        ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class StepInput(CreatedMixin, Base):
    """Edge: an artifact version consumed by a step run under an input name."""

    __tablename__ = "step_inputs"

    step_run_id: Mapped[str] = mapped_column(
        ForeignKey("step_runs.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    artifact_version_id: Mapped[str] = mapped_column(
        ForeignKey("artifact_versions.id", ondelete="RESTRICT"), index=True
    )


class StepOutput(CreatedMixin, Base):
    """Edge: an artifact version produced (or, for a cached run, reused) by a step run."""

    __tablename__ = "step_outputs"

    step_run_id: Mapped[str] = mapped_column(
        ForeignKey("step_runs.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    artifact_version_id: Mapped[str] = mapped_column(
        ForeignKey("artifact_versions.id", ondelete="RESTRICT"), index=True
    )


class IdempotencyKey(Base):
    """A key a client chose before sending a mutation that creates something: a repeat with
    the same key answers with what the first one created (`result_id`), never a second row."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    operation: Mapped[str] = mapped_column(String(64))
    result_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class StoreInfo(Base):
    """Facts about the store this database describes, e.g. `store_id`: the identity written
    at the artifact store's root too, so prune can tell its own store from another one."""

    __tablename__ = "store_info"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class OpenLineageEvent(IdMixin, Base):
    """An OpenLineage event received on `/api/v1/lineage`, stored as sent before it is
    applied to pipelines, runs and artifacts (api/storage/openlineage.py)."""

    __tablename__ = "openlineage_events"

    # sha256 of the canonical JSON: a repeated event is stored and applied once.
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(16))
    event_time: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[str] = mapped_column(String(36), index=True)
    job_namespace: Mapped[str] = mapped_column(Text)
    job_name: Mapped[str] = mapped_column(Text)
    producer: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)  # why it could not be applied


class ArtifactAlias(Base):
    """A movable name (`production`, `staging`) pointing at exactly one version of an artifact;
    unique per artifact. `latest` is built in and never stored."""

    __tablename__ = "artifact_aliases"

    artifact_id: Mapped[str] = mapped_column(
        ForeignKey("artifacts.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    # RESTRICT: a version an alias points at is never deleted (prune leaves it alone too).
    artifact_version_id: Mapped[str] = mapped_column(
        ForeignKey("artifact_versions.id", ondelete="RESTRICT"), index=True
    )
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AliasMove(IdMixin, Base):
    """One move of an alias: from a version (None: it was created) to a version (None: it was
    removed), when, and by whom (the token's name; None in-process or without tokens)."""

    __tablename__ = "artifact_alias_moves"
    __table_args__ = (Index("ix_artifact_alias_moves_alias", "artifact_id", "alias", "moved_at"),)

    artifact_id: Mapped[str] = mapped_column(ForeignKey("artifacts.id", ondelete="CASCADE"))
    alias: Mapped[str] = mapped_column(String(255))
    from_version_id: Mapped[str | None] = mapped_column(String(36))
    to_version_id: Mapped[str | None] = mapped_column(String(36))
    moved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    moved_by: Mapped[str | None] = mapped_column(String(255))


# Text that run metadata is filtered and sorted by: the first 256 characters of a string. On
# PostgreSQL in the "C" collation, so strings sort by code point as on SQLite (and in Python).
METADATA_TEXT = String(256).with_variant(String(256, collation="C"), "postgresql")


class _RunMetadata:
    """A value a user logged under `key` (latest wins), apart from extracted metadata: the value
    as logged (`value`, JSON) with its `type`, and the columns the sort index covers:
    `sort_group` (0 numbers, 1 strings, 2 other values), `num_value` (a number's value, else 0)
    and `text_value` (a string's first 256 characters, other values' JSON text; numbers "")."""

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONType, nullable=True)
    type: Mapped[str] = mapped_column(String(16))
    sort_group: Mapped[int] = mapped_column(SmallInteger)
    num_value: Mapped[float] = mapped_column(Float)
    text_value: Mapped[str] = mapped_column(METADATA_TEXT)
    logged_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def _metadata_sort_index(table: str) -> Index:
    """Filter and sort by one key in one index range: key, group, number, text, owner."""
    return Index(f"ix_{table}_sort", "key", "sort_group", "num_value", "text_value", "owner_id")


class VersionRunMetadata(_RunMetadata, Base):
    __tablename__ = "version_run_metadata"
    __table_args__ = (_metadata_sort_index("version_run_metadata"),)

    owner_id: Mapped[str] = mapped_column(
        ForeignKey("artifact_versions.id", ondelete="CASCADE"), primary_key=True
    )


class StepRunMetadata(_RunMetadata, Base):
    __tablename__ = "step_run_metadata"
    __table_args__ = (_metadata_sort_index("step_run_metadata"),)

    owner_id: Mapped[str] = mapped_column(
        ForeignKey("step_runs.id", ondelete="CASCADE"), primary_key=True
    )


class PipelineRunMetadata(_RunMetadata, Base):
    __tablename__ = "pipeline_run_metadata"
    __table_args__ = (_metadata_sort_index("pipeline_run_metadata"),)

    owner_id: Mapped[str] = mapped_column(
        ForeignKey("pipeline_runs.id", ondelete="CASCADE"), primary_key=True
    )
