"""artifact_versions.artifact_type: what a version holds (ZenML's artifact types)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 07:00:00.000000

Existing versions are DATA, as ZenML's default.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("artifact_versions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("artifact_type", sa.String(length=16), server_default="DATA", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("artifact_versions", schema=None) as batch_op:
        batch_op.drop_column("artifact_type")
