"""artifact aliases and their history

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 03:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from api.storage.base import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "artifact_aliases",
        sa.Column("artifact_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("artifact_version_id", sa.String(length=36), nullable=False),
        sa.Column("protected", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_id"],
            ["artifacts.id"],
            name=op.f("fk_artifact_aliases_artifact_id_artifacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["artifact_version_id"],
            ["artifact_versions.id"],
            name=op.f("fk_artifact_aliases_artifact_version_id_artifact_versions"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("artifact_id", "name", name=op.f("pk_artifact_aliases")),
    )
    with op.batch_alter_table("artifact_aliases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_artifact_aliases_artifact_version_id"),
            ["artifact_version_id"],
            unique=False,
        )
    op.create_table(
        "artifact_alias_moves",
        sa.Column("artifact_id", sa.String(length=36), nullable=False),
        sa.Column("alias", sa.String(length=255), nullable=False),
        sa.Column("from_version_id", sa.String(length=36), nullable=True),
        sa.Column("to_version_id", sa.String(length=36), nullable=True),
        sa.Column("moved_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("moved_by", sa.String(length=255), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_id"],
            ["artifacts.id"],
            name=op.f("fk_artifact_alias_moves_artifact_id_artifacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_artifact_alias_moves")),
    )
    with op.batch_alter_table("artifact_alias_moves", schema=None) as batch_op:
        batch_op.create_index(
            "ix_artifact_alias_moves_alias", ["artifact_id", "alias", "moved_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("artifact_alias_moves", schema=None) as batch_op:
        batch_op.drop_index("ix_artifact_alias_moves_alias")
    op.drop_table("artifact_alias_moves")
    with op.batch_alter_table("artifact_aliases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_artifact_aliases_artifact_version_id"))
    op.drop_table("artifact_aliases")
