"""Consent registry (个人/企业授权, rules 四.(二) R4.2b and 五.(一) R5.1a).

A data subject — a person by resident ID (GB 11643) or an enterprise by unified social credit code
(GB 32100) — consents to the use of its data for a named scenario by a named operator, and may withdraw.
Every act is a new row (who recorded it, when, through which channel); nothing is updated, so the full
history stays; the current state of a subject is its latest row. The governed-query engine reads
:func:`consenting_subjects` and filters rows to them: consent is enforced by the engine, not by the
analyst's good will.

Audit records name counts and SHA-256 digests of subject ids, never an identifier in clear.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opdomain.errors import Conflict, DomainError, InvalidInput, NotFound
from opdomain.identity.models import Organization
from opdomain.identity.service import Principal, authorize
from opdomain.lifecycle import messages as msg
from opdomain.lifecycle import policy
from opdomain.lifecycle.models import ConsentEvent
from opdomain.privacy.identifiers import is_valid_credit_code, is_valid_resident_id
from opdomain.runtime import Runtime

CHANNELS: tuple[str, ...] = ("counter", "online", "paper", "api", "batch")
GRANTED, WITHDRAWN = "granted", "withdrawn"


@dataclass(frozen=True)
class ConsentView:
    subject_type: str
    #: the identifier shown masked (e.g. 330324********1234); the digest identifies it
    subject_masked: str
    subject_digest: str
    scenario: str
    operator_code: str
    action: str
    channel: str
    note: str
    recorded_by: str
    recorded_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"subject_type": self.subject_type, "subject": self.subject_masked,
                "subject_digest": self.subject_digest, "scenario": self.scenario, "operator": self.operator_code,
                "action": self.action, "channel": self.channel, "note": self.note,
                "recorded_by": self.recorded_by, "recorded_at": self.recorded_at.isoformat()}


@dataclass(frozen=True)
class BatchResult:
    recorded: int
    unchanged: int
    #: SHA-256 over the sorted digests of the subjects recorded (what the audit record names)
    digest: str


def subject_digest(subject_id: str) -> str:
    return hashlib.sha256(subject_id.encode()).hexdigest()


def _mask(subject_id: str) -> str:
    return subject_id[:6] + "*" * max(0, len(subject_id) - 10) + subject_id[-4:] if len(subject_id) > 10 else "***"


def normalise_subject(subject_type: str, subject_id: str) -> str:
    """Validates and normalises a subject id (upper case): a resident ID for a person, a credit code
    for an enterprise."""
    policy.check_subject_types([subject_type])
    value = (subject_id or "").strip().upper()
    if subject_type == "person" and not is_valid_resident_id(value):
        raise InvalidInput("consent.bad_resident_id", msg.BAD_RESIDENT_ID)
    if subject_type == "enterprise" and not is_valid_credit_code(value):
        raise InvalidInput("consent.bad_credit_code", msg.BAD_CREDIT_CODE)
    return value


def _check_scope(s: Session, scenario: str, operator_code: str, channel: str) -> None:
    if not scenario or not scenario.strip():
        raise InvalidInput("consent.scenario_required", msg.SCENARIO_REQUIRED)
    if channel not in CHANNELS:
        raise InvalidInput("consent.bad_channel", msg.BAD_CHANNEL.format(value=channel, choices=", ".join(CHANNELS)))
    org = s.scalar(select(Organization).where(Organization.code == operator_code))
    if org is None:
        raise NotFound("consent.unknown_operator", msg.UNKNOWN_OPERATOR.format(code=operator_code))
    if org.kind != "operator":
        raise InvalidInput("consent.not_an_operator", msg.NOT_AN_OPERATOR.format(code=operator_code))


def _current(s: Session, subject_type: str, subject_ids: Iterable[str], scenario: str,
             operator_code: str) -> dict[str, str]:
    """subject id → its latest action, for the given subjects in one scope."""
    digests = {subject_digest(i): i for i in subject_ids}
    out: dict[str, str] = {}
    items = list(digests)
    for start in range(0, len(items), 500):
        rows = s.execute(
            select(ConsentEvent.subject_id, ConsentEvent.action)
            .where(ConsentEvent.subject_type == subject_type, ConsentEvent.scenario == scenario,
                   ConsentEvent.operator_code == operator_code,
                   ConsentEvent.subject_digest.in_(items[start:start + 500]))
            .order_by(ConsentEvent.id))
        for sid, action in rows:
            out[sid] = action
    return out


def _record(rt: Runtime, principal: Principal, action: str, *, subject_type: str, subject_ids: Iterable[str],
            scenario: str, operator_code: str, channel: str, note: str, strict: bool) -> BatchResult:
    authorize(rt, principal, "consent.manage", object_type="consent", object_id=scenario)
    audit_action = "consent.grant" if action == GRANTED else "consent.withdraw"
    scope = {"subject_type": subject_type, "scenario": scenario, "operator": operator_code, "channel": channel}
    try:
        ids = list(dict.fromkeys(normalise_subject(subject_type, i) for i in subject_ids))
        with rt.store.session() as s:
            _check_scope(s, scenario, operator_code, channel)
            current = _current(s, subject_type, ids, scenario, operator_code)
            todo = [i for i in ids if (current.get(i) == GRANTED) != (action == GRANTED)]
            if strict and not todo:
                raise Conflict("consent.already_given" if action == GRANTED else "consent.not_given",
                               msg.CONSENT_ALREADY if action == GRANTED else msg.CONSENT_NOT_GIVEN)
            digests = sorted(subject_digest(i) for i in todo)
            for i in todo:
                s.add(ConsentEvent(subject_type=subject_type, subject_id=i, subject_digest=subject_digest(i),
                                   scenario=scenario, operator_code=operator_code, action=action, channel=channel,
                                   note=note, recorded_by=principal.username))
            batch = hashlib.sha256("\n".join(digests).encode()).hexdigest()
            details: dict[str, Any] = {**scope, "count": len(todo), "unchanged": len(ids) - len(todo),
                                       "digest": batch}
            if len(digests) == 1:
                details["subject_digest"] = digests[0]
            rt.audit.record(s, principal, audit_action, "consent", scenario, details=details)
            return BatchResult(len(todo), len(ids) - len(todo), batch)
    except DomainError as exc:
        rt.audit.record_refusal(principal, audit_action, "consent", scenario, reason=exc.code, details=scope)
        raise


def record_consent(rt: Runtime, principal: Principal, *, subject_type: str, subject_id: str, scenario: str,
                   operator_code: str, channel: str = "counter", note: str = "") -> BatchResult:
    """Records one subject's consent (R4.2b); refused if it is already current."""
    return _record(rt, principal, GRANTED, subject_type=subject_type, subject_ids=[subject_id], scenario=scenario,
                   operator_code=operator_code, channel=channel, note=note, strict=True)


