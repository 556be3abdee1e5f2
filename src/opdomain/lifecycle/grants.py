"""Grant services (授权): read, suspend and resume a grant; open its workspace.

A grant is one operator's authorization for one scenario (应用场景) in a domain area: the datasets and
the exact columns approved, a term of at most 3 years (R3.9a), the analysis parameters (k) and the
subject types whose data is used only with consent (R4.2b). A grant comes into being only at the end of
the authorization process (:func:`opdomain.lifecycle.applications.activate` calls :func:`create_grant`
with the application's id); :func:`create_grant` without an application is the *bootstrap path* of test
fixtures and the ``opdomain grant create`` admin command, audited as ``grant.create`` with
``"path": "bootstrap"`` — the public API refuses it (docs/lifecycle.md). Rules are the pure ``check_*`` of
:mod:`opdomain.lifecycle.policy`; every change and every refusal is audited (R4.4c, R5.1b).

Each grant has its own pseudonym key (32 random bytes) for the dev copy and masked values: stored only
wrapped by the master key (context ``grant:<id>:pseudonym``), unwrapped only inside the domain's
process by :func:`pseudonym_key`, and never shown to anyone.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from opdomain.catalog.models import Dataset
from opdomain.errors import DomainError, InvalidInput, NotFound
from opdomain.identity.models import Organization, User
from opdomain.identity.service import Principal, authorize
from opdomain.lifecycle import machine, policy
from opdomain.lifecycle import messages as msg
from opdomain.lifecycle.machine import GrantStatus
from opdomain.lifecycle.models import Grant, GrantColumn
from opdomain.lifecycle.models_process import LifecycleEvent, StaffRecord
from opdomain.runtime import Runtime
from opdomain.store import vault
from opdomain.store.db import new_id, utcnow


@dataclass(frozen=True)
class GrantedColumnView:
    dataset: str
    column: str
    #: False for a subject column kept only so the analysis rule can count data subjects
    visible: bool


@dataclass(frozen=True)
class GrantView:
    id: str
    operator_code: str
    operator_name: str
    scenario: str
    domain_area: str
    starts_on: date
    ends_on: date
    status: str
    #: the status as of today: an active grant past its last day is "expired"
    effective_status: str
    status_reason: str
    k: int
    consent_subjects: tuple[str, ...]
    columns: tuple[GrantedColumnView, ...]
    created_by: str
    created_at: datetime
    #: the operator's people, for the safe-people rules (R4.1, R4.4b): username → facts
    staff: Mapping[str, policy.StaffFacts] = field(default_factory=dict)
    application_id: str | None = None
    agreement_id: str | None = None
    ended_as: str | None = None

    @property
    def datasets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.dataset for c in self.columns))

    def columns_of(self, dataset: str, *, visible_only: bool = False) -> tuple[str, ...]:
        return tuple(c.column for c in self.columns if c.dataset == dataset and (c.visible or not visible_only))

    @property
    def facts(self) -> policy.GrantFacts:
        return policy.GrantFacts(self.id, self.operator_code, self.status, self.starts_on, self.ends_on, self.staff)

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id, "operator": self.operator_code, "operator_name": self.operator_name,
            "scenario": self.scenario, "domain_area": self.domain_area,
            "starts_on": self.starts_on.isoformat(), "ends_on": self.ends_on.isoformat(),
            "status": self.status, "effective_status": self.effective_status,
            "status_reason": self.status_reason, "k": self.k, "consent_subjects": list(self.consent_subjects),
            "columns": {d: list(self.columns_of(d, visible_only=True)) for d in self.datasets},
            "counting_columns": {d: [c.column for c in self.columns if c.dataset == d and not c.visible]
                                 for d in self.datasets if any(not c.visible for c in self.columns
                                                               if c.dataset == d)},
            "created_by": self.created_by, "created_at": self.created_at.isoformat(),
            "application_id": self.application_id, "agreement_id": self.agreement_id, "ended_as": self.ended_as,
        }


def _view(g: Grant, today: date | None = None, staff: Mapping[str, policy.StaffFacts] | None = None) -> GrantView:
    facts = policy.GrantFacts(g.id, g.operator.code, g.status, g.starts_on, g.ends_on)
    return GrantView(
        id=g.id, operator_code=g.operator.code, operator_name=g.operator.name, scenario=g.scenario,
        domain_area=g.domain_area, starts_on=g.starts_on, ends_on=g.ends_on, status=g.status,
        effective_status=policy.effective_status(facts, today or date.today()).value,
        status_reason=g.status_reason, k=g.k, consent_subjects=tuple(json.loads(g.consent_subjects or "[]")),
        columns=tuple(GrantedColumnView(c.dataset_name, c.column_name, c.visible) for c in g.columns),
        created_by=g.created_by, created_at=g.created_at, staff=dict(staff or {}),
        application_id=g.application_id, agreement_id=g.agreement_id, ended_as=g.ended_as,
    )


def _catalog_facts(s: Session, names: Iterable[str]) -> dict[str, policy.CatalogDataset | None]:
    out: dict[str, policy.CatalogDataset | None] = {}
    for name in names:
        ds = s.scalar(select(Dataset).where(Dataset.name == name))
        out[name] = None if ds is None else policy.CatalogDataset(
            name=ds.name, forbidden=ds.forbidden, forbidden_category=ds.forbidden_category,
            has_data=ds.current_version is not None,
            columns=tuple(policy.CatalogColumn(c.name, c.subject) for c in ds.columns))
    return out


def _key_context(grant_id: str) -> str:
    return f"grant:{grant_id}:pseudonym"


def create_grant(rt: Runtime, principal: Principal, *, operator_code: str, scenario: str, domain_area: str,
                 columns: Mapping[str, Sequence[str]], starts_on: date, ends_on: date, k: int = 10,
                 consent_subjects: Iterable[str] = (), application_id: str | None = None,
                 agreement_id: str | None = None, session: Session | None = None) -> GrantView:
    """Creates an active grant. Refuses forbidden datasets (R1.1c), unknown datasets or columns, a term
    over 3 years (R3.9a), k < 2; the refusal is audited.

    With ``application_id`` this is the last step of the authorization process (called by
    :func:`opdomain.lifecycle.applications.activate` inside its transaction ``session``): the grant starts
    with no columns — they open through data requests (R4.2a). Without it, it is the bootstrap path
    (authority only, ``grant.create``), audited as such."""
    if application_id is None:
        authorize(rt, principal, "grant.create", object_type="grant", object_id=operator_code)
    if session is not None:
        return _create(rt, principal, session, operator_code=operator_code, scenario=scenario,
                       domain_area=domain_area, columns=columns, starts_on=starts_on, ends_on=ends_on, k=k,
                       consent_subjects=consent_subjects, application_id=application_id, agreement_id=agreement_id)
    try:
        with rt.store.session() as s:
            return _create(rt, principal, s, operator_code=operator_code, scenario=scenario,
                           domain_area=domain_area, columns=columns, starts_on=starts_on, ends_on=ends_on, k=k,
                           consent_subjects=consent_subjects, application_id=application_id,
                           agreement_id=agreement_id)
    except DomainError as exc:
        rt.audit.record_refusal(principal, "grant.create", "grant", operator_code, reason=exc.code,
                                details={"operator": operator_code, "scenario": scenario,
                                         "message_en": exc.message.en})
        raise


def _create(rt: Runtime, principal: Principal, s: Session, *, operator_code: str, scenario: str, domain_area: str,
            columns: Mapping[str, Sequence[str]], starts_on: date, ends_on: date, k: int,
            consent_subjects: Iterable[str], application_id: str | None, agreement_id: str | None) -> GrantView:
    consent = sorted(set(consent_subjects))
    requested = {d: list(dict.fromkeys(cols)) for d, cols in columns.items()}
    summary = {"operator": operator_code, "scenario": scenario, "domain_area": domain_area,
               "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat(), "k": k,
               "consent_subjects": consent, "columns": requested,
               "path": "lifecycle" if application_id else "bootstrap", "application_id": application_id}
    grant_id = new_id()
    policy.check_scenario(scenario, domain_area)
    policy.check_term(starts_on, ends_on)
    policy.check_k(k)
    policy.check_subject_types(consent)
    operator = s.scalar(select(Organization).where(Organization.code == operator_code))
    if operator is None:
        raise NotFound("grant.unknown_operator", msg.UNKNOWN_OPERATOR.format(code=operator_code))
    if operator.kind != "operator":
        raise InvalidInput("grant.not_an_operator", msg.NOT_AN_OPERATOR.format(code=operator_code))
    recorded: dict[str, list[tuple[str, bool]]] = {}
    if requested or application_id is None:
        catalog = _catalog_facts(s, requested)
        policy.check_grantable(requested, catalog)
        recorded = policy.granted_column_set(requested, {n: d for n, d in catalog.items() if d})
    key = secrets.token_bytes(32)
    grant = Grant(id=grant_id, operator_id=operator.id, scenario=scenario.strip(), domain_area=domain_area,
                  starts_on=starts_on, ends_on=ends_on, status=GrantStatus.ACTIVE.value, k=k,
                  consent_subjects=json.dumps(consent),
                  wrapped_pseudonym_key=vault.wrap_key(rt.master_key, key, _key_context(grant_id)),
                  created_by=principal.username, application_id=application_id, agreement_id=agreement_id)
    for dataset, cols in recorded.items():
        for col, visible in cols:
            grant.columns.append(GrantColumn(dataset_name=dataset, column_name=col, visible=visible))
    s.add(grant)
    s.flush()
    rt.audit.record(s, principal, "grant.create", "grant", grant_id, grant_id=grant_id, details=summary)
    s.flush()
    s.refresh(grant)
    return _view(grant)


def add_columns(rt: Runtime, s: Session, grant_id: str, dataset: str, columns: Sequence[str]) -> list[str]:
    """Opens ``columns`` of ``dataset`` to a grant (after a provider approved a data request, R4.2a): the
    table's subject columns come along as counting columns. Returns the columns newly visible."""
    g = _load(s, grant_id)
    catalog = _catalog_facts(s, [dataset])
    policy.check_grantable({dataset: list(columns)}, catalog)
    recorded = policy.granted_column_set({dataset: list(columns)}, {dataset: catalog[dataset]})  # type: ignore[dict-item]
    existing = {(c.dataset_name, c.column_name): c for c in g.columns}
    opened: list[str] = []
    for col, visible in recorded[dataset]:
        row = existing.get((dataset, col))
        if row is None:
            g.columns.append(GrantColumn(dataset_name=dataset, column_name=col, visible=visible))
            if visible:
                opened.append(col)
        elif visible and not row.visible:
            row.visible = True
            opened.append(col)
    g.updated_at = utcnow()
    s.flush()
    return opened


