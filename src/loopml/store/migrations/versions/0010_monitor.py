"""Monitor windows (drift and performance per window of the prediction log) and the
per-segment sketches they are merged from.

Revision ID: 0010_monitor
Revises: 0009_deploy
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_monitor"
down_revision = "0009_deploy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitor_windows",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("scope", sa.String(512), nullable=False),
        sa.Column("plan", sa.String(64), nullable=False),
        sa.Column("start_ms", sa.BigInteger, nullable=False),
        sa.Column("end_ms", sa.BigInteger, nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("complete", sa.Integer, nullable=False),
        sa.Column("drifted", sa.Integer, nullable=False),
        sa.Column("drift_json", sa.Text, nullable=False),
        sa.Column("realised_json", sa.Text, nullable=False),
        sa.Column("estimated_json", sa.Text, nullable=False),
        sa.Column("labelled", sa.BigInteger, nullable=False),
        sa.Column("model", sa.String(255), nullable=True),
        sa.Column("version", sa.BigInteger, nullable=True),
        sa.Column("deployment", sa.String(255), nullable=True),
        sa.Column("report_digest", sa.String(80), nullable=True),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_at_ms", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("scope", "plan", "start_ms", name="uq_monitor_windows_slot"),
    )
    op.create_table(
        "monitor_sketches",
        sa.Column("segment_id", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("monitor_sketches")
    op.drop_table("monitor_windows")
