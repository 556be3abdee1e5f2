"""Tables of the airlock (出域审核): declared per-subject output shapes, frozen files, release requests,
their files, reviewers' reviews and votes; and the OpenLineage events of jobs and releases.

Rules 一.(六) R1.6b (compliance review before products are provided), 四.(四) R4.4a, 五.(一) R5.1a/R5.1b.
Frozen files are named by their SHA-256 and stored encrypted; a vote names the digest it approved.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from opdomain.store.db import Base, new_id, utcnow


class DeclaredOutput(Base):
    """A per-subject output shape the grant's agreement declares (e.g. the rating list: uscc, category,
    grade, one row per enterprise). Without one, a per-subject output never leaves (R4.2b)."""

    __tablename__ = "declared_outputs"
    __table_args__ = (UniqueConstraint("grant_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    grant_id: Mapped[str] = mapped_column(ForeignKey("grants.id"))
    name: Mapped[str] = mapped_column(String(100))
    subject_type: Mapped[str] = mapped_column(String(16))
    #: JSON list of the columns, the subject key first
    columns: Mapped[str] = mapped_column(Text)
    declared_by: Mapped[str] = mapped_column(String(64))
    declared_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AirlockFile(Base):
    """A frozen copy of a releasable output, named by its digest, encrypted at rest."""

    __tablename__ = "airlock_files"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    grant_id: Mapped[str] = mapped_column(ForeignKey("grants.id"))
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"))
    output_name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    #: path under the data directory
    file: Mapped[str] = mapped_column(String(300))
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    #: JSON: how it was derived from the job's output (e.g. rows of non-consenting subjects removed)
    derivation: Mapped[str] = mapped_column(Text, default="{}")
    frozen_by: Mapped[str] = mapped_column(String(64))
    frozen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReleaseRequest(Base):
    """A release request (出域申请): outputs the analyst asks to let out, with context and controls."""

    __tablename__ = "release_requests"
    __table_args__ = (Index("ix_release_requests_grant_id", "grant_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    grant_id: Mapped[str] = mapped_column(ForeignKey("grants.id"))
    title: Mapped[str] = mapped_column(String(200))
    author: Mapped[str] = mapped_column(String(64))
    #: the organization that receives the release (a consumer, or the operator itself)
    recipient: Mapped[str] = mapped_column(String(64))
    product_name: Mapped[str] = mapped_column(String(200))
    product_type: Mapped[str] = mapped_column(String(32))
    #: RequestStatus
    status: Mapped[str] = mapped_column(String(16))
    #: review round: a resubmission after "returned" starts a new round
    round: Mapped[int] = mapped_column(Integer, default=1)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    release_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RequestFile(Base):
    """One file of a release request: the frozen file, its declared kind, context and disclosure
    controls, and the automated checks' report."""

    __tablename__ = "release_request_files"
    __table_args__ = (UniqueConstraint("request_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("release_requests.id"))
    airlock_file_id: Mapped[str] = mapped_column(ForeignKey("airlock_files.id"))
    #: the name it is released under
    name: Mapped[str] = mapped_column(String(200))
    #: table | per_subject | model | report | figure
    kind: Mapped[str] = mapped_column(String(16))
    context: Mapped[str] = mapped_column(Text)
    controls: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    #: JSON CheckReport
    report: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Review(Base):
    """One reviewer's review of one round: independent until both reviewers submitted theirs."""

    __tablename__ = "release_reviews"
    __table_args__ = (UniqueConstraint("request_id", "round", "reviewer"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("release_requests.id"))
    round: Mapped[int] = mapped_column(Integer)
    reviewer: Mapped[str] = mapped_column(String(64))
    submitted: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Vote(Base):
    """A reviewer's current vote on one file, bound to the digest voted on (any change voids it)."""

    __tablename__ = "release_votes"
    __table_args__ = (UniqueConstraint("file_id", "round", "reviewer"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("release_requests.id"))
    file_id: Mapped[str] = mapped_column(ForeignKey("release_request_files.id"))
    round: Mapped[int] = mapped_column(Integer)
    reviewer: Mapped[str] = mapped_column(String(64))
    #: approve | changes
    vote: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, default="")
    sha256: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LineageEvent(Base):
    """An OpenLineage run event (JSON, spec 2-0-2) of a job action or a release."""

    __tablename__ = "lineage_events"
    __table_args__ = (Index("ix_lineage_events_run_id", "run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(36))
    job_name: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(16))
    grant_id: Mapped[str] = mapped_column(String(32))
    #: the job or release this run belongs to
    subject: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
