"""Tables of the authorization process (授权程序, rules 三), the agreement, safe people (四.(一), 四.(四)),
data requests (四.(二)), emergency plans (六.(二)) and notifications.

Structured parts of an application (scenarios, data requirement list, expert scores) are JSON text: they
are read and written as a whole, and are part of what the agreement document is generated from.
``lifecycle_events`` is the timeline of each application and grant (who, when, from → to, why); the
audit log holds the same facts, hash-chained.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opdomain.store.db import Base, new_id, utcnow


class Announcement(Base):
    """发布公告 (R3.1): priority domain areas, conditions and the application window."""

    __tablename__ = "announcements"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(String(200))
    #: JSON list of domain areas
    domain_areas: Mapped[str] = mapped_column(Text)
    conditions: Mapped[str] = mapped_column(Text, default="")
    opens_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Application(Base):
    """An operator's application (授权申请) and its way through the nine steps (machine.ApplicationState)."""

    __tablename__ = "applications"
    __table_args__ = (Index("ix_applications_operator_id", "operator_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    announcement_id: Mapped[str] = mapped_column(ForeignKey("announcements.id"))
    operator_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    state: Mapped[str] = mapped_column(String(24))
    state_reason: Mapped[str] = mapped_column(Text, default="")
    #: JSON list of {name, domain_area, goals, plan, security_measures}
    scenarios: Mapped[str] = mapped_column(Text)
    #: JSON list of {dataset, columns: {column: purpose}}
    requirements: Mapped[str] = mapped_column(Text)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    pricing_mode: Mapped[str] = mapped_column(String(24))
    fees: Mapped[str] = mapped_column(Text, default="")
    k: Mapped[int] = mapped_column(Integer, default=10)
    consent_subjects: Mapped[str] = mapped_column(Text, default="[]")
    #: the grant this application renews (续期), if any
    renewal_of: Mapped[str | None] = mapped_column(String(32), nullable=True)
    #: pre-review: the one-time notice (JSON list of missing kinds), its date and the deadline
    notice_missing: Mapped[str | None] = mapped_column(Text, nullable=True)
    notice_given_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    resubmit_by: Mapped[date | None] = mapped_column(Date, nullable=True)
    expert_conclusion: Mapped[str] = mapped_column(Text, default="")
    decision_reasons: Mapped[str] = mapped_column(Text, default="")
    publicity_starts_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    publicity_ends_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    filing_reference: Mapped[str] = mapped_column(String(200), default="")
    filed_with: Mapped[str] = mapped_column(String(200), default="")
    agreement_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    grant_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApplicationMaterial(Base):
    """One uploaded material (R3.2) with its SHA-256 and SM3 digests; the file stays in the domain."""

    __tablename__ = "application_materials"
    __table_args__ = (Index("ix_application_materials_application_id", "application_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"))
    kind: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    sm3: Mapped[str] = mapped_column(String(64))
    #: path under the data directory
    path: Mapped[str] = mapped_column(String(400))
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ExpertReview(Base):
    """One expert's assignment and review (R3.4): conflict declaration, three scores, opinion."""

    __tablename__ = "expert_reviews"
    __table_args__ = (Index("ix_expert_reviews_application_id", "application_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"))
    expert: Mapped[str] = mapped_column(String(64))
    assigned_by: Mapped[str] = mapped_column(String(64))
    #: pending | submitted | recused
    status: Mapped[str] = mapped_column(String(16), default="pending")
    conflict_declared: Mapped[bool] = mapped_column(Boolean, default=False)
    conflict_note: Mapped[str] = mapped_column(Text, default="")
    #: JSON {security, credit, technical}
    scores: Mapped[str] = mapped_column(Text, default="{}")
    opinion: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Objection(Base):
    """An objection during publicity (R3.6) and its answer."""

    __tablename__ = "objections"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"))
    objector: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    answered_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class LifecycleEvent(Base):
    """One step of an application's or grant's timeline."""

    __tablename__ = "lifecycle_events"
    __table_args__ = (Index("ix_lifecycle_events_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: application | grant
    subject_type: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str] = mapped_column(String(24), default="")
    to_state: Mapped[str] = mapped_column(String(24), default="")
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[str] = mapped_column(Text, default="{}")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Agreement(Base):
    """The sealed agreement (运营协议, R3.8): the document files and the contract seal's signature."""

    __tablename__ = "agreements"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"))
    #: SHA-256 of the signed payload (the documents and their metadata)
    digest: Mapped[str] = mapped_column(String(64))
    algorithm: Mapped[str] = mapped_column(String(16))
    key_id: Mapped[str] = mapped_column(String(32))
    signature: Mapped[str] = mapped_column(Text)
    #: paths under the data directory: the sealed envelope, and the HTML / PDF for reading
    sealed_path: Mapped[str] = mapped_column(String(400))
    html_path: Mapped[str] = mapped_column(String(400))
    pdf_path: Mapped[str] = mapped_column(String(400))
    sealed_by: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EmergencyPlan(Base):
    """一授权一预案 (R6.2b): the plan of one application/grant, with its digest; drills as JSON."""

    __tablename__ = "emergency_plans"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"))
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    #: JSON list of {held_on, note}
    drills: Mapped[str] = mapped_column(Text, default="[]")
    filed_by: Mapped[str] = mapped_column(String(64))
    filed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StaffRecord(Base):
    """Safe people (R4.1, R4.4b): one person's verification, exam, confidentiality agreement, departure.

    For experts, ``affiliation`` is the code of the organization they work for (conflicts, R3.4).
    """

    __tablename__ = "staff_records"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    real_name_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    real_name_verified_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    exam_passed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    exam_score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    exam_attempt_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    exam_valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    confidentiality_signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    confidentiality_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    left_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    affiliation: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ExamQuestion(Base):
    """The authority's question bank of the training exam (岗前培训考核, R4.1)."""

    __tablename__ = "exam_questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(Text)
    #: JSON list of choices
    choices: Mapped[str] = mapped_column(Text)
    answer: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(64))


class ExamAttempt(Base):
    """One sitting of the exam: which questions, the answers, the score, pass or fail."""

    __tablename__ = "exam_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    #: JSON {question_id: answer}
    answers: Mapped[str] = mapped_column(Text)
    score: Mapped[int] = mapped_column(Integer)
    passed: Mapped[bool] = mapped_column(Boolean)
    taken_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DataRequest(Base):
    """数据需求申请 (R4.2a): columns of one dataset requested in an active grant, reviewed by its provider."""

    __tablename__ = "data_requests"
    __table_args__ = (Index("ix_data_requests_grant_id", "grant_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    grant_id: Mapped[str] = mapped_column(ForeignKey("grants.id"))
    dataset: Mapped[str] = mapped_column(String(128))
    #: JSON {column: purpose}
    columns: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: pending | approved | rejected
    status: Mapped[str] = mapped_column(String(16), default="pending")
    #: JSON list of the columns approved (a subset of the request)
    approved: Mapped[str] = mapped_column(Text, default="[]")
    reviewed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    review_note: Mapped[str] = mapped_column(Text, default="")
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Notification(Base):
    """An in-app notification to a user or an organization (deadlines of the process)."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_recipient", "organization_code", "username"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str | None] = mapped_column(String(64), nullable=True)
    organization_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    kind: Mapped[str] = mapped_column(String(32))
    message_zh: Mapped[str] = mapped_column(Text)
    message_en: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    object_type: Mapped[str] = mapped_column(String(16), default="")
    object_id: Mapped[str] = mapped_column(String(32), default="")
    #: a key that makes a repeated reminder (the daily tick) idempotent
    dedupe_key: Mapped[str | None] = mapped_column(String(120), nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    emailed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
