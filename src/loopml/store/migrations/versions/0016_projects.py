"""Projects: the governance project a dataset (and all of it) is in.

Runs, registered models, pipeline runs, schedules and feature definitions name their
project in a reserved tag or parameter (``loopml.project``) and deployments take their
stable arm's model's; a dataset has no tags, so it gets a column. Every existing dataset
is in ``default``.

Revision ID: 0016_projects
Revises: 0015_step_logs
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_projects"
down_revision = "0015_step_logs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(
            sa.Column("project", sa.String(128), nullable=False, server_default="default")
        )


def downgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("project")
