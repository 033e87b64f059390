"""OpenLineage events received on /api/v1/lineage, stored as sent

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from api.storage.base import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "openlineage_events",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=16), nullable=False),
        sa.Column("event_time", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("job_namespace", sa.Text(), nullable=False),
        sa.Column("job_name", sa.Text(), nullable=False),
        sa.Column("producer", sa.Text(), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("received_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("applied_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_openlineage_events")),
        sa.UniqueConstraint("digest", name=op.f("uq_openlineage_events_digest")),
    )
    with op.batch_alter_table("openlineage_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_openlineage_events_received_at"), ["received_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_openlineage_events_run_id"), ["run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("openlineage_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_openlineage_events_run_id"))
        batch_op.drop_index(batch_op.f("ix_openlineage_events_received_at"))
    op.drop_table("openlineage_events")
