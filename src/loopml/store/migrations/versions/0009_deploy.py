"""Deployments: endpoint names bound to model versions, and their event history.

Revision ID: 0009_deploy
Revises: 0008_governance
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_deploy"
down_revision = "0008_governance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("strategy", sa.String(16), nullable=False),
        sa.Column("arms_json", sa.Text, nullable=False),
        sa.Column("alias", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("steps_json", sa.Text, nullable=False),
        sa.Column("analysis_json", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_at_ms", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("revision", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "deployment_events",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("deployment", sa.String(255), sa.ForeignKey("deployments.name"), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("from_json", sa.Text, nullable=False),
        sa.Column("to_json", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
        sa.Column("revision", sa.BigInteger, nullable=False),
        sa.Column("detail_json", sa.Text, nullable=False),
        sa.UniqueConstraint("deployment", "seq", name="uq_deployment_events_seq"),
    )


def downgrade() -> None:
    op.drop_table("deployment_events")
    op.drop_table("deployments")
