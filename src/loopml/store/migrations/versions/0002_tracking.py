"""Tracking: run heartbeat, notes and soft delete; latest metric values; run artifacts.

Revision ID: 0002_tracking
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_tracking"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.String(32)


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("heartbeat_ms", sa.BigInteger))
        batch.add_column(sa.Column("notes", sa.Text))
        batch.add_column(sa.Column("deleted_at_ms", sa.BigInteger))
    op.create_table(
        "latest_metrics",
        sa.Column("run_id", ID, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("timestamp_ms", sa.BigInteger, nullable=False),
        sa.Column("value", sa.Float(precision=53)),
    )
    op.create_index("ix_latest_metrics_key_value", "latest_metrics", ["key", "value"])
    op.create_table(
        "run_artifacts",
        sa.Column("run_id", ID, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("path", sa.String(1024), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_run_artifacts_digest", "run_artifacts", ["digest"])
    # Existing metric points seed the latest values.
    op.execute(
        """
        INSERT INTO latest_metrics (run_id, key, step, timestamp_ms, value)
        SELECT m.run_id, m.key, m.step, m.timestamp_ms, MAX(m.value) FROM metrics m
        WHERE NOT EXISTS (
            SELECT 1 FROM metrics n WHERE n.run_id = m.run_id AND n.key = m.key
            AND (n.step > m.step OR (n.step = m.step AND n.timestamp_ms > m.timestamp_ms))
        )
        GROUP BY m.run_id, m.key, m.step, m.timestamp_ms
        """
    )


def downgrade() -> None:
    op.drop_table("run_artifacts")
    op.drop_table("latest_metrics")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("deleted_at_ms")
        batch.drop_column("notes")
        batch.drop_column("heartbeat_ms")
