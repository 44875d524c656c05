"""Triggers: the closed loop's rules, and the events of each firing and chain step.

Revision ID: 0012_triggers
Revises: 0009_deploy
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_triggers"
down_revision = "0011_alerts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "triggers",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("condition_json", sa.Text, nullable=False),
        sa.Column("action_json", sa.Text, nullable=False),
        sa.Column("debounce_s", sa.Float, nullable=False),
        sa.Column("cooldown_s", sa.Float, nullable=False),
        sa.Column("budget_per_day", sa.BigInteger, nullable=True),
        sa.Column("dry_run", sa.Boolean, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("state_json", sa.Text, nullable=False),
        sa.Column("last_fired_at_ms", sa.BigInteger, nullable=True),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("revision", sa.BigInteger, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
    )
    op.create_table(
        "trigger_events",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("trigger", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("chain_id", sa.String(32), nullable=True),
        sa.Column("step", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("detail_json", sa.Text, nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_trigger_events_trigger_at", "trigger_events", ["trigger", "at_ms"])
    op.create_index("ix_trigger_events_chain", "trigger_events", ["chain_id"])


def downgrade() -> None:
    op.drop_index("ix_trigger_events_chain", "trigger_events")
    op.drop_index("ix_trigger_events_trigger_at", "trigger_events")
    op.drop_table("trigger_events")
    op.drop_table("triggers")
