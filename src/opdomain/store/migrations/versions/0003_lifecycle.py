"""The authorization lifecycle (授权程序): announcements, applications, materials, expert reviews,
objections, timeline, agreements, emergency plans, safe-people records, exam, data requests,
notifications; grants gain their origin and end.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _id() -> sa.Column:
    return sa.Column("id", sa.String(32), primary_key=True)


def _serial() -> sa.Column:
    return sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True)


def upgrade() -> None:
    op.create_table(
        "announcements", _id(),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("domain_areas", sa.Text(), nullable=False),
        sa.Column("conditions", sa.Text(), nullable=False),
        sa.Column("opens_on", sa.Date(), nullable=False),
        sa.Column("closes_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "applications", _id(),
        sa.Column("announcement_id", sa.String(32), sa.ForeignKey("announcements.id"), nullable=False),
        sa.Column("operator_id", sa.String(32), sa.ForeignKey("organizations.id"), nullable=False),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("state_reason", sa.Text(), nullable=False),
        sa.Column("scenarios", sa.Text(), nullable=False),
        sa.Column("requirements", sa.Text(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("pricing_mode", sa.String(24), nullable=False),
        sa.Column("fees", sa.Text(), nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("consent_subjects", sa.Text(), nullable=False),
        sa.Column("renewal_of", sa.String(32), nullable=True),
        sa.Column("notice_missing", sa.Text(), nullable=True),
        sa.Column("notice_given_at", TZ, nullable=True),
        sa.Column("resubmit_by", sa.Date(), nullable=True),
        sa.Column("expert_conclusion", sa.Text(), nullable=False),
        sa.Column("decision_reasons", sa.Text(), nullable=False),
        sa.Column("publicity_starts_on", sa.Date(), nullable=True),
        sa.Column("publicity_ends_on", sa.Date(), nullable=True),
        sa.Column("filing_reference", sa.String(200), nullable=False),
        sa.Column("filed_with", sa.String(200), nullable=False),
        sa.Column("agreement_id", sa.String(32), nullable=True),
        sa.Column("grant_id", sa.String(32), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_index("ix_applications_operator_id", "applications", ["operator_id"])
    op.create_table(
        "application_materials", _serial(),
        sa.Column("application_id", sa.String(32), sa.ForeignKey("applications.id"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("sm3", sa.String(64), nullable=False),
        sa.Column("path", sa.String(400), nullable=False),
        sa.Column("uploaded_by", sa.String(64), nullable=False),
        sa.Column("uploaded_at", TZ, nullable=False),
    )
    op.create_index("ix_application_materials_application_id", "application_materials", ["application_id"])
    op.create_table(
        "expert_reviews", _serial(),
        sa.Column("application_id", sa.String(32), sa.ForeignKey("applications.id"), nullable=False),
        sa.Column("expert", sa.String(64), nullable=False),
        sa.Column("assigned_by", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("conflict_declared", sa.Boolean(), nullable=False),
        sa.Column("conflict_note", sa.Text(), nullable=False),
        sa.Column("scores", sa.Text(), nullable=False),
        sa.Column("opinion", sa.Text(), nullable=False),
        sa.Column("submitted_at", TZ, nullable=True),
    )
    op.create_index("ix_expert_reviews_application_id", "expert_reviews", ["application_id"])
    op.create_table(
        "objections", _id(),
        sa.Column("application_id", sa.String(32), sa.ForeignKey("applications.id"), nullable=False),
        sa.Column("objector", sa.String(100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("submitted_at", TZ, nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(64), nullable=True),
        sa.Column("answered_at", TZ, nullable=True),
    )
    op.create_table(
        "lifecycle_events", _serial(),
        sa.Column("subject_type", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(32), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("from_state", sa.String(24), nullable=False),
        sa.Column("to_state", sa.String(24), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("at", TZ, nullable=False),
    )
    op.create_index("ix_lifecycle_events_subject", "lifecycle_events", ["subject_type", "subject_id"])
    op.create_table(
        "agreements", _id(),
        sa.Column("application_id", sa.String(32), sa.ForeignKey("applications.id"), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("sealed_path", sa.String(400), nullable=False),
        sa.Column("html_path", sa.String(400), nullable=False),
        sa.Column("pdf_path", sa.String(400), nullable=False),
        sa.Column("sealed_by", sa.String(64), nullable=False),
        sa.Column("sealed_at", TZ, nullable=False),
    )
    op.create_table(
        "emergency_plans", _id(),
        sa.Column("application_id", sa.String(32), sa.ForeignKey("applications.id"), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("drills", sa.Text(), nullable=False),
        sa.Column("filed_by", sa.String(64), nullable=False),
        sa.Column("filed_at", TZ, nullable=False),
    )
    op.create_table(
        "staff_records",
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("real_name_verified_at", TZ, nullable=True),
        sa.Column("real_name_verified_by", sa.String(64), nullable=True),
        sa.Column("exam_passed_at", TZ, nullable=True),
        sa.Column("exam_score", sa.Integer(), nullable=True),
        sa.Column("exam_attempt_id", sa.Integer(), nullable=True),
        sa.Column("exam_valid_until", sa.Date(), nullable=True),
        sa.Column("confidentiality_signed_at", TZ, nullable=True),
        sa.Column("confidentiality_sha256", sa.String(64), nullable=True),
        sa.Column("left_at", TZ, nullable=True),
        sa.Column("affiliation", sa.String(64), nullable=True),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "exam_questions", _serial(),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("choices", sa.Text(), nullable=False),
        sa.Column("answer", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "exam_attempts", _serial(),
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("taken_at", TZ, nullable=False),
    )
    op.create_table(
        "data_requests", _id(),
        sa.Column("grant_id", sa.String(32), sa.ForeignKey("grants.id"), nullable=False),
        sa.Column("dataset", sa.String(128), nullable=False),
        sa.Column("columns", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("requested_at", TZ, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("approved", sa.Text(), nullable=False),
        sa.Column("reviewed_by", sa.String(64), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=False),
        sa.Column("reviewed_at", TZ, nullable=True),
    )
    op.create_index("ix_data_requests_grant_id", "data_requests", ["grant_id"])
    op.create_table(
        "notifications", _serial(),
        sa.Column("username", sa.String(64), nullable=True),
        sa.Column("organization_code", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("message_zh", sa.Text(), nullable=False),
        sa.Column("message_en", sa.Text(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("object_type", sa.String(16), nullable=False),
        sa.Column("object_id", sa.String(32), nullable=False),
        sa.Column("dedupe_key", sa.String(120), nullable=True, unique=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("read_at", TZ, nullable=True),
        sa.Column("emailed_at", TZ, nullable=True),
    )
    op.create_index("ix_notifications_recipient", "notifications", ["organization_code", "username"])
    with op.batch_alter_table("grants") as batch:
        batch.add_column(sa.Column("application_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("agreement_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("cancellation_requested_at", TZ, nullable=True))
        batch.add_column(sa.Column("cancellation_reason", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("ended_as", sa.String(16), nullable=True))
        batch.add_column(sa.Column("ended_at", TZ, nullable=True))
        batch.add_column(sa.Column("destroyed_at", TZ, nullable=True))
        batch.add_column(sa.Column("retain_audit_until", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("grants") as batch:
        for col in ("retain_audit_until", "destroyed_at", "ended_at", "ended_as", "cancellation_reason",
                    "cancellation_requested_at", "agreement_id", "application_id"):
            batch.drop_column(col)
    for table in ("notifications", "data_requests", "exam_attempts", "exam_questions", "staff_records",
                  "emergency_plans", "agreements", "lifecycle_events", "objections", "expert_reviews",
                  "application_materials", "applications", "announcements"):
        op.drop_table(table)
