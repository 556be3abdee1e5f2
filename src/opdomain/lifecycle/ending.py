"""Ending a grant (授权终止, rules 三.(九) R3.9a/c/d): expiry, early cancellation, revocation — then
destruction of its data (销毁) by crypto-shredding; and the daily tick.

On any end, in this order:

1. the grant's status changes (one transaction with its timeline and audit record): from that moment
   every workspace check refuses (``check_workspace_access`` reads the status on each access);
2. the domain event ``grant.ended`` is published (``rt.publish("grant.ended", grant_id=, reason=)``) so
   that higher slices stop its running jobs and disable its products' API keys — the lifecycle never
   imports them;
3. ``destroy``: every key held for the grant is deleted — its pseudonym key, and by convention every
   ``wrapped_key`` column of a table that has a ``grant_id`` column (dev-data builds today, any later
   slice's grant-scoped keys tomorrow) — then its files under ``data/grants/<id>/`` and
   ``work/grants/<id>/`` are removed. Without the keys, any copy of the ciphertext left anywhere is
   unreadable for good.

The audit log is never touched: ``retain_audit_until`` records the end + ``audit_retention_days``
(≥ 183 days, configurable upward only — Settings refuses less).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from opdomain.audit.log import SYSTEM, ActorLike
from opdomain.errors import DomainError, PermissionDenied
from opdomain.identity.service import Principal, authorize
from opdomain.lifecycle import grants, machine
from opdomain.lifecycle import messages_process as pmsg
from opdomain.lifecycle import policy_process as rules
from opdomain.lifecycle.models import Grant
from opdomain.lifecycle.models_process import Application
from opdomain.lifecycle.notifications import notify
from opdomain.runtime import Runtime
from opdomain.store.db import utcnow


@dataclass(frozen=True)
class Shredded:
    keys: int
    files: int
    tables: tuple[str, ...]


def _grant_key_tables(s: Session) -> list[str]:
    """Tables with both ``grant_id`` and ``wrapped_key`` columns (the crypto-shredding convention)."""
    insp = inspect(s.connection())
    out = []
    for table in insp.get_table_names():
        cols = {c["name"] for c in insp.get_columns(table)}
        if {"grant_id", "wrapped_key"} <= cols:
            out.append(table)
    return sorted(out)


def _shred_keys(s: Session, grant: Grant) -> tuple[int, tuple[str, ...]]:
    count = 1 if grant.wrapped_pseudonym_key is not None else 0
    grant.wrapped_pseudonym_key = None
    tables = tuple(_grant_key_tables(s))
    for table in tables:
        quoted = s.connection().dialect.identifier_preparer.quote(table)
        result = s.execute(text(f"UPDATE {quoted} SET wrapped_key = NULL "  # noqa: S608 (names from the schema)
                                "WHERE grant_id = :g AND wrapped_key IS NOT NULL"), {"g": grant.id})
        count += result.rowcount or 0  # type: ignore[attr-defined]
    return count, tables


def _remove_files(rt: Runtime, grant_id: str) -> int:
    removed = 0
    for root in (rt.settings.data_dir / "grants" / grant_id, rt.settings.work_dir / "grants" / grant_id):
        if root.exists():
            removed += sum(1 for p in root.rglob("*") if p.is_file())
            shutil.rmtree(root, ignore_errors=True)
    return removed


def _end(rt: Runtime, actor: ActorLike, grant_id: str, how: str, reason: str, today: date,
         extra_check: Any = None) -> grants.GrantView:
    action = f"grant.{how}"
    t = machine.GRANT_BY_NAME[how]
    if isinstance(actor, Principal) and t.permission != "system":
        authorize(rt, actor, t.permission, object_type="grant", object_id=grant_id)
    try:
        with rt.store.session() as s:
            g = grants._load(s, grant_id)
            if extra_check is not None:
                extra_check(g)
            grants.transition(rt, actor, grant_id, how, reason=reason, session=s,  # type: ignore[arg-type]
                              check_permission=False, details={"ended_on": today.isoformat()})
            g.ended_as, g.ended_at = t.target, utcnow()
            g.retain_audit_until = today + timedelta(days=rt.settings.audit_retention_days)
            operator = g.operator.code
    except DomainError as exc:
        rt.audit.record_refusal(actor, action, "grant", grant_id, reason=exc.code, grant_id=grant_id,
                                details={"rule": exc.details.get("rule", ""), "message_en": exc.message.en})
        raise
    try:
        rt.publish("grant.ended", grant_id=grant_id, reason=how)
    except Exception as exc:  # a subscriber's failure must not keep the data alive
        with rt.store.session() as s:
            rt.audit.record(s, actor, "grant.ended_handler", "grant", grant_id, outcome="failed",
                            reason=type(exc).__name__, grant_id=grant_id)
    view = destroy(rt, grant_id, reason=how)
    with rt.store.session() as s:
        notify(s, kind="grant_ended", organization_code=operator, object_type="grant", object_id=grant_id,
               message=pmsg.NOTIFY_ENDED.format(id=grant_id[:8], reason=how))
    return view


def destroy(rt: Runtime, grant_id: str, *, reason: str) -> grants.GrantView:
    """销毁: deletes every key of the grant (crypto-shredding) and its files; records are kept."""
    with rt.store.session() as s:
        g = grants._load(s, grant_id)
        machine.check_grant_transition(g.status, "destroy")
        count, tables = _shred_keys(s, g)
        g.destroyed_at = utcnow()
        view = grants.transition(rt, SYSTEM, grant_id, "destroy", reason=reason, session=s,  # type: ignore[arg-type]
                                 details={"keys_destroyed": count, "key_tables": list(tables)})
    files = _remove_files(rt, grant_id)
    with rt.store.session() as s:
        rt.audit.record(s, SYSTEM, "grant.files_removed", "grant", grant_id, grant_id=grant_id,
                        details={"files": files, "rule": "R3.9d"})
    return view


def expire(rt: Runtime, grant_id: str, *, today: date | None = None, actor: ActorLike = SYSTEM) -> grants.GrantView:
    """到期 (R3.9a): only after the last day of the term."""
    today = today or date.today()
    return _end(rt, actor, grant_id, "expire", "term ended", today,
                extra_check=lambda g: rules.check_due(g.ends_on, today))


def request_cancellation(rt: Runtime, principal: Principal, grant_id: str, *, reason: str) -> grants.GrantView:
    """提前注销申请 (R3.9c): the operator asks the authority to end its grant early."""
    authorize(rt, principal, "grant.request_cancellation", object_type="grant", object_id=grant_id)
    try:
        rules.check_reasons(reason)
        with rt.store.session() as s:
            g = grants._load(s, grant_id)
            if g.operator.code != principal.organization_code:
                raise PermissionDenied("grant.other_operator", pmsg.OWN_APPLICATION_ONLY)
            machine.check_grant_transition(g.status, "cancel")
            g.cancellation_requested_at, g.cancellation_reason = utcnow(), reason
            from opdomain.lifecycle.applications import _event

            _event(s, "grant", grant_id, "request_cancellation", principal, g.status, g.status, reason=reason,
                   details={"rule": "R3.9c"})
            rt.audit.record(s, principal, "grant.request_cancellation", "grant", grant_id, grant_id=grant_id,
                            reason=reason, details={"rule": "R3.9c"})
            s.flush()
        return grants.load_grant(rt, grant_id)
    except DomainError as exc:
        rt.audit.record_refusal(principal, "grant.request_cancellation", "grant", grant_id, reason=exc.code,
                                grant_id=grant_id)
        raise


def cancel(rt: Runtime, principal: Principal, grant_id: str, *, reason: str,
           today: date | None = None) -> grants.GrantView:
    """提前注销 (R3.9c): the authority executes the operator's request."""
    def needs_request(g: Grant) -> None:
        if g.cancellation_requested_at is None:
            raise DomainError("grant.cancellation_not_requested", pmsg.CANCELLATION_NOT_REQUESTED, status=409,
                              details={"rule": "R3.9c"})

    return _end(rt, principal, grant_id, "cancel", reason, today or date.today(), extra_check=needs_request)


