"""run metadata: values users log on artifact versions, step runs and pipeline runs

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 07:00:00.000000

One table per kind of owner, so that deleting an owner deletes its metadata (ON DELETE
CASCADE). Each row is one key of one owner (latest wins), with its value as logged (JSON) and
its type, plus the columns a B-tree index covers in the order a filter and a sort by one key
read them: key, sort group (numbers, strings, other values), number, text, owner. A filter such
as `accuracy > 0.9` ordered by accuracy is one index range read from its end.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from api.storage.base import JSONType, UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# As in the models: strings sort by code point on PostgreSQL too (the "C" collation).
METADATA_TEXT = sa.String(256).with_variant(sa.String(256, collation="C"), "postgresql")
OWNERS = (
    ("version_run_metadata", "artifact_versions"),
    ("step_run_metadata", "step_runs"),
    ("pipeline_run_metadata", "pipeline_runs"),
)


def upgrade() -> None:
    for table, owners in OWNERS:
        op.create_table(
            table,
            sa.Column("owner_id", sa.String(length=36), nullable=False),
            sa.Column("key", sa.String(length=255), nullable=False),
            sa.Column("value", JSONType, nullable=True),
            sa.Column("type", sa.String(length=16), nullable=False),
            sa.Column("sort_group", sa.SmallInteger(), nullable=False),
            sa.Column("num_value", sa.Float(), nullable=False),
            sa.Column("text_value", METADATA_TEXT, nullable=False),
            sa.Column("logged_at", UTCDateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(
                ["owner_id"],
                [f"{owners}.id"],
                name=op.f(f"fk_{table}_owner_id_{owners}"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("owner_id", "key", name=op.f(f"pk_{table}")),
        )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(
                f"ix_{table}_sort",
                ["key", "sort_group", "num_value", "text_value", "owner_id"],
                unique=False,
            )


def downgrade() -> None:
    for table, _ in reversed(OWNERS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_sort")
        op.drop_table(table)
