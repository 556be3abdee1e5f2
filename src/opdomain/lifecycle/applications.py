"""The authorization process (授权程序, rules 三.(一)–(八)) as services: one function per transition of
:data:`opdomain.lifecycle.machine.APPLICATION_TRANSITIONS`.

Each transition runs in one transaction: it checks the actor's permission, the machine's source state and
the rules of :mod:`opdomain.lifecycle.policy_process`, changes the state, writes the timeline
(``lifecycle_events``) and an audit record naming the rule. A refusal rolls everything back and is
audited with its code and rule — nothing half-done. The grant itself is created only by :func:`activate`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from cryptography.hazmat.primitives import hashes
from sqlalchemy import select
from sqlalchemy.orm import Session

from opdomain.audit.log import ActorLike
from opdomain.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from opdomain.identity.models import Organization, User
from opdomain.identity.service import Principal, authorize
from opdomain.lifecycle import grants, machine
from opdomain.lifecycle import messages_process as pmsg
from opdomain.lifecycle import policy_process as rules
from opdomain.lifecycle.machine import ApplicationState
from opdomain.lifecycle.models import Grant
from opdomain.lifecycle.models_process import (
    Announcement,
    Application,
    ApplicationMaterial,
    EmergencyPlan,
    ExpertReview,
    LifecycleEvent,
    Objection,
    StaffRecord,
)
from opdomain.lifecycle.notifications import notify
from opdomain.runtime import Runtime
from opdomain.store.db import new_id, utcnow

#: roles that see every application
ALL_APPLICATIONS_ROLES = frozenset({"authority_admin", "auditor"})


@dataclass(frozen=True)
class Applicant:
    """The public, who may file an objection without an account (三.(六))."""

    username: str
    role: str = "public"
    organization_code: str = ""


# ---------------------------------------------------------------------------------------------
# helpers


def _load(s: Session, app_id: str) -> Application:
    app = s.get(Application, app_id)
    if app is None:
        raise NotFound("application.not_found", pmsg.APPLICATION_NOT_FOUND.format(id=app_id))
    return app


def _operator_code(s: Session, app: Application) -> str:
    org = s.get(Organization, app.operator_id)
    return org.code if org else ""


def _check_own(s: Session, principal: ActorLike, app: Application) -> None:
    if principal.role in ("operator_admin", "analyst") and _operator_code(s, app) != principal.organization_code:
        raise PermissionDenied("application.other_operator", pmsg.OWN_APPLICATION_ONLY)


def _event(s: Session, subject_type: str, subject_id: str, action: str, actor: ActorLike, before: str, after: str,
           reason: str = "", details: Mapping[str, Any] | None = None) -> None:
    s.add(LifecycleEvent(subject_type=subject_type, subject_id=subject_id, action=action, from_state=before,
                         to_state=after, actor=actor.username, reason=reason,
                         details=json.dumps(dict(details or {}), ensure_ascii=False, default=str)))


def _run(rt: Runtime, principal: ActorLike, app_id: str, action: str, permission: str | None,
         work: Callable[[Session, Application], dict[str, Any]], *, transition: str | None = None,
         reason: str = "") -> ApplicationView:
    """One audited unit of work on an application; ``transition`` moves it along the machine."""
    audit_action = f"application.{action}"
    if permission is not None and isinstance(principal, Principal):
        authorize(rt, principal, permission, object_type="application", object_id=app_id)
    try:
        with rt.store.session() as s:
            app = _load(s, app_id)
            _check_own(s, principal, app)
            before = app.state
            t = machine.check_application_transition(before, transition) if transition else None
            details = work(s, app) or {}
            if t is not None:
                app.state, app.state_reason = t.target, reason
            app.updated_at = utcnow()
            rule = t.rule if t else details.pop("rule", "")
            _event(s, "application", app_id, action, principal, before, app.state, reason, details)
            rt.audit.record(s, principal, audit_action, "application", app_id, reason=reason, grant_id=app.grant_id,
                            details={"from": before, "to": app.state, "rule": rule, **details})
            s.flush()
            return _view(s, app)
    except DomainError as exc:
        rt.audit.record_refusal(principal, audit_action, "application", app_id, reason=exc.code,
                                details={"rule": exc.details.get("rule", ""), "message_en": exc.message.en})
        raise


def _present_kinds(s: Session, app_id: str) -> list[str]:
    return list(s.scalars(select(ApplicationMaterial.kind).where(ApplicationMaterial.application_id == app_id)))


# ---------------------------------------------------------------------------------------------
# views


@dataclass(frozen=True)
class ApplicationView:
    id: str
    announcement_id: str
    operator_code: str
    operator_name: str
    state: str
    state_reason: str
    scenarios: list[dict[str, str]]
    requirements: list[dict[str, Any]]
    starts_on: date
    ends_on: date
    pricing_mode: str
    fees: str
    k: int
    consent_subjects: list[str]
    renewal_of: str | None
    notice_missing: list[str] | None
    resubmit_by: date | None
    publicity_starts_on: date | None
    publicity_ends_on: date | None
    filing_reference: str
    agreement_id: str | None
    grant_id: str | None
    materials: list[dict[str, Any]]
    experts: list[dict[str, Any]]
    objections: list[dict[str, Any]]
    has_emergency_plan: bool
    decision_reasons: str
    expert_conclusion: str

    @property
    def scope(self) -> dict[str, list[str]]:
        """dataset → the columns of the data requirement list (the agreement's scope)."""
        return {r["dataset"]: list(r["columns"]) for r in self.requirements}

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("starts_on", "ends_on", "resubmit_by", "publicity_starts_on", "publicity_ends_on"):
            out[key] = out[key].isoformat() if out[key] else None
        out["allowed"] = [t.name for t in machine.application_targets(self.state)]
        return out


def _view(s: Session, app: Application) -> ApplicationView:
    org = s.get(Organization, app.operator_id)
    mats = s.scalars(select(ApplicationMaterial).where(ApplicationMaterial.application_id == app.id)
                     .order_by(ApplicationMaterial.id))
    experts = s.scalars(select(ExpertReview).where(ExpertReview.application_id == app.id).order_by(ExpertReview.id))
    objections = s.scalars(select(Objection).where(Objection.application_id == app.id)
                           .order_by(Objection.submitted_at))
    plan = s.scalar(select(EmergencyPlan.id).where(EmergencyPlan.application_id == app.id))
    return ApplicationView(
        id=app.id, announcement_id=app.announcement_id, operator_code=org.code if org else "",
        operator_name=org.name if org else "", state=app.state, state_reason=app.state_reason,
        scenarios=json.loads(app.scenarios), requirements=json.loads(app.requirements), starts_on=app.starts_on,
        ends_on=app.ends_on, pricing_mode=app.pricing_mode, fees=app.fees, k=app.k,
        consent_subjects=json.loads(app.consent_subjects or "[]"), renewal_of=app.renewal_of,
        notice_missing=json.loads(app.notice_missing) if app.notice_missing else None, resubmit_by=app.resubmit_by,
        publicity_starts_on=app.publicity_starts_on, publicity_ends_on=app.publicity_ends_on,
        filing_reference=app.filing_reference, agreement_id=app.agreement_id, grant_id=app.grant_id,
        materials=[{"kind": m.kind, "filename": m.filename, "size": m.size, "sha256": m.sha256, "sm3": m.sm3,
                    "uploaded_by": m.uploaded_by, "uploaded_at": m.uploaded_at.isoformat()} for m in mats],
        experts=[{"expert": e.expert, "status": e.status, "scores": json.loads(e.scores or "{}"),
                  "opinion": e.opinion, "conflict_declared": e.conflict_declared} for e in experts],
        objections=[{"id": o.id, "objector": o.objector, "text": o.text, "submitted_at": o.submitted_at.isoformat(),
                     "answer": o.answer, "answered_by": o.answered_by} for o in objections],
        has_emergency_plan=plan is not None, decision_reasons=app.decision_reasons,
        expert_conclusion=app.expert_conclusion)


def get_application(rt: Runtime, principal: Principal, app_id: str) -> ApplicationView:
    """Authority and auditors see all; operator staff their own; experts those assigned to them."""
    authorize(rt, principal, "application.read", object_type="application", object_id=app_id)
    with rt.store.session() as s:
        app = _load(s, app_id)
        _check_own(s, principal, app)
        if principal.role == "expert" and not s.scalar(select(ExpertReview.id).where(
                ExpertReview.application_id == app_id, ExpertReview.expert == principal.username)):
            raise PermissionDenied("application.not_assigned",
                                   pmsg.NOT_ASSIGNED.format(username=principal.username))
        return _view(s, app)


def list_applications(rt: Runtime, principal: Principal) -> list[ApplicationView]:
    authorize(rt, principal, "application.read", object_type="application", object_id="*")
    with rt.store.session() as s:
        stmt = select(Application)
        if principal.role == "expert":
            stmt = stmt.join(ExpertReview, ExpertReview.application_id == Application.id).where(
                ExpertReview.expert == principal.username)
        elif principal.role not in ALL_APPLICATIONS_ROLES:
            stmt = stmt.join(Organization, Organization.id == Application.operator_id).where(
                Organization.code == principal.organization_code)
        return [_view(s, a) for a in s.scalars(stmt.order_by(Application.created_at.desc()))]


PUBLIC_STATES = ("publicity", "filed", "agreement_signed", "active")


def public_notices(rt: Runtime) -> list[dict[str, Any]]:
    """社会公开 (R3.6): what the public notice page shows — operator, scenarios, term, objection period."""
    with rt.store.session() as s:
        out = []
        for app in s.scalars(select(Application).where(Application.state.in_(PUBLIC_STATES))
                             .order_by(Application.publicity_starts_on.desc())):
            org = s.get(Organization, app.operator_id)
            out.append({"id": app.id, "operator": org.name if org else "", "state": app.state,
                        "scenarios": [{"name": x["name"], "domain_area": x["domain_area"]}
                                      for x in json.loads(app.scenarios)],
                        "starts_on": app.starts_on.isoformat(), "ends_on": app.ends_on.isoformat(),
                        "publicity_starts_on": app.publicity_starts_on.isoformat() if app.publicity_starts_on
                        else None,
                        "publicity_ends_on": app.publicity_ends_on.isoformat() if app.publicity_ends_on else None,
                        "decision_reasons": app.decision_reasons})
        return out


def timeline(rt: Runtime, principal: Principal, subject_type: str, subject_id: str) -> list[dict[str, Any]]:
    """The steps of one application or grant, oldest first."""
    if subject_type == "application":
        get_application(rt, principal, subject_id)
    else:
        grants.get_grant(rt, principal, subject_id)
    with rt.store.session() as s:
        rows = s.scalars(select(LifecycleEvent).where(LifecycleEvent.subject_type == subject_type,
                                                      LifecycleEvent.subject_id == subject_id)
                         .order_by(LifecycleEvent.id))
        return [{"action": e.action, "from": e.from_state, "to": e.to_state, "actor": e.actor, "reason": e.reason,
                 "at": e.at.isoformat(), "details": json.loads(e.details or "{}")} for e in rows]


# ---------------------------------------------------------------------------------------------
# 1. announcement (发布公告, R3.1)


def create_announcement(rt: Runtime, principal: Principal, *, title: str, domain_areas: Sequence[str],
                        conditions: str, opens_on: date, closes_on: date) -> dict[str, Any]:
    authorize(rt, principal, "announcement.manage", object_type="announcement", object_id="*")
    try:
        rules.check_announcement(domain_areas, opens_on, closes_on)
        with rt.store.session() as s:
            a = Announcement(id=new_id(), title=title, domain_areas=json.dumps(list(domain_areas), ensure_ascii=False),
                             conditions=conditions, opens_on=opens_on, closes_on=closes_on,
                             created_by=principal.username)
            s.add(a)
            rt.audit.record(s, principal, "announcement.create", "announcement", a.id,
                            details={"areas": list(domain_areas), "opens_on": opens_on.isoformat(),
                                     "closes_on": closes_on.isoformat(), "rule": "R3.1"})
            return _announcement(a)
    except DomainError as exc:
        rt.audit.record_refusal(principal, "announcement.create", "announcement", "*", reason=exc.code)
        raise


def _announcement(a: Announcement) -> dict[str, Any]:
    return {"id": a.id, "title": a.title, "domain_areas": json.loads(a.domain_areas), "conditions": a.conditions,
            "opens_on": a.opens_on.isoformat(), "closes_on": a.closes_on.isoformat()}


def list_announcements(rt: Runtime) -> list[dict[str, Any]]:
    with rt.store.session() as s:
        return [_announcement(a) for a in s.scalars(select(Announcement).order_by(Announcement.opens_on.desc()))]


# ---------------------------------------------------------------------------------------------
# 2. application (提交申请, R3.2)


def _scenarios(raw: Sequence[Mapping[str, Any]]) -> list[rules.Scenario]:
    return [rules.Scenario(str(x.get("name", "")), str(x.get("domain_area", "")), str(x.get("goals", "")),
                           str(x.get("plan", "")), str(x.get("security_measures", ""))) for x in raw]


def _requirements(raw: Sequence[Mapping[str, Any]]) -> list[rules.Requirement]:
    return [rules.Requirement(str(x.get("dataset", "")), dict(x.get("columns") or {})) for x in raw]


def create_application(rt: Runtime, principal: Principal, *, announcement_id: str,
                       scenarios: Sequence[Mapping[str, Any]], requirements: Sequence[Mapping[str, Any]],
                       starts_on: date, ends_on: date, pricing_mode: str = "conditional_free", fees: str = "",
                       k: int = 10, consent_subjects: Sequence[str] = (), renewal_of: str | None = None,
                       today: date | None = None) -> ApplicationView:
    """A draft application of the caller's operator: scenarios (R1.5a), the data requirement list with a
    purpose per column (R1.5b), nothing forbidden (R1.1c), a term ≤ 3 years (R3.9a). A renewal (续期)
    names the grant and must come ≥ 6 months before its expiry (R3.9b)."""
    authorize(rt, principal, "application.apply", object_type="application", object_id="*")
    today = today or date.today()
    sc, reqs = _scenarios(scenarios), _requirements(requirements)
    app_id = new_id()
    try:
        with rt.store.session() as s:
            ann = s.get(Announcement, announcement_id)
            if ann is None:
                raise NotFound("announcement.not_found", pmsg.ANNOUNCEMENT_NOT_FOUND.format(id=announcement_id))
            if renewal_of is None:
                rules.check_window_open(ann.id, ann.opens_on, ann.closes_on, today)
            rules.check_scenarios(sc, json.loads(ann.domain_areas))
            rules.check_requirements(reqs, grants._catalog_facts(s, [r.dataset for r in reqs]))
            rules.check_term(starts_on, ends_on)
            rules.check_pricing(pricing_mode, fees)
            grants.policy.check_k(k)
            grants.policy.check_subject_types(consent_subjects)
            operator = s.scalar(select(Organization).where(Organization.code == principal.organization_code))
            assert operator is not None
            if renewal_of is not None:
                g = grants._load(s, renewal_of)
                if g.operator_id != operator.id:
                    raise PermissionDenied("application.other_operator", pmsg.OWN_APPLICATION_ONLY)
                rules.check_renewal_window(g.ends_on, today)
                rules.check_renewal_term(g.ends_on, starts_on)
                grants.transition(rt, principal, renewal_of, "apply_renewal", reason="renewal application",
                                  session=s, details={"application_id": app_id})
            app = Application(id=app_id, announcement_id=ann.id, operator_id=operator.id,
                              state=ApplicationState.DRAFT.value, scenarios=json.dumps([asdict(x) for x in sc],
                                                                                      ensure_ascii=False),
                              requirements=json.dumps([{"dataset": r.dataset, "columns": dict(r.columns)}
                                                       for r in reqs], ensure_ascii=False),
                              starts_on=starts_on, ends_on=ends_on, pricing_mode=pricing_mode, fees=fees, k=k,
                              consent_subjects=json.dumps(sorted(set(consent_subjects))), renewal_of=renewal_of,
                              created_by=principal.username)
            s.add(app)
            s.flush()
            _event(s, "application", app_id, "create", principal, "", app.state)
            rt.audit.record(s, principal, "application.create", "application", app_id,
                            details={"announcement": ann.id, "scenarios": [x.name for x in sc],
                                     "datasets": [r.dataset for r in reqs], "starts_on": starts_on.isoformat(),
                                     "ends_on": ends_on.isoformat(), "renewal_of": renewal_of, "rule": "R3.2"})
            return _view(s, app)
    except DomainError as exc:
        rt.audit.record_refusal(principal, "application.create", "application", app_id, reason=exc.code,
                                details={"rule": exc.details.get("rule", ""), "message_en": exc.message.en})
        raise


def sm3_hex(data: bytes) -> str:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize().hex()


def add_material(rt: Runtime, principal: Principal, app_id: str, *, kind: str, filename: str,
                 data: bytes) -> ApplicationView:
    """Stores one material (R3.2) with its SHA-256 and SM3 digests; only in a draft or while a correction
    is requested (三.(三))."""
    safe = re.sub(r"[^\w.\-]+", "_", filename)[-120:] or "material"

    def work(s: Session, app: Application) -> dict[str, Any]:
        rules.check_material_kind(kind)
        if app.state not in ("draft", "materials_requested"):
            raise InvalidInput("application.not_editable", pmsg.NOT_EDITABLE, details={"rule": "R3.3"})
        if not data:
            raise InvalidInput("application.empty_material", pmsg.EMPTY_MATERIAL)
        sha = hashlib.sha256(data).hexdigest()
        rel = f"applications/{app.id}/materials/{sha[:16]}-{safe}"
        target = rt.settings.data_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        s.add(ApplicationMaterial(application_id=app.id, kind=kind, filename=filename[:200], size=len(data),
                                  sha256=sha, sm3=sm3_hex(data), path=rel, uploaded_by=principal.username))
        return {"kind": kind, "sha256": sha, "size": len(data), "rule": "R3.2"}

    return _run(rt, principal, app_id, "add_material", "application.apply", work)


def submit(rt: Runtime, principal: Principal, app_id: str) -> ApplicationView:
    def work(s: Session, app: Application) -> dict[str, Any]:
        rules.check_scenarios(_scenarios(json.loads(app.scenarios)))
        return {"materials": sorted(set(_present_kinds(s, app.id)))}

    return _run(rt, principal, app_id, "submit", "application.apply", work, transition="submit")


def withdraw(rt: Runtime, principal: Principal, app_id: str, *, reason: str) -> ApplicationView:
    def work(s: Session, app: Application) -> dict[str, Any]:
        rules.check_reasons(reason)
        _end_renewal(rt, principal, s, app, "withdrawn")
        return {}

    return _run(rt, principal, app_id, "withdraw", "application.apply", work, transition="withdraw", reason=reason)


# ---------------------------------------------------------------------------------------------
# 3. pre-review (材料预审, R3.3)


def begin_pre_review(rt: Runtime, principal: Principal, app_id: str) -> ApplicationView:
    return _run(rt, principal, app_id, "begin_pre_review", "application.review", lambda s, a: {},
                transition="begin_pre_review")


def request_materials(rt: Runtime, principal: Principal, app_id: str, *, deadline: date,
                      extra: Sequence[str] = (), note: str = "", today: date | None = None) -> ApplicationView:
    """The one-time notice (一次性告知): every missing material in one list, with a resubmission deadline."""
    today = today or date.today()

    def work(s: Session, app: Application) -> dict[str, Any]:
        for k in extra:
            rules.check_material_kind(k)
        missing = rules.missing_materials(_present_kinds(s, app.id), extra)
        rules.check_can_notify_missing(app.notice_given_at is not None, missing, deadline, today)
        app.notice_missing, app.notice_given_at, app.resubmit_by = json.dumps(missing), utcnow(), deadline
        notify(s, kind="materials_missing", organization_code=_operator_code(s, app), due_on=deadline,
               object_type="application", object_id=app.id,
               message=pmsg.NOTIFY_MATERIALS.format(id=app.id[:8], due=deadline.isoformat(),
                                                    missing=rules.describe_missing(missing)))
        return {"missing": missing, "deadline": deadline.isoformat(), "note": note}

    return _run(rt, principal, app_id, "request_materials", "application.review", work,
                transition="request_materials", reason=note)


def resubmit(rt: Runtime, principal: Principal, app_id: str, *, today: date | None = None) -> ApplicationView:
    today = today or date.today()

    def work(s: Session, app: Application) -> dict[str, Any]:
        rules.check_resubmission_in_time(app.resubmit_by, today)
        return {"materials": sorted(set(_present_kinds(s, app.id)))}

    return _run(rt, principal, app_id, "resubmit", "application.apply", work, transition="resubmit")


def pass_pre_review(rt: Runtime, principal: Principal, app_id: str, *, experts: Sequence[str]) -> ApplicationView:
    """Pre-review passed: materials complete; the expert panel is assigned, none of them conflicted (R3.4)."""

    def work(s: Session, app: Application) -> dict[str, Any]:
        extra = json.loads(app.notice_missing) if app.notice_missing else []
        rules.check_materials_complete(_present_kinds(s, app.id), extra)
        rules.check_expert_panel(experts)
        operator = _operator_code(s, app)
        for name in dict.fromkeys(experts):
            user = s.scalar(select(User).where(User.username == name))
            if user is None or user.role != "expert":
                raise InvalidInput("application.not_an_expert", pmsg.NOT_AN_EXPERT.format(username=name))
            rec = s.get(StaffRecord, user.id)
            rules.check_no_conflict(name, rec.affiliation if rec else None, operator)
            s.add(ExpertReview(application_id=app.id, expert=name, assigned_by=principal.username))
            scenario = json.loads(app.scenarios)[0]["name"]
            notify(s, kind="expert_review", username=name, object_type="application", object_id=app.id,
                   message=pmsg.NOTIFY_EXPERT.format(id=app.id[:8], scenario=scenario))
        return {"experts": list(dict.fromkeys(experts))}

    return _run(rt, principal, app_id, "pass_pre_review", "application.review", work, transition="pass_pre_review")


# ---------------------------------------------------------------------------------------------
# 4. expert review (专家审查, R3.4)


def submit_expert_review(rt: Runtime, principal: Principal, app_id: str, *, scores: Mapping[str, object],
                         opinion: str, conflict: bool = False, conflict_note: str = "") -> ApplicationView:
    """One expert's scores (security, credit, technical strength) and written opinion; an expert who
    declares a conflict of interest is recorded as recused and gives no scores."""

    def work(s: Session, app: Application) -> dict[str, Any]:
        machine.check_application_transition(app.state, "conclude_expert_review")  # only during expert review
        review = s.scalar(select(ExpertReview).where(ExpertReview.application_id == app.id,
                                                     ExpertReview.expert == principal.username))
        if review is None:
            raise PermissionDenied("application.not_assigned",
                                   pmsg.NOT_ASSIGNED.format(username=principal.username), details={"rule": "R3.4"})
        if review.status != "pending":
            raise InvalidInput("application.already_reviewed",
                               pmsg.ALREADY_REVIEWED.format(username=principal.username))
        rec = s.scalar(select(StaffRecord).join(User, User.id == StaffRecord.user_id)
                       .where(User.username == principal.username))
        rules.check_no_conflict(principal.username, rec.affiliation if rec else None, _operator_code(s, app))
        review.submitted_at = utcnow()
        if conflict:
            review.status, review.conflict_declared, review.conflict_note = "recused", True, conflict_note
            return {"expert": principal.username, "recused": True, "rule": "R3.4"}
        rules.check_scores(scores, opinion)
        review.status, review.scores, review.opinion = "submitted", json.dumps(dict(scores)), opinion
        return {"expert": principal.username, "scores": dict(scores), "rule": "R3.4"}

    return _run(rt, principal, app_id, "expert_review", "application.expert_review", work)


def conclude_expert_review(rt: Runtime, principal: Principal, app_id: str, *, conclusion: str) -> ApplicationView:
    def work(s: Session, app: Application) -> dict[str, Any]:
        rules.check_reasons(conclusion)
        reviews = list(s.scalars(select(ExpertReview).where(ExpertReview.application_id == app.id)))
        pending = [r.expert for r in reviews if r.status == "pending"]
        done = [r for r in reviews if r.status == "submitted"]
        rules.check_reviews_complete(pending, len(done))
        app.expert_conclusion = conclusion
        avg = {n: round(sum(json.loads(r.scores)[n] for r in done) / len(done), 1) for n in rules.SCORE_NAMES}
        return {"reviews": len(done), "recused": len(reviews) - len(done) - len(pending), "mean_scores": avg}

    return _run(rt, principal, app_id, "conclude_expert_review", "application.review", work,
                transition="conclude_expert_review", reason=conclusion)


# ---------------------------------------------------------------------------------------------
# 5. final review (终审, R3.5) → 6. publicity (社会公开, R3.6)


def approve(rt: Runtime, principal: Principal, app_id: str, *, reasons: str, publicity_days: int = 7,
            today: date | None = None) -> ApplicationView:
    """Final review passed (proposed list to the government) and the public notice opens."""
    today = today or date.today()

    def work(s: Session, app: Application) -> dict[str, Any]:
        rules.check_reasons(reasons)
        rules.check_publicity_days(publicity_days)
        app.decision_reasons = reasons
        app.publicity_starts_on, app.publicity_ends_on = today, today + timedelta(days=publicity_days)
        notify(s, kind="publicity", organization_code=_operator_code(s, app), due_on=app.publicity_ends_on,
               object_type="application", object_id=app.id,
               message=pmsg.NOTIFY_PUBLICITY.format(id=app.id[:8], due=app.publicity_ends_on.isoformat()))
        return {"publicity_ends_on": app.publicity_ends_on.isoformat()}

    return _run(rt, principal, app_id, "approve", "application.review", work, transition="approve", reason=reasons)


def reject(rt: Runtime, principal: ActorLike, app_id: str, *, reasons: str) -> ApplicationView:
    def work(s: Session, app: Application) -> dict[str, Any]:
        rules.check_reasons(reasons)
        app.decision_reasons = reasons
        _end_renewal(rt, principal, s, app, "rejected")
        return {}

    return _run(rt, principal, app_id, "reject", "application.review", work, transition="reject", reason=reasons)


def _end_renewal(rt: Runtime, principal: ActorLike, s: Session, app: Application, how: str) -> None:
    """A renewal that does not succeed returns its grant from ``renewing`` to ``active`` (its old term)."""
    if app.renewal_of:
        g = s.get(Grant, app.renewal_of)
        if g is not None and g.status == "renewing":
            grants.transition(rt, principal, g.id, "renewal_lapsed", reason=how, session=s,  # type: ignore[arg-type]
                              details={"application_id": app.id}, check_permission=False)


def file_objection(rt: Runtime, app_id: str, *, objector: str, text: str, today: date | None = None) -> str:
    """Anyone may object during the publicity period (no account needed); the authority must answer."""
    today = today or date.today()
    actor = Applicant(username=f"public:{objector[:40]}")
    oid = new_id()

    def work(s: Session, app: Application) -> dict[str, Any]:
        rules.check_objection_open(app.state, app.publicity_ends_on, today)
        if not text.strip() or not objector.strip():
            raise InvalidInput("application.reasons_required", pmsg.REASONS_REQUIRED)
        s.add(Objection(id=oid, application_id=app.id, objector=objector[:100], text=text))
        notify(s, kind="objection", organization_code=_operator_code(s, app), object_type="application",
               object_id=app.id, message=pmsg.NOTIFY_OBJECTION.format(id=app.id[:8]))
        return {"objection_id": oid, "rule": "R3.6"}

    _run(rt, actor, app_id, "objection", None, work)
    return oid


def answer_objection(rt: Runtime, principal: Principal, objection_id: str, *, answer: str) -> ApplicationView:
    authorize(rt, principal, "application.review", object_type="objection", object_id=objection_id)
    with rt.store.session() as s:
        o = s.get(Objection, objection_id)
        if o is None:
            raise NotFound("objection.not_found", pmsg.OBJECTION_NOT_FOUND.format(id=objection_id))
        app_id = o.application_id

    def work(s: Session, app: Application) -> dict[str, Any]:
        o = s.get(Objection, objection_id)
        assert o is not None
        if o.answer is not None:
            raise InvalidInput("objection.answered", pmsg.OBJECTION_ANSWERED)
        rules.check_reasons(answer)
        o.answer, o.answered_by, o.answered_at = answer, principal.username, utcnow()
        return {"objection_id": objection_id, "rule": "R3.6"}

    return _run(rt, principal, app_id, "answer_objection", "application.review", work)


# ---------------------------------------------------------------------------------------------
# 7. filing (授权备案, R3.7)


def file_with_government(rt: Runtime, principal: Principal, app_id: str, *, reference: str,
                         filed_with: str = "上级人民政府", today: date | None = None) -> ApplicationView:
    today = today or date.today()

    def work(s: Session, app: Application) -> dict[str, Any]:
        unanswered = len(list(s.scalars(select(Objection.id).where(Objection.application_id == app.id,
                                                                   Objection.answer.is_(None)))))
        rules.check_publicity_closed(app.publicity_ends_on, unanswered, today)
        rules.check_filing_reference(reference)
        app.filing_reference, app.filed_with = reference, filed_with
        return {"reference": reference, "filed_with": filed_with}

    return _run(rt, principal, app_id, "file", "application.review", work, transition="file")


# ---------------------------------------------------------------------------------------------
# 8. agreement (签订协议, R3.8) and the emergency plan (一授权一预案, R6.2b)


def sign_agreement(rt: Runtime, principal: Principal, app_id: str) -> ApplicationView:
    """Generates the agreement (HTML, PDF) from the application and seals it with the contract seal."""
    from opdomain.lifecycle import agreement

    written: list[Any] = []

    def work(s: Session, app: Application) -> dict[str, Any]:
        row, files = agreement.generate_and_seal(rt, principal, s, _view(s, app))
        written.extend(files)
        app.agreement_id = row.id
        return {"agreement_id": row.id, "digest": row.digest, "algorithm": row.algorithm, "key_id": row.key_id}

    try:
        return _run(rt, principal, app_id, "sign_agreement", "agreement.seal", work, transition="sign_agreement")
    except DomainError:
        for f in written:  # nothing half-done: the transaction rolled back, so do the files
            f.unlink(missing_ok=True)
        raise


def file_emergency_plan(rt: Runtime, principal: Principal, app_id: str, *, title: str, text: str,
                        drills: Sequence[Mapping[str, str]] = ()) -> ApplicationView:
    """The authority, with the security departments, files the plan of this authorization (R6.2b)."""

    def work(s: Session, app: Application) -> dict[str, Any]:
        if not title.strip() or not text.strip():
            raise InvalidInput("emergency_plan.incomplete", pmsg.PLAN_INCOMPLETE, details={"rule": "R6.2b"})
        sha = hashlib.sha256(text.encode()).hexdigest()
        s.add(EmergencyPlan(application_id=app.id, title=title, text=text, sha256=sha,
                            drills=json.dumps(list(drills), ensure_ascii=False), filed_by=principal.username))
        return {"title": title, "sha256": sha, "rule": "R6.2b"}

    return _run(rt, principal, app_id, "file_emergency_plan", "emergency_plan.manage", work)


# ---------------------------------------------------------------------------------------------
# 9. activation: the grant comes into being (or a renewal extends it)


def activate(rt: Runtime, principal: Principal, app_id: str) -> ApplicationView:
    def work(s: Session, app: Application) -> dict[str, Any]:
        has_plan = s.scalar(select(EmergencyPlan.id).where(EmergencyPlan.application_id == app.id)) is not None
        rules.check_emergency_plan(has_plan)
        scenario = json.loads(app.scenarios)[0]
        if app.renewal_of:
            g = grants._load(s, app.renewal_of)
            g.ends_on, g.agreement_id = app.ends_on, app.agreement_id
            grants.transition(rt, principal, g.id, "renew", reason="renewal activated", session=s,
                              details={"application_id": app.id, "ends_on": app.ends_on.isoformat()})
            app.grant_id = g.id
        else:
            view = grants.create_grant(rt, principal, operator_code=_operator_code(s, app), scenario=scenario["name"],
                                       domain_area=scenario["domain_area"], columns={}, starts_on=app.starts_on,
                                       ends_on=app.ends_on, k=app.k,
                                       consent_subjects=json.loads(app.consent_subjects or "[]"),
                                       application_id=app.id, agreement_id=app.agreement_id, session=s)
            app.grant_id = view.id
            _event(s, "grant", view.id, "activate", principal, "", "active", details={"application_id": app.id})
        return {"grant_id": app.grant_id}

    return _run(rt, principal, app_id, "activate", "application.review", work, transition="activate")
