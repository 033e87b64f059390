"""idempotency keys, store identity, run heartbeats, store-relative version locations

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 02:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

from api.storage.base import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("operation", sa.String(length=64), nullable=False),
        sa.Column("result_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_idempotency_keys")),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_keys_created_at"), ["created_at"], unique=False
        )
    op.create_table(
        "store_info",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_store_info")),
    )
    with op.batch_alter_table("pipeline_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("heartbeat_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("lease_expires_at", UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_pipeline_runs_lease_expires_at"), ["lease_expires_at"], unique=False
        )
    store = context.config.attributes.get("artifact_store")
    if store:
        _relativize_locations(str(store))


def _relativize_locations(store: str) -> None:
    """Rewrite the absolute locations that lie inside `store` as store-relative ones."""
    from api.storage.locations import relative_to

    bind = op.get_bind()
    versions = sa.table(
        "artifact_versions",
        sa.column("id", sa.String),
        sa.column("uri", sa.Text),
        sa.column("visualizations", sa.JSON),
    )
    rows = bind.execute(sa.select(versions.c.id, versions.c.uri, versions.c.visualizations))
    for vid, uri, visualizations in rows.fetchall():
        relative = relative_to(store, uri)
        if relative is None:
            continue
        entries = [
            {**entry, "uri": relative_to(store, str(entry.get("uri"))) or entry.get("uri")}
            for entry in visualizations or []
        ]
        bind.execute(
            versions.update()
            .where(versions.c.id == vid)
            .values(uri=relative, visualizations=entries or visualizations)
        )


def downgrade() -> None:
    with op.batch_alter_table("pipeline_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pipeline_runs_lease_expires_at"))
        batch_op.drop_column("lease_expires_at")
        batch_op.drop_column("heartbeat_at")
    op.drop_table("store_info")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_created_at"))
    op.drop_table("idempotency_keys")
