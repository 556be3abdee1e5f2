"""Grants, granted columns, consent registry, dev-data builds, query log and differencing history.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "grants",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("operator_id", sa.String(length=32), nullable=False),
        sa.Column("scenario", sa.String(length=200), nullable=False),
        sa.Column("domain_area", sa.String(length=32), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("consent_subjects", sa.Text(), nullable=False),
        sa.Column("wrapped_pseudonym_key", sa.LargeBinary(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["organizations.id"], name=op.f("fk_grants_operator_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants")),
    )
    op.create_table(
        "grant_columns",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("grant_id", sa.String(length=32), nullable=False),
        sa.Column("dataset_name", sa.String(length=128), nullable=False),
        sa.Column("column_name", sa.String(length=64), nullable=False),
        sa.Column("visible", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["grant_id"], ["grants.id"], name=op.f("fk_grant_columns_grant_id_grants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_columns")),
        sa.UniqueConstraint(
            "grant_id", "dataset_name", "column_name", name=op.f("uq_grant_columns_grant_id")
        ),
    )
    op.create_table(
        "consent_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=32), nullable=False),
        sa.Column("subject_digest", sa.String(length=64), nullable=False),
        sa.Column("scenario", sa.String(length=200), nullable=False),
        sa.Column("operator_code", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_events")),
    )
    op.create_index(
        "ix_consent_events_scope", "consent_events", ["scenario", "operator_code", "subject_type"], unique=False
    )
    op.create_index("ix_consent_events_subject_digest", "consent_events", ["subject_digest"], unique=False)
    op.create_table(
        "dev_builds",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("grant_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("built_by", sa.String(length=64), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("cipher", sa.String(length=16), nullable=False),
        sa.Column("manifest", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["grant_id"], ["grants.id"], name=op.f("fk_dev_builds_grant_id_grants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dev_builds")),
    )
    op.create_index("ix_dev_builds_grant_id", "dev_builds", ["grant_id"], unique=False)
    op.create_table(
        "queries",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("grant_id", sa.String(length=32), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("environment", sa.String(length=8), nullable=False),
        sa.Column("sql", sa.Text(), nullable=False),
        sa.Column("sql_sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("refusal_code", sa.String(length=64), nullable=True),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("ms", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queries")),
    )
    op.create_index("ix_queries_grant_id_at", "queries", ["grant_id", "at"], unique=False)
    op.create_table(
        "query_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("grant_id", sa.String(length=32), nullable=False),
        sa.Column("query_id", sa.String(length=32), nullable=False),
        sa.Column("entry", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_query_history")),
    )
    op.create_index("ix_query_history_grant_id", "query_history", ["grant_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_query_history_grant_id", table_name="query_history")
    op.drop_table("query_history")
    op.drop_index("ix_queries_grant_id_at", table_name="queries")
    op.drop_table("queries")
    op.drop_index("ix_dev_builds_grant_id", table_name="dev_builds")
    op.drop_table("dev_builds")
    op.drop_index("ix_consent_events_subject_digest", table_name="consent_events")
    op.drop_index("ix_consent_events_scope", table_name="consent_events")
    op.drop_table("consent_events")
    op.drop_table("grant_columns")
    op.drop_table("grants")
