"""Tables of grants (授权), their granted columns, and the consent registry (个人/企业授权).

Rules 三.(九) R3.9a (term), 一.(一) R1.1c (forbidden data never granted), 四.(二) R4.2b and 五.(一) R5.1a
(consent). The consent registry is append-only: a withdrawal is a new row, the current state of a
subject's consent is its latest row.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opdomain.identity.models import Organization
from opdomain.store.db import Base, new_id, utcnow


class Grant(Base):
    """An active authorization (授权) of one operator for one scenario, with its term and columns."""

    __tablename__ = "grants"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    operator_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    #: the application scenario (应用场景), e.g. "泵阀共富贷融资能力评价"
    scenario: Mapped[str] = mapped_column(String(200))
    #: priority domain area (R1.6a), e.g. 普惠金融
    domain_area: Mapped[str] = mapped_column(String(32))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    #: machine.GrantStatus: active | suspended | sealed | renewing | expired | cancelled | revoked | destroyed
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str] = mapped_column(Text, default="")
    #: minimum distinct data subjects per output group of the analysis rule
    k: Mapped[int] = mapped_column(Integer, default=10)
    #: JSON list of subject types whose rows are used only with consent, e.g. ["enterprise"]
    consent_subjects: Mapped[str] = mapped_column(Text, default="[]")
    #: the grant's pseudonym key, only ever stored wrapped by the master key ("grant:<id>:pseudonym")
    wrapped_pseudonym_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: the application (授权程序) the grant came from; None only for a bootstrap grant (tests, fixtures)
    application_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    agreement_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    #: the operator's request for early cancellation (R3.9c)
    cancellation_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    cancellation_reason: Mapped[str] = mapped_column(Text, default="")
    #: how the grant ended (expired | cancelled | revoked), when, and when its data was destroyed
    ended_as: Mapped[str | None] = mapped_column(String(16), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    destroyed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: R3.9d: the audit log of the grant is kept at least until this day
    retain_audit_until: Mapped[date | None] = mapped_column(Date, nullable=True)

    operator: Mapped[Organization] = relationship(lazy="joined")
    columns: Mapped[list[GrantColumn]] = relationship(
        back_populates="grant", order_by="GrantColumn.id", cascade="all, delete-orphan", lazy="selectin"
    )


class GrantColumn(Base):
    """One column of one dataset approved by a grant.

    ``visible`` is False for a subject column the analyst did not ask for: it is kept so the
    analysis rule can count distinct data subjects, but it is never shown.
    """

    __tablename__ = "grant_columns"
    __table_args__ = (UniqueConstraint("grant_id", "dataset_name", "column_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    grant_id: Mapped[str] = mapped_column(ForeignKey("grants.id"))
    dataset_name: Mapped[str] = mapped_column(String(128))
    column_name: Mapped[str] = mapped_column(String(64))
    visible: Mapped[bool] = mapped_column(Boolean, default=True)

    grant: Mapped[Grant] = relationship(back_populates="columns")


class ConsentEvent(Base):
    """One act of consent or withdrawal by a data subject (append-only; the latest row is current)."""

    __tablename__ = "consent_events"
    __table_args__ = (
        Index("ix_consent_events_scope", "scenario", "operator_code", "subject_type"),
        Index("ix_consent_events_subject_digest", "subject_digest"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: person | enterprise
    subject_type: Mapped[str] = mapped_column(String(16))
    #: the resident ID or credit code; kept inside the domain for the engine's row filter
    subject_id: Mapped[str] = mapped_column(String(32))
    #: SHA-256 of the subject id: what audit records and lists name instead of the id
    subject_digest: Mapped[str] = mapped_column(String(64))
    scenario: Mapped[str] = mapped_column(String(200))
    operator_code: Mapped[str] = mapped_column(String(64))
    #: granted | withdrawn
    action: Mapped[str] = mapped_column(String(16))
    #: how it was given: counter | online | paper | api | batch
    channel: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# the tables of the authorization process live beside these (one metadata)
from opdomain.lifecycle import models_process  # noqa: E402, F401
