"""an index on artifact_versions.uri, for OpenLineage's join of datasets to native versions

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 06:40:00.000000

An ingested dataset whose location is a LineageQL version's location joins that version; the
lookup is an equality on `uri`. PostgreSQL gets a hash index: a B-tree entry is limited to about
2.7 KB, and a URI has no such limit.
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("artifact_versions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_artifact_versions_uri", ["uri"], unique=False, postgresql_using="hash"
        )


def downgrade() -> None:
    with op.batch_alter_table("artifact_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_artifact_versions_uri")
