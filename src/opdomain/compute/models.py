"""Tables of governed computation: dev-data builds, the query log and the differencing history.

Rules 四.(四) R4.4c (every operation recorded and reviewable) and R4.4d (dev data).
``queries`` is the workspace's history page: one row per query, accepted or refused, with its SQL
(the analyst's own text) but never a result value. ``query_history`` holds what the differencing
check compares a new query with (JSON entries of the analyser's ``HistoryEntry``), accepted domain
queries only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opdomain.store.db import Base, new_id, utcnow


class DevBuild(Base):
    """One build of a grant's dev copy (开发环境数据): sampled, masked, encrypted with its own key."""

    __tablename__ = "dev_builds"
    __table_args__ = (Index("ix_dev_builds_grant_id", "grant_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    grant_id: Mapped[str] = mapped_column(ForeignKey("grants.id"))
    #: building | ready | failed | superseded
    status: Mapped[str] = mapped_column(String(16))
    built_by: Mapped[str] = mapped_column(String(64))
    #: the data key of this build's files, wrapped by the master key ("grant:<id>:dev:<build>"); None once shredded
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    cipher: Mapped[str] = mapped_column(String(16))
    #: JSON: {"sample": {...}, "tables": {dataset: {"file", "rows", "sha256", "source_version", "masks"}}}
    manifest: Mapped[str] = mapped_column(Text, default="{}")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class QueryRecord(Base):
    """One governed query as the workspace's history shows it."""

    __tablename__ = "queries"
    __table_args__ = (Index("ix_queries_grant_id_at", "grant_id", "at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    grant_id: Mapped[str] = mapped_column(String(32))
    username: Mapped[str] = mapped_column(String(64))
    #: dev | domain
    environment: Mapped[str] = mapped_column(String(8))
    sql: Mapped[str] = mapped_column(Text)
    sql_sha256: Mapped[str] = mapped_column(String(64))
    #: ok | refused | failed
    status: Mapped[str] = mapped_column(String(16))
    refusal_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    ms: Mapped[int] = mapped_column(Integer, default=0)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class QueryHistoryEntry(Base):
    """An accepted domain query, as the differencing check needs it (JSON of ``HistoryEntry``)."""

    __tablename__ = "query_history"
    __table_args__ = (Index("ix_query_history_grant_id", "grant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    grant_id: Mapped[str] = mapped_column(String(32))
    query_id: Mapped[str] = mapped_column(String(32))
    entry: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
