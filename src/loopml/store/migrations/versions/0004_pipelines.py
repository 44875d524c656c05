"""Pipelines: pipeline runs, step runs, schedules, leases.

Revision ID: 0004_pipelines
Revises: 0003_data
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_pipelines"
down_revision = "0003_data"
branch_labels = None
depends_on = None

ID = sa.String(32)
FLOAT = sa.Float(precision=53)


def upgrade() -> None:
    op.create_table(
        "pipeline_runs",
        sa.Column("id", ID, primary_key=True),
        sa.Column("pipeline", sa.String(255), nullable=False),
        sa.Column("target", sa.String(500)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("executor", sa.String(64), nullable=False),
        sa.Column("cache", sa.Boolean, nullable=False),
        sa.Column("params_json", sa.Text, nullable=False),
        sa.Column("graph_json", sa.Text, nullable=False),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
        sa.Column("ended_at_ms", sa.BigInteger),
        sa.Column("resumes", sa.Integer, nullable=False),
        sa.Column("schedule_id", ID),
        sa.Column("cost", FLOAT),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_pipeline_runs_created", "pipeline_runs", ["created_at_ms"])
    op.create_index("ix_pipeline_runs_pipeline", "pipeline_runs", ["pipeline"])
    op.create_table(
        "step_runs",
        sa.Column("id", ID, primary_key=True),
        sa.Column(
            "pipeline_run_id",
            ID,
            sa.ForeignKey("pipeline_runs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("upstream_json", sa.Text, nullable=False),
        sa.Column("cache_key", sa.String(64)),
        sa.Column("cache_hit", sa.Boolean, nullable=False),
        sa.Column("cached_from", ID),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("started_at_ms", sa.BigInteger),
        sa.Column("ended_at_ms", sa.BigInteger),
        sa.Column("wall_s", FLOAT),
        sa.Column("cpu_s", FLOAT),
        sa.Column("gpu_s", FLOAT),
        sa.Column("peak_memory_bytes", sa.BigInteger),
        sa.Column("cost", FLOAT),
        sa.Column("inputs_json", sa.Text, nullable=False),
        sa.Column("outputs_json", sa.Text, nullable=False),
        sa.Column("params_json", sa.Text, nullable=False),
        sa.Column("worker", sa.String(255)),
        sa.Column("run_id", ID),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_step_runs_pipeline_run", "step_runs", ["pipeline_run_id", "position"])
    op.create_index("ix_step_runs_cache_key", "step_runs", ["cache_key", "status"])
    op.create_table(
        "schedules",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("target", sa.String(500), nullable=False),
        sa.Column("cron", sa.String(255), nullable=False),
        sa.Column("params_json", sa.Text, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("next_run_at_ms", sa.BigInteger, nullable=False),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
        sa.Column("last_run_id", ID),
    )
    op.create_index("ix_schedules_next", "schedules", ["next_run_at_ms"])
    op.create_table(
        "leases",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("expires_at_ms", sa.BigInteger, nullable=False),
        sa.Column("acquired_at_ms", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for name in ("leases", "schedules", "step_runs", "pipeline_runs"):
        op.drop_table(name)
