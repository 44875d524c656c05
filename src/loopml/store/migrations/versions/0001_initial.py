"""Initial schema: runs, params, tags, metrics, lineage edges.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("parent_id", ID, sa.ForeignKey("runs.id", ondelete="SET NULL")),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
        sa.Column("ended_at_ms", sa.BigInteger),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_runs_created", "runs", ["created_at_ms"])
    op.create_index("ix_runs_status", "runs", ["status"])
    op.create_index("ix_runs_parent", "runs", ["parent_id"])
    for name in ("params", "tags"):
        op.create_table(
            name,
            sa.Column("run_id", ID, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
            sa.Column("key", sa.String(255), primary_key=True),
            sa.Column("value", sa.Text, nullable=False),
        )
    op.create_table(
        "metrics",
        sa.Column("run_id", ID, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("timestamp_ms", sa.BigInteger, nullable=False),
        sa.Column("value", sa.Float(precision=53)),
    )
    op.create_index("ix_metrics_run_key_step", "metrics", ["run_id", "key", "step"])
    op.create_table(
        "lineage_edges",
        sa.Column("src_kind", sa.String(40), primary_key=True),
        sa.Column("src_id", sa.String(200), primary_key=True),
        sa.Column("dst_kind", sa.String(40), primary_key=True),
        sa.Column("dst_id", sa.String(200), primary_key=True),
        sa.Column("relation", sa.String(64), primary_key=True),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_lineage_dst", "lineage_edges", ["dst_kind", "dst_id"])


def downgrade() -> None:
    for name in ("lineage_edges", "metrics", "tags", "params", "runs"):
        op.drop_table(name)
