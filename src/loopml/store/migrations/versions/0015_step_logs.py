"""Step logs: each step run names the artifact holding its captured output.

Revision ID: 0015_step_logs
Revises: 0014_router
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_step_logs"
down_revision = "0014_router"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("step_runs") as batch:
        batch.add_column(sa.Column("log_digest", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("step_runs") as batch:
        batch.drop_column("log_digest")