def _load(s: Session, grant_id: str) -> Grant:
    g = s.get(Grant, grant_id)
    if g is None:
        raise NotFound("grant.not_found", msg.GRANT_NOT_FOUND.format(grant_id=grant_id))
    return g


def _day(at: datetime | None) -> date | None:
    return None if at is None else at.date()


def staff_facts(s: Session, organization_id: str) -> dict[str, policy.StaffFacts]:
    """The safe-people facts (R4.1, R4.4b) of every person of one organization, read now — so that access
    ends the moment one of them lapses."""
    rows = s.execute(select(User, StaffRecord).outerjoin(StaffRecord, StaffRecord.user_id == User.id)
                     .where(User.organization_id == organization_id))
    out: dict[str, policy.StaffFacts] = {}
    for user, rec in rows:
        out[user.username] = policy.StaffFacts(
            username=user.username, is_active=user.is_active,
            real_name_verified_on=_day(rec.real_name_verified_at) if rec else None,
            exam_passed_on=_day(rec.exam_passed_at) if rec else None,
            exam_score=rec.exam_score if rec else None, exam_valid_until=rec.exam_valid_until if rec else None,
            confidentiality_signed_on=_day(rec.confidentiality_signed_at) if rec else None,
            confidentiality_digest=rec.confidentiality_sha256 if rec else None,
            left_on=_day(rec.left_at) if rec else None)
    return out


