"""Reading the audit log: search for auditors (rules 五.(一) R5.1b; read-only by construction)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from opdomain.audit.models import AuditRecord
from opdomain.store.db import Store


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    outcome: str | None = None
    grant_id: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_seq: int | None = None
    limit: int = 100


def search(store: Store, f: AuditFilter) -> list[AuditRecord]:
    """Newest first; ``before_seq`` pages backwards."""
    stmt = select(AuditRecord)
    if f.actor:
        stmt = stmt.where(AuditRecord.actor == f.actor)
    if f.action:
        stmt = stmt.where(AuditRecord.action.startswith(f.action, autoescape=True))
    if f.outcome:
        stmt = stmt.where(AuditRecord.outcome == f.outcome)
    if f.grant_id:
        stmt = stmt.where(AuditRecord.grant_id == f.grant_id)
    if f.object_id:
        stmt = stmt.where(AuditRecord.object_id.contains(f.object_id, autoescape=True))
    if f.since:
        stmt = stmt.where(AuditRecord.at >= f.since.replace(tzinfo=None))
    if f.until:
        stmt = stmt.where(AuditRecord.at < f.until.replace(tzinfo=None))
    if f.before_seq:
        stmt = stmt.where(AuditRecord.seq < f.before_seq)
    stmt = stmt.order_by(AuditRecord.seq.desc()).limit(max(1, min(f.limit, 1000)))
    with store.session() as s:
        return list(s.scalars(stmt))


def count(store: Store) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(AuditRecord)) or 0)
