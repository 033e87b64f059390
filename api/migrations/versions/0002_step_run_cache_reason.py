"""step run cache reason

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 06:32:23.953393
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("step_runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "cache_components",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("cache_reason", sa.Text(), nullable=True))
        batch_op.create_index("ix_step_runs_name_started", ["name", "started_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("step_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_step_runs_name_started")
        batch_op.drop_column("cache_reason")
        batch_op.drop_column("cache_components")