def load_grant(rt: Runtime, grant_id: str, *, today: date | None = None) -> GrantView:
    """The grant with its operator's staff facts, unchecked: for services that apply their own access rule."""
    with rt.store.session() as s:
        g = _load(s, grant_id)
        return _view(g, today, staff_facts(s, g.operator_id))


def list_grants(rt: Runtime, principal: Principal, *, today: date | None = None) -> list[GrantView]:
    """Authority and auditors see every grant; operator staff only their own organization's."""
    authorize(rt, principal, "grant.read", object_type="grant", object_id="*")
    with rt.store.session() as s:
        stmt = select(Grant).join(Organization, Grant.operator_id == Organization.id)
        if principal.role not in policy.ALL_GRANTS_ROLES:
            stmt = stmt.where(Organization.code == principal.organization_code)
        return [_view(g, today) for g in s.scalars(stmt.order_by(Grant.created_at.desc()))]


def get_grant(rt: Runtime, principal: Principal, grant_id: str, *, today: date | None = None) -> GrantView:
    authorize(rt, principal, "grant.read", object_type="grant", object_id=grant_id)
    view = load_grant(rt, grant_id, today=today)
    try:
        policy.check_read_grant(view, principal)
    except DomainError as exc:
        rt.audit.record_refusal(principal, "grant.read", "grant", grant_id, reason=exc.code, grant_id=grant_id)
        raise
    return view


