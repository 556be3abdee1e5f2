"""Table of jobs (作业): a declared pipeline of actions run on dev data or, inside the domain, on real data.

Rules 四.(四) R4.4c (every operation recorded; raw data invisible to processing staff) and R4.4a (nothing
leaves but through the airlock). A job keeps the exact definition and code that ran (``definition``,
``code_digest``) and what it produced (``outputs``: name → label, size, digest — never a value). Outputs of
domain runs are stored encrypted with the job's own data key; the analyst never reads them directly.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opdomain.store.db import Base, new_id, utcnow


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_submitted_at", "status", "submitted_at"),
                      Index("ix_jobs_grant_id", "grant_id"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    grant_id: Mapped[str] = mapped_column(ForeignKey("grants.id"))
    name: Mapped[str] = mapped_column(String(100))
    #: dev (the grant's sampled, masked copy) | domain (real data, inside the domain)
    environment: Mapped[str] = mapped_column(String(8))
    #: JobStatus: queued | running | succeeded | failed | cancelled
    status: Mapped[str] = mapped_column(String(16))
    #: canonical JSON of the definition, scripts included (the exact code that runs)
    definition: Mapped[str] = mapped_column(Text)
    code_digest: Mapped[str] = mapped_column(String(64))
    submitted_by: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    worker: Mapped[str] = mapped_column(String(100), default="")
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    error_code: Mapped[str] = mapped_column(String(64), default="")
    #: the job's log as the analyst sees it: the platform's lines, and the script's own output on dev runs only
    log: Mapped[str] = mapped_column(Text, default="")
    #: JSON: dataset → version of the inputs materialised
    inputs: Mapped[str] = mapped_column(Text, default="{}")
    #: JSON: output name → {action, label, kind, file, size, sha256}
    outputs: Mapped[str] = mapped_column(Text, default="{}")
    #: the job's output data key, wrapped by the master key ("job:<id>:outputs")
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
