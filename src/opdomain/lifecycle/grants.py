"""Grant services (授权): create, read, suspend and resume a grant; open its workspace.

A grant is one operator's authorization for one scenario (应用场景) in a domain area: the datasets and
the exact columns approved, a term of at most 3 years (R3.9a), the analysis parameters (k) and the
subject types whose data is used only with consent (R4.2b). Until the lifecycle issue lands its state
machine, the authority creates grants directly. Rules are the pure ``check_*`` of
:mod:`opdomain.lifecycle.policy`; every change and every refusal is audited (R4.4c, R5.1b).

Each grant has its own pseudonym key (32 random bytes) for the dev copy and masked values: stored only
wrapped by the master key (context ``grant:<id>:pseudonym``), unwrapped only inside the domain's
process by :func:`pseudonym_key`, and never shown to anyone.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from opdomain.catalog.models import Dataset
from opdomain.errors import DomainError, InvalidInput, NotFound
from opdomain.identity.models import Organization
from opdomain.identity.service import Principal, authorize
from opdomain.lifecycle import messages as msg
from opdomain.lifecycle import policy
from opdomain.lifecycle.models import Grant, GrantColumn
from opdomain.lifecycle.policy import GrantStatus
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

    @property
    def datasets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.dataset for c in self.columns))

    def columns_of(self, dataset: str, *, visible_only: bool = False) -> tuple[str, ...]:
        return tuple(c.column for c in self.columns if c.dataset == dataset and (c.visible or not visible_only))

    @property
    def facts(self) -> policy.GrantFacts:
        return policy.GrantFacts(self.id, self.operator_code, self.status, self.starts_on, self.ends_on)

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
        }


def _view(g: Grant, today: date | None = None) -> GrantView:
    facts = policy.GrantFacts(g.id, g.operator.code, g.status, g.starts_on, g.ends_on)
    return GrantView(
        id=g.id, operator_code=g.operator.code, operator_name=g.operator.name, scenario=g.scenario,
        domain_area=g.domain_area, starts_on=g.starts_on, ends_on=g.ends_on, status=g.status,
        effective_status=policy.effective_status(facts, today or date.today()).value,
        status_reason=g.status_reason, k=g.k, consent_subjects=tuple(json.loads(g.consent_subjects or "[]")),
        columns=tuple(GrantedColumnView(c.dataset_name, c.column_name, c.visible) for c in g.columns),
        created_by=g.created_by, created_at=g.created_at,
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
                 consent_subjects: Iterable[str] = ()) -> GrantView:
    """Creates an active grant (authority). Refuses forbidden datasets (R1.1c), unknown datasets or
    columns, a term over 3 years (R3.9a), k < 2; the refusal is audited."""
    authorize(rt, principal, "grant.create", object_type="grant", object_id=operator_code)
    consent = sorted(set(consent_subjects))
    requested = {d: list(dict.fromkeys(cols)) for d, cols in columns.items()}
    summary = {"operator": operator_code, "scenario": scenario, "domain_area": domain_area,
               "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat(), "k": k,
               "consent_subjects": consent, "columns": requested}
    grant_id = new_id()
    try:
        policy.check_scenario(scenario, domain_area)
        policy.check_term(starts_on, ends_on)
        policy.check_k(k)
        policy.check_subject_types(consent)
        with rt.store.session() as s:
            operator = s.scalar(select(Organization).where(Organization.code == operator_code))
            if operator is None:
                raise NotFound("grant.unknown_operator", msg.UNKNOWN_OPERATOR.format(code=operator_code))
            if operator.kind != "operator":
                raise InvalidInput("grant.not_an_operator", msg.NOT_AN_OPERATOR.format(code=operator_code))
            catalog = _catalog_facts(s, requested)
            policy.check_grantable(requested, catalog)
            recorded = policy.granted_column_set(requested, {n: d for n, d in catalog.items() if d})
            key = secrets.token_bytes(32)
            grant = Grant(id=grant_id, operator_id=operator.id, scenario=scenario.strip(), domain_area=domain_area,
                          starts_on=starts_on, ends_on=ends_on, status=GrantStatus.ACTIVE.value, k=k,
                          consent_subjects=json.dumps(consent),
                          wrapped_pseudonym_key=vault.wrap_key(rt.master_key, key, _key_context(grant_id)),
                          created_by=principal.username)
            for dataset, cols in recorded.items():
                for col, visible in cols:
                    grant.columns.append(GrantColumn(dataset_name=dataset, column_name=col, visible=visible))
            s.add(grant)
            s.flush()
            rt.audit.record(s, principal, "grant.create", "grant", grant_id, grant_id=grant_id, details=summary)
            s.flush()
            s.refresh(grant)
            return _view(grant)
    except DomainError as exc:
        rt.audit.record_refusal(principal, "grant.create", "grant", operator_code, reason=exc.code,
                                details={**summary, "message_en": exc.message.en})
        raise


def _load(s: Session, grant_id: str) -> Grant:
    g = s.get(Grant, grant_id)
    if g is None:
        raise NotFound("grant.not_found", msg.GRANT_NOT_FOUND.format(grant_id=grant_id))
    return g


def load_grant(rt: Runtime, grant_id: str, *, today: date | None = None) -> GrantView:
    """The grant, unchecked: for services that apply their own access rule."""
    with rt.store.session() as s:
        return _view(_load(s, grant_id), today)


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


def _transition(rt: Runtime, principal: Principal, grant_id: str, target: GrantStatus, reason: str,
                action: str, action_zh: str, action_en: str) -> GrantView:
    authorize(rt, principal, "grant.manage", object_type="grant", object_id=grant_id)
    try:
        with rt.store.session() as s:
            g = _load(s, grant_id)
            before = g.status
            policy.check_transition(before, target, action_zh, action_en)
            g.status, g.status_reason, g.updated_at = target.value, reason, utcnow()
            rt.audit.record(s, principal, action, "grant", grant_id, grant_id=grant_id, reason=reason,
                            details={"from": before, "to": target.value})
            s.flush()
            return _view(g)
    except DomainError as exc:
        rt.audit.record_refusal(principal, action, "grant", grant_id, reason=exc.code, grant_id=grant_id)
        raise


def suspend_grant(rt: Runtime, principal: Principal, grant_id: str, *, reason: str) -> GrantView:
    """Suspends an active grant (暂停, e.g. during rectification R6.8): its workspace closes at once."""
    return _transition(rt, principal, grant_id, GrantStatus.SUSPENDED, reason, "grant.suspend", "暂停", "suspended")


def resume_grant(rt: Runtime, principal: Principal, grant_id: str, *, reason: str) -> GrantView:
    """Resumes a suspended grant."""
    return _transition(rt, principal, grant_id, GrantStatus.ACTIVE, reason, "grant.resume", "恢复", "resumed")