def withdraw_consent(rt: Runtime, principal: Principal, *, subject_type: str, subject_id: str, scenario: str,
                     operator_code: str, channel: str = "counter", note: str = "") -> BatchResult:
    """Records a withdrawal: from now on the engine no longer uses the subject's rows."""
    return _record(rt, principal, WITHDRAWN, subject_type=subject_type, subject_ids=[subject_id],
                   scenario=scenario, operator_code=operator_code, channel=channel, note=note, strict=True)


def record_consents(rt: Runtime, principal: Principal, *, subject_type: str, subject_ids: Iterable[str],
                    scenario: str, operator_code: str, channel: str = "batch", note: str = "") -> BatchResult:
    """Records many consents at once (e.g. a department's batch of signed forms); subjects already
    consenting are left unchanged. One audit record names the count and a digest of the batch."""
    return _record(rt, principal, GRANTED, subject_type=subject_type, subject_ids=subject_ids, scenario=scenario,
                   operator_code=operator_code, channel=channel, note=note, strict=False)


def _view(e: ConsentEvent) -> ConsentView:
    return ConsentView(e.subject_type, _mask(e.subject_id), e.subject_digest, e.scenario, e.operator_code, e.action,
                       e.channel, e.note, e.recorded_by, e.recorded_at)


def _scoped(principal: Principal, operator_code: str | None) -> str | None:
    """Operator admins see only consents given to their own organization."""
    if principal.role == "operator_admin":
        return principal.organization_code
    return operator_code


def consent_history(rt: Runtime, principal: Principal, *, subject_type: str, subject_id: str,
                    scenario: str | None = None, operator_code: str | None = None) -> list[ConsentView]:
    """Every act of one subject, oldest first."""
    authorize(rt, principal, "consent.read", object_type="consent", object_id=subject_type)
    value = normalise_subject(subject_type, subject_id)
    operator_code = _scoped(principal, operator_code)
    with rt.store.session() as s:
        stmt = select(ConsentEvent).where(ConsentEvent.subject_type == subject_type,
                                          ConsentEvent.subject_digest == subject_digest(value))
        if scenario:
            stmt = stmt.where(ConsentEvent.scenario == scenario)
        if operator_code:
            stmt = stmt.where(ConsentEvent.operator_code == operator_code)
        return [_view(e) for e in s.scalars(stmt.order_by(ConsentEvent.id))]


def list_consents(rt: Runtime, principal: Principal, *, scenario: str | None = None,
                  operator_code: str | None = None, subject_type: str | None = None,
                  include_withdrawn: bool = False, limit: int = 1000) -> list[ConsentView]:
    """The current state of each subject's consent (latest act), newest first."""
    authorize(rt, principal, "consent.read", object_type="consent", object_id=scenario or "*")
    operator_code = _scoped(principal, operator_code)
    with rt.store.session() as s:
        stmt = select(ConsentEvent)
        if scenario:
            stmt = stmt.where(ConsentEvent.scenario == scenario)
        if operator_code:
            stmt = stmt.where(ConsentEvent.operator_code == operator_code)
        if subject_type:
            stmt = stmt.where(ConsentEvent.subject_type == subject_type)
        latest: dict[tuple[str, str, str, str], ConsentEvent] = {}
        for e in s.scalars(stmt.order_by(ConsentEvent.id)):
            latest[(e.subject_type, e.subject_digest, e.scenario, e.operator_code)] = e
    current = [e for e in latest.values() if include_withdrawn or e.action == GRANTED]
    current.sort(key=lambda e: e.id, reverse=True)
    return [_view(e) for e in current[:limit]]


def consenting_subjects(rt: Runtime, scenario: str, operator_code: str, subject_type: str) -> list[str]:
    """The ids of the subjects of ``subject_type`` whose current consent for ``scenario`` by
    ``operator_code`` is granted — for the engine's row filter, inside the domain only."""
    with rt.store.session() as s:
        rows = s.execute(
            select(ConsentEvent.subject_id, ConsentEvent.action)
            .where(ConsentEvent.scenario == scenario, ConsentEvent.operator_code == operator_code,
                   ConsentEvent.subject_type == subject_type)
            .order_by(ConsentEvent.id))
        state: dict[str, str] = {}
        for sid, action in rows:
            state[sid] = action
    return sorted(sid for sid, action in state.items() if action == GRANTED)
