"""Alerts: monitoring alerts from firing to resolved.

Revision ID: 0011_alerts
Revises: 0009_deploy
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_alerts"
down_revision = "0010_monitor"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("rule", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("value", sa.Float(precision=53), nullable=True),
        sa.Column("bound", sa.Float(precision=53), nullable=True),
        sa.Column("window_id", sa.Text, nullable=True),
        sa.Column("deployment", sa.String(255), nullable=False),
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=True),
        sa.Column("fired_at", sa.BigInteger, nullable=False),
        sa.Column("resolved_at", sa.BigInteger, nullable=True),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
    )
    op.create_index("ix_alerts_state_fired", "alerts", ["state", "fired_at"])
    op.create_index("ix_alerts_deployment_fired", "alerts", ["deployment", "fired_at"])


def downgrade() -> None:
    op.drop_index("ix_alerts_deployment_fired", table_name="alerts")
    op.drop_index("ix_alerts_state_fired", table_name="alerts")
    op.drop_table("alerts")
