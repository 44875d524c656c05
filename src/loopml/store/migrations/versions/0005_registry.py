"""Registry: models, versions, aliases with history, events, approvals, evaluations.

Revision ID: 0005_registry
Revises: 0004_pipelines
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_registry"
down_revision = "0004_pipelines"
branch_labels = None
depends_on = None

ID = sa.String(32)


def _fk(table: str, ondelete: str = "CASCADE") -> sa.ForeignKey:
    return sa.ForeignKey(f"{table}.id", ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("tags_json", sa.Text, nullable=False),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_at_ms", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
    )
    op.create_table(
        "model_versions",
        sa.Column("id", ID, primary_key=True),
        sa.Column("model_id", ID, _fk("models"), nullable=False),
        sa.Column("number", sa.BigInteger, nullable=False),
        sa.Column("semver", sa.String(64), nullable=False),
        sa.Column("manifest_digest", sa.String(64), nullable=False),
        sa.Column("payload_digest", sa.String(64), nullable=False),
        sa.Column("flavor", sa.String(64), nullable=False),
        sa.Column("model_class", sa.String(255), nullable=False),
        sa.Column("signature_digest", sa.String(64)),
        sa.Column("run_id", ID, _fk("runs", "SET NULL")),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("gates_digest", sa.String(64)),
        sa.Column("tags_json", sa.Text, nullable=False),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.UniqueConstraint("model_id", "number", name="uq_model_versions_number"),
        sa.UniqueConstraint("model_id", "semver", name="uq_model_versions_semver"),
    )
    op.create_index("ix_model_versions_run", "model_versions", ["run_id"])
    op.create_table(
        "model_aliases",
        sa.Column("model_id", ID, _fk("models"), primary_key=True),
        sa.Column("alias", sa.String(64), primary_key=True),
        sa.Column("version_id", ID, _fk("model_versions"), nullable=False),
        sa.Column("updated_at_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "alias_history",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("model_id", ID, _fk("models"), nullable=False),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("from_number", sa.BigInteger),
        sa.Column("to_number", sa.BigInteger),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_alias_history_model_alias", "alias_history", ["model_id", "alias", "seq"])
    op.create_table(
        "model_events",
        sa.Column("id", ID, primary_key=True),
        sa.Column("model_id", ID, _fk("models"), nullable=False),
        sa.Column("version_number", sa.BigInteger),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("detail_json", sa.Text, nullable=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_model_events_model", "model_events", ["model_id", "id"])
    op.create_table(
        "promotion_policies",
        sa.Column("model_id", ID, _fk("models"), primary_key=True),
        sa.Column("alias", sa.String(64), primary_key=True),
        sa.Column("policy_json", sa.Text, nullable=False),
        sa.Column("updated_at_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_by", sa.String(255), nullable=False),
    )
    op.create_table(
        "promotion_requests",
        sa.Column("id", ID, primary_key=True),
        sa.Column("model_id", ID, _fk("models"), nullable=False),
        sa.Column("version_id", ID, _fk("model_versions"), nullable=False),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(255), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
        sa.Column("decided_at_ms", sa.BigInteger),
    )
    op.create_index("ix_promotion_requests_model", "promotion_requests", ["model_id", "status"])
    op.create_table(
        "promotion_decisions",
        sa.Column("request_id", ID, _fk("promotion_requests"), primary_key=True),
        sa.Column("actor", sa.String(255), primary_key=True),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("approve", sa.Integer, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "evaluations",
        sa.Column("id", ID, primary_key=True),
        sa.Column("model_uri", sa.Text, nullable=False),
        sa.Column("model_id", ID, _fk("models")),
        sa.Column("version_number", sa.BigInteger),
        sa.Column("data_fingerprint", sa.String(64), nullable=False),
        sa.Column("passed", sa.Integer),
        sa.Column("report_digest", sa.String(64)),
        sa.Column("gates_digest", sa.String(64)),
        sa.Column("summary_json", sa.Text, nullable=False),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
    )
    op.create_index(
        "ix_evaluations_model_version",
        "evaluations",
        ["model_id", "version_number", "created_at_ms"],
    )


def downgrade() -> None:
    for index, table in (
        ("ix_evaluations_model_version", "evaluations"),
        ("ix_promotion_requests_model", "promotion_requests"),
        ("ix_model_events_model", "model_events"),
        ("ix_alias_history_model_alias", "alias_history"),
        ("ix_model_versions_run", "model_versions"),
    ):
        op.drop_index(index, table_name=table)
    for table in (
        "evaluations",
        "promotion_decisions",
        "promotion_requests",
        "promotion_policies",
        "model_events",
        "alias_history",
        "model_aliases",
        "model_versions",
        "models",
    ):
        op.drop_table(table)
