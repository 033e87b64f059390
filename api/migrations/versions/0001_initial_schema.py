"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 05:39:11.417558
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import api.storage.base

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "artifacts",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("updated_at", api.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version_seq", sa.Integer(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", api.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_artifacts")),
        sa.UniqueConstraint("name", name=op.f("uq_artifacts_name")),
    )
    with op.batch_alter_table("artifacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_artifacts_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_artifacts_updated_at"), ["updated_at"], unique=False)

    op.create_table(
        "pipelines",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", api.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipelines")),
        sa.UniqueConstraint("name", name=op.f("uq_pipelines_name")),
    )
    with op.batch_alter_table("pipelines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pipelines_created_at"), ["created_at"], unique=False)

    op.create_table(
        "tags",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("name", name=op.f("uq_tags_name")),
    )
    op.create_table(
        "artifact_tags",
        sa.Column("artifact_id", sa.String(length=36), nullable=False),
        sa.Column("tag_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_id"],
            ["artifacts.id"],
            name=op.f("fk_artifact_tags_artifact_id_artifacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tags.id"], name=op.f("fk_artifact_tags_tag_id_tags"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("artifact_id", "tag_id", name=op.f("pk_artifact_tags")),
    )
    with op.batch_alter_table("artifact_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_artifact_tags_tag_id"), ["tag_id"], unique=False)

    op.create_table(
        "pipeline_runs",
        sa.Column("pipeline_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", api.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", api.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            ["pipelines.id"],
            name=op.f("fk_pipeline_runs_pipeline_id_pipelines"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_runs")),
        sa.UniqueConstraint("name", name=op.f("uq_pipeline_runs_name")),
    )
    with op.batch_alter_table("pipeline_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pipeline_runs_pipeline_started", ["pipeline_id", "started_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_pipeline_runs_started_at"), ["started_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_pipeline_runs_status"), ["status"], unique=False)

    op.create_table(
        "step_runs",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "parameters",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("code_hash", sa.String(length=128), nullable=True),
        sa.Column("cache_key", sa.String(length=128), nullable=True),
        sa.Column("original_step_run_id", sa.String(length=36), nullable=True),
        sa.Column("started_at", api.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", api.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["original_step_run_id"],
            ["step_runs.id"],
            name=op.f("fk_step_runs_original_step_run_id_step_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["pipeline_runs.id"],
            name=op.f("fk_step_runs_run_id_pipeline_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_step_runs")),
        sa.UniqueConstraint("run_id", "name", name=op.f("uq_step_runs_run_id_name")),
    )
    with op.batch_alter_table("step_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_step_runs_cache_key"), ["cache_key"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_step_runs_original_step_run_id"), ["original_step_run_id"], unique=False
        )

    op.create_table(
        "artifact_versions",
        sa.Column("artifact_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=255), nullable=False),
        sa.Column("is_custom", sa.Boolean(), nullable=False),
        sa.Column("uri", sa.Text(), nullable=False),
        sa.Column("data_type", sa.String(length=512), nullable=False),
        sa.Column("materializer", sa.String(length=512), nullable=False),
        sa.Column("content_hash", sa.String(length=128), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("producer_step_run_id", sa.String(length=36), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", api.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_id"],
            ["artifacts.id"],
            name=op.f("fk_artifact_versions_artifact_id_artifacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["producer_step_run_id"],
            ["step_runs.id"],
            name=op.f("fk_artifact_versions_producer_step_run_id_step_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_artifact_versions")),
        sa.UniqueConstraint(
            "artifact_id", "seq", name=op.f("uq_artifact_versions_artifact_id_seq")
        ),
        sa.UniqueConstraint(
            "artifact_id", "version", name=op.f("uq_artifact_versions_artifact_id_version")
        ),
    )
    with op.batch_alter_table("artifact_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_artifact_versions_content_hash"), ["content_hash"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_artifact_versions_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_artifact_versions_producer_step_run_id"),
            ["producer_step_run_id"],
            unique=False,
        )

    op.create_table(
        "artifact_version_tags",
        sa.Column("artifact_version_id", sa.String(length=36), nullable=False),
        sa.Column("tag_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_version_id"],
            ["artifact_versions.id"],
            name=op.f("fk_artifact_version_tags_artifact_version_id_artifact_versions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"],
            ["tags.id"],
            name=op.f("fk_artifact_version_tags_tag_id_tags"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "artifact_version_id", "tag_id", name=op.f("pk_artifact_version_tags")
        ),
    )
    with op.batch_alter_table("artifact_version_tags", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_artifact_version_tags_tag_id"), ["tag_id"], unique=False
        )

    op.create_table(
        "step_inputs",
        sa.Column("step_run_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("artifact_version_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", api.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_version_id"],
            ["artifact_versions.id"],
            name=op.f("fk_step_inputs_artifact_version_id_artifact_versions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["step_run_id"],
            ["step_runs.id"],
            name=op.f("fk_step_inputs_step_run_id_step_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("step_run_id", "name", name=op.f("pk_step_inputs")),
    )
    with op.batch_alter_table("step_inputs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_step_inputs_artifact_version_id"), ["artifact_version_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_step_inputs_created_at"), ["created_at"], unique=False)

    op.create_table(
        "step_outputs",
        sa.Column("step_run_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("artifact_version_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", api.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_version_id"],
            ["artifact_versions.id"],
            name=op.f("fk_step_outputs_artifact_version_id_artifact_versions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["step_run_id"],
            ["step_runs.id"],
            name=op.f("fk_step_outputs_step_run_id_step_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("step_run_id", "name", name=op.f("pk_step_outputs")),
    )
    with op.batch_alter_table("step_outputs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_step_outputs_artifact_version_id"), ["artifact_version_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_step_outputs_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("step_outputs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_step_outputs_created_at"))
        batch_op.drop_index(batch_op.f("ix_step_outputs_artifact_version_id"))

    op.drop_table("step_outputs")
    with op.batch_alter_table("step_inputs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_step_inputs_created_at"))
        batch_op.drop_index(batch_op.f("ix_step_inputs_artifact_version_id"))

    op.drop_table("step_inputs")
    with op.batch_alter_table("artifact_version_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_artifact_version_tags_tag_id"))

    op.drop_table("artifact_version_tags")
    with op.batch_alter_table("artifact_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_artifact_versions_producer_step_run_id"))
        batch_op.drop_index(batch_op.f("ix_artifact_versions_created_at"))
        batch_op.drop_index(batch_op.f("ix_artifact_versions_content_hash"))

    op.drop_table("artifact_versions")
    with op.batch_alter_table("step_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_step_runs_original_step_run_id"))
        batch_op.drop_index(batch_op.f("ix_step_runs_cache_key"))

    op.drop_table("step_runs")
    with op.batch_alter_table("pipeline_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pipeline_runs_status"))
        batch_op.drop_index(batch_op.f("ix_pipeline_runs_started_at"))
        batch_op.drop_index("ix_pipeline_runs_pipeline_started")

    op.drop_table("pipeline_runs")
    with op.batch_alter_table("artifact_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_artifact_tags_tag_id"))

    op.drop_table("artifact_tags")
    op.drop_table("tags")
    with op.batch_alter_table("pipelines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pipelines_created_at"))

    op.drop_table("pipelines")
    with op.batch_alter_table("artifacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_artifacts_updated_at"))
        batch_op.drop_index(batch_op.f("ix_artifacts_created_at"))

    op.drop_table("artifacts")