def revoke(rt: Runtime, principal: Principal, grant_id: str, *, reason: str,
           today: date | None = None) -> grants.GrantView:
    """撤销 (R3.9d): the authority ends the grant (e.g. an unqualified security assessment)."""
    def needs_reason(g: Grant) -> None:
        rules.check_reasons(reason)

    return _end(rt, principal, grant_id, "revoke", reason, today or date.today(), extra_check=needs_reason)


def expire_due(rt: Runtime, today: date | None = None, *, actor: ActorLike = SYSTEM) -> list[str]:
    """Expires every live grant whose term is over (the server's periodic task and ``lifecycle tick``)."""
    today = today or date.today()
    with rt.store.session() as s:
        due = list(s.scalars(select(Grant.id).where(Grant.status.in_(sorted(machine.OPEN_GRANT_STATES |
                                                                               {"suspended", "sealed"})),
                                                    Grant.ends_on < today)))
    for gid in due:
        expire(rt, gid, today=today, actor=actor)
    return due


def warn_renewals(rt: Runtime, today: date) -> int:
    """In-app reminders of the renewal deadline (R3.9b), from 60 days before it until it passes."""
    sent = 0
    with rt.store.session() as s:
        for g in s.scalars(select(Grant).where(Grant.status == "active")):
            deadline = rules.renewal_deadline(g.ends_on)
            if rules.renewal_warning_from(g.ends_on) <= today <= deadline:
                notify(s, kind="renewal_window", organization_code=g.operator.code, due_on=deadline,
                       object_type="grant", object_id=g.id, dedupe_key=f"renewal:{g.id}:{g.ends_on.isoformat()}",
                       message=pmsg.NOTIFY_RENEWAL.format(id=g.id[:8], ends_on=g.ends_on.isoformat(),
                                                          due=deadline.isoformat()))
                sent += 1
    return sent


def lapse_overdue(rt: Runtime, today: date, *, actor: ActorLike = SYSTEM) -> list[str]:
    """Applications whose resubmission deadline passed without the missing materials: rejected (R3.3)."""
    from opdomain.lifecycle import applications

    with rt.store.session() as s:
        overdue = [a.id for a in s.scalars(select(Application).where(Application.state == "materials_requested"))
                   if rules.can_lapse(a.resubmit_by, today)]
    for app_id in overdue:
        applications.reject(rt, actor, app_id, reasons="补交材料逾期 resubmission deadline passed (R3.3)")
    return overdue


@dataclass(frozen=True)
class TickResult:
    expired: list[str]
    lapsed: list[str]
    renewal_warnings: int
    emailed: int


def tick(rt: Runtime, today: date | None = None, *, actor: ActorLike = SYSTEM) -> TickResult:
    """The daily duties of the lifecycle: expiry, lapsed corrections, renewal reminders, e-mail."""
    from opdomain.lifecycle.notifications import deliver_pending

    today = today or date.today()
    expired = expire_due(rt, today, actor=actor)
    lapsed = lapse_overdue(rt, today, actor=actor)
    warnings = warn_renewals(rt, today)
    return TickResult(expired, lapsed, warnings, deliver_pending(rt))