def workspace_grant(rt: Runtime, principal: Principal, grant_id: str, *, action: str = "workspace.access",
                    today: date | None = None, details: Mapping[str, object] | None = None) -> GrantView:
    """The grant whose workspace ``principal`` enters: refused (403) and audited under ``action``
    unless the caller is an analyst of the grant's operator and the grant is active within its term."""
    today = today or date.today()
    view = load_grant(rt, grant_id, today=today)
    try:
        policy.check_workspace_access(view, principal, today)
    except DomainError as exc:
        rt.audit.record_refusal(principal, action, "grant", grant_id, reason=exc.code, grant_id=grant_id,
                                details={**(details or {}), "message_en": exc.message.en})
        raise
    return view


def pseudonym_key(rt: Runtime, grant_id: str) -> str:
    """The grant's pseudonym key as 64 hex digits — for SQL the analyst never sees; never returned by an
    API, printed or logged."""
    with rt.store.session() as s:
        g = _load(s, grant_id)
        wrapped = g.wrapped_pseudonym_key
    if wrapped is None:
        raise NotFound("grant.key_destroyed", msg.GRANT_NOT_FOUND.format(grant_id=grant_id))
    return vault.unwrap_key(rt.master_key, wrapped, _key_context(grant_id)).hex()


def transition(rt: Runtime, principal: Principal, grant_id: str, name: str, *, reason: str,
               session: Session | None = None, details: Mapping[str, object] | None = None,
               check_permission: bool = True) -> GrantView:
    """Performs one row of :data:`opdomain.lifecycle.machine.GRANT_TRANSITIONS` on a grant: checks the
    actor's permission and the source state, records who and why (timeline + audit). A refusal is audited
    and nothing changes. ``check_permission=False`` only when the caller's own transition, already
    authorized, carries this one along (a withdrawn renewal returns its grant to active)."""
    t = machine.GRANT_BY_NAME[name]
    action = f"grant.{name}"
    if t.permission != "system" and check_permission and isinstance(principal, Principal):
        authorize(rt, principal, t.permission, object_type="grant", object_id=grant_id)

    def run(s: Session) -> GrantView:
        g = _load(s, grant_id)
        before = g.status
        machine.check_grant_transition(before, name)
        g.status, g.status_reason, g.updated_at = t.target, reason, utcnow()
        s.add(LifecycleEvent(subject_type="grant", subject_id=grant_id, action=name, from_state=before,
                             to_state=t.target, actor=principal.username, reason=reason,
                             details=json.dumps(dict(details or {}), ensure_ascii=False, default=str)))
        rt.audit.record(s, principal, action, "grant", grant_id, grant_id=grant_id, reason=reason,
                        details={"from": before, "to": t.target, "rule": t.rule, **dict(details or {})})
        s.flush()
        return _view(g)

    if session is not None:
        return run(session)
    try:
        with rt.store.session() as s:
            return run(s)
    except DomainError as exc:
        rt.audit.record_refusal(principal, action, "grant", grant_id, reason=exc.code, grant_id=grant_id,
                                details={"message_en": exc.message.en})
        raise


def suspend_grant(rt: Runtime, principal: Principal, grant_id: str, *, reason: str) -> GrantView:
    """Suspends an active grant (暂停, e.g. during rectification R6.8): its workspace closes at once."""
    return transition(rt, principal, grant_id, "suspend", reason=reason)


def resume_grant(rt: Runtime, principal: Principal, grant_id: str, *, reason: str) -> GrantView:
    """Resumes a suspended grant."""
    return transition(rt, principal, grant_id, "resume", reason=reason)


def seal_grant(rt: Runtime, principal: Principal, grant_id: str, *, reason: str) -> GrantView:
    """Seals a grant's workspace (封存): frozen, nothing destroyed (e.g. during an investigation)."""
    return transition(rt, principal, grant_id, "seal", reason=reason)


def unseal_grant(rt: Runtime, principal: Principal, grant_id: str, *, reason: str) -> GrantView:
    return transition(rt, principal, grant_id, "unseal", reason=reason)
