"""Pure rules of the authorization process (授权程序, rules 三), agreement, renewal and data requests.

``check_*`` raise a :class:`~opdomain.errors.DomainError` whose ``details["rule"]`` names the article;
``can_*`` return a bool. No I/O: services load the facts and call these.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from opdomain.errors import Conflict, InvalidInput, PermissionDenied
from opdomain.lifecycle import messages_process as pmsg
from opdomain.lifecycle import policy

#: 三.(二): the materials every application carries (kind → Chinese name)
REQUIRED_MATERIALS: dict[str, str] = {
    "application_form": "授权运营申请表",
    "audit_report": "最近一年第三方审计报告",
    "financial_report": "最近一年财务会计报告",
    "security_commitment": "数据安全承诺书",
    "risk_self_assessment": "安全风险自评报告",
}
OPTIONAL_MATERIALS: dict[str, str] = {"other": "其他材料"}
MATERIAL_KINDS = {**REQUIRED_MATERIALS, **OPTIONAL_MATERIALS}
#: 一.(七) pricing modes
PRICING_MODES: dict[str, str] = {"conditional_free": "有条件无偿", "time_limited_free": "限期无偿",
                                 "conditional_paid": "有条件有偿"}
SCORE_NAMES = ("security", "credit", "technical")
MIN_EXPERTS = 3
MIN_PUBLICITY_DAYS = 5
#: 三.(九) R3.9b: renewal applied for no later than 6 months before expiry
RENEWAL_MONTHS = 6
#: notifications of the renewal deadline start this many days ahead of it
RENEWAL_WARNING_DAYS = 60
EXAM_PASS_MARK = 80


def _rule(exc_type: type, code: str, message: Any, rule: str, **details: Any) -> Exception:
    return exc_type(code, message, details={"rule": rule, **details})  # type: ignore[no-any-return]


def add_months(d: date, months: int) -> date:
    """The same day ``months`` later (or earlier), clamped to the month's last day."""
    m = d.month - 1 + months
    year, month = d.year + m // 12, m % 12 + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


# ---------------------------------------------------------------------------------------------
# announcement (三.(一))


def check_announcement(areas: Sequence[str], opens_on: date, closes_on: date) -> None:
    if not areas:
        raise _rule(InvalidInput, "announcement.no_areas", pmsg.NO_AREAS, "R3.1")
    for area in areas:
        policy.check_scenario("-", area)
    if closes_on < opens_on:
        raise _rule(InvalidInput, "announcement.bad_window", pmsg.BAD_WINDOW, "R3.1")


def check_window_open(announcement_id: str, opens_on: date, closes_on: date, today: date) -> None:
    if not opens_on <= today <= closes_on:
        raise _rule(Conflict, "application.window_closed",
                    pmsg.ANNOUNCEMENT_CLOSED.format(id=announcement_id, opens_on=opens_on.isoformat(),
                                                    closes_on=closes_on.isoformat()), "R3.1")


# ---------------------------------------------------------------------------------------------
# application (三.(二)), 一.(五) no scenario, no authorization, minimum necessary


@dataclass(frozen=True)
class Scenario:
    name: str
    domain_area: str
    goals: str
    plan: str
    security_measures: str


@dataclass(frozen=True)
class Requirement:
    """One dataset of the data requirement list: column → purpose."""

    dataset: str
    columns: Mapping[str, str]


def check_scenarios(scenarios: Sequence[Scenario], announced_areas: Collection[str] | None = None) -> None:
    """R1.5a: at least one scenario, each with its area, goals and plan and security measures."""
    if not scenarios:
        raise _rule(InvalidInput, "application.no_scenario", pmsg.NO_SCENARIO, "R1.5a")
    for sc in scenarios:
        if not all(str(v).strip() for v in (sc.name, sc.goals, sc.plan, sc.security_measures)):
            raise _rule(InvalidInput, "application.scenario_incomplete",
                        pmsg.SCENARIO_INCOMPLETE.format(name=sc.name or "-"), "R1.5a")
        policy.check_scenario(sc.name, sc.domain_area)
        if announced_areas is not None and sc.domain_area not in announced_areas:
            raise _rule(InvalidInput, "application.area_not_announced",
                        pmsg.AREA_NOT_ANNOUNCED.format(area=sc.domain_area), "R3.1")


def check_requirements(requirements: Sequence[Requirement],
                       catalog: Mapping[str, policy.CatalogDataset | None]) -> None:
    """R1.5b minimum necessary (every column has a purpose); R1.1c nothing forbidden to open; every
    dataset and column exists."""
    if not requirements or not any(r.columns for r in requirements):
        raise _rule(InvalidInput, "application.no_requirements", pmsg.NO_REQUIREMENTS, "R1.5b")
    for r in requirements:
        for col, purpose in r.columns.items():
            if not str(purpose or "").strip():
                raise _rule(InvalidInput, "application.purpose_required",
                            pmsg.PURPOSE_REQUIRED.format(dataset=r.dataset, column=col), "R1.5b")
    requested = {r.dataset: list(r.columns) for r in requirements}
    try:
        policy.check_grantable(requested, catalog)
    except InvalidInput as exc:
        rule = "R1.1c" if exc.code == "grant.forbidden_dataset" else "R1.5b"
        raise InvalidInput(exc.code, exc.message, details={"rule": rule}) from None


def check_pricing(mode: str, fees: str) -> None:
    if mode not in PRICING_MODES:
        raise _rule(InvalidInput, "application.bad_pricing_mode", pmsg.BAD_PRICING_MODE.format(value=mode), "R1.7")
    if mode == "conditional_paid" and not fees.strip():
        raise _rule(InvalidInput, "application.fees_required", pmsg.FEES_REQUIRED, "R3.8")


def check_term(starts_on: date, ends_on: date) -> None:
    try:
        policy.check_term(starts_on, ends_on)
    except InvalidInput as exc:
        raise InvalidInput(exc.code, exc.message, details={"rule": "R3.9a"}) from None


def check_material_kind(kind: str) -> None:
    if kind not in MATERIAL_KINDS:
        raise _rule(InvalidInput, "application.bad_material_kind",
                    pmsg.BAD_MATERIAL_KIND.format(value=kind, choices=", ".join(MATERIAL_KINDS)), "R3.2")


def missing_materials(present: Iterable[str], extra_required: Iterable[str] = ()) -> list[str]:
    """Every required kind not among ``present``, in the rules' order (the one-time notice's list)."""
    have = set(present)
    wanted = list(REQUIRED_MATERIALS) + [k for k in extra_required if k not in REQUIRED_MATERIALS]
    return [k for k in wanted if k not in have]


def describe_missing(kinds: Sequence[str]) -> str:
    return "、".join(f"{MATERIAL_KINDS.get(k, k)} {k}" for k in kinds)


def check_materials_complete(present: Iterable[str], extra_required: Iterable[str] = ()) -> None:
    missing = missing_materials(present, extra_required)
    if missing:
        raise _rule(Conflict, "application.materials_missing", pmsg.MATERIALS_MISSING.format(
            missing=describe_missing(missing)), "R3.3", missing=missing)


# ---------------------------------------------------------------------------------------------
# pre-review (三.(三)): one notice listing everything missing, a resubmission deadline


def check_can_notify_missing(notice_given: bool, missing: Sequence[str], deadline: date, today: date) -> None:
    if notice_given:
        raise _rule(Conflict, "application.notice_already_given", pmsg.NOTICE_ALREADY_GIVEN, "R3.3")
    if not missing:
        raise _rule(Conflict, "application.nothing_missing", pmsg.NOTHING_MISSING, "R3.3")
    if deadline <= today:
        raise _rule(InvalidInput, "application.bad_deadline", pmsg.BAD_DEADLINE, "R3.3")


def check_resubmission_in_time(deadline: date | None, today: date) -> None:
    if deadline is not None and today > deadline:
        raise _rule(Conflict, "application.resubmission_late",
                    pmsg.RESUBMIT_LATE.format(deadline=deadline.isoformat()), "R3.3")


def can_lapse(deadline: date | None, today: date) -> bool:
    return deadline is not None and today > deadline


# ---------------------------------------------------------------------------------------------
# expert review (三.(四))


def check_no_conflict(expert: str, affiliation: str | None, operator_code: str) -> None:
    """An expert never reviews the application of the company they work for (R3.4)."""
    if affiliation and affiliation == operator_code:
        raise _rule(PermissionDenied, "application.conflict_of_interest",
                    pmsg.CONFLICT_OF_INTEREST.format(username=expert, operator=operator_code), "R3.4")


def check_expert_panel(experts: Sequence[str], minimum: int = MIN_EXPERTS) -> None:
    if len(set(experts)) < minimum:
        raise _rule(InvalidInput, "application.too_few_experts", pmsg.TOO_FEW_EXPERTS.format(n=minimum), "R3.4")


def check_scores(scores: Mapping[str, object], opinion: str) -> None:
    for name in SCORE_NAMES:
        value = scores.get(name)
        if type(value) is not int or not 0 <= value <= 100:
            raise _rule(InvalidInput, "application.bad_score", pmsg.BAD_SCORE.format(name=name, value=value), "R3.4")
    if not opinion.strip():
        raise _rule(InvalidInput, "application.opinion_required", pmsg.OPINION_REQUIRED, "R3.4")


def check_reviews_complete(pending: Sequence[str], reviewed: int, minimum: int = MIN_EXPERTS) -> None:
    if pending:
        raise _rule(Conflict, "application.reviews_outstanding",
                    pmsg.REVIEWS_OUTSTANDING.format(pending=", ".join(pending)), "R3.4")
    if reviewed < minimum:
        raise _rule(Conflict, "application.too_few_experts", pmsg.TOO_FEW_EXPERTS.format(n=minimum), "R3.4")


def check_reasons(reasons: str) -> None:
    if not reasons or not reasons.strip():
        raise _rule(InvalidInput, "application.reasons_required", pmsg.REASONS_REQUIRED, "R3.5")


# ---------------------------------------------------------------------------------------------
# publicity (三.(六)), filing (三.(七))


def check_publicity_days(days: int) -> None:
    if days < MIN_PUBLICITY_DAYS:
        raise _rule(InvalidInput, "application.publicity_too_short",
                    pmsg.PUBLICITY_TOO_SHORT.format(n=MIN_PUBLICITY_DAYS), "R3.6")


def check_publicity_closed(ends_on: date | None, unanswered: int, today: date) -> None:
    if ends_on is not None and today <= ends_on:
        raise _rule(Conflict, "application.publicity_not_over",
                    pmsg.PUBLICITY_NOT_OVER.format(ends_on=ends_on.isoformat()), "R3.6")
    if unanswered:
        raise _rule(Conflict, "application.objections_unanswered",
                    pmsg.OBJECTIONS_UNANSWERED.format(n=unanswered), "R3.6")


def check_objection_open(state: str, ends_on: date | None, today: date) -> None:
    if state != "publicity" or ends_on is None or today > ends_on:
        raise _rule(Conflict, "application.not_in_publicity", pmsg.NOT_IN_PUBLICITY, "R3.6")


def check_filing_reference(reference: str) -> None:
    if not reference.strip():
        raise _rule(InvalidInput, "application.filing_reference_required", pmsg.FILING_REF_REQUIRED, "R3.7")


# ---------------------------------------------------------------------------------------------
# activation (六.(二)), renewal (三.(九))


def check_emergency_plan(has_plan: bool) -> None:
    if not has_plan:
        raise _rule(Conflict, "application.no_emergency_plan", pmsg.NO_EMERGENCY_PLAN, "R6.2b")


def renewal_deadline(ends_on: date) -> date:
    """The last day a renewal may be applied for: 6 months before the term's last day (R3.9b)."""
    return add_months(ends_on, -RENEWAL_MONTHS)


def renewal_warning_from(ends_on: date) -> date:
    return renewal_deadline(ends_on) - timedelta(days=RENEWAL_WARNING_DAYS)


def can_apply_renewal(ends_on: date, today: date) -> bool:
    return today <= renewal_deadline(ends_on)


def check_renewal_window(ends_on: date, today: date) -> None:
    if not can_apply_renewal(ends_on, today):
        raise _rule(Conflict, "application.renewal_too_late",
                    pmsg.RENEWAL_TOO_LATE.format(deadline=renewal_deadline(ends_on).isoformat()), "R3.9b")


def check_renewal_term(current_ends_on: date, starts_on: date) -> None:
    if starts_on != current_ends_on + timedelta(days=1):
        raise _rule(InvalidInput, "application.renewal_term", pmsg.RENEWAL_TERM, "R3.9b")


def check_due(ends_on: date, today: date) -> None:
    if today <= ends_on:
        raise _rule(Conflict, "grant.not_due", pmsg.NOT_DUE.format(ends_on=ends_on.isoformat()), "R3.9a")


# ---------------------------------------------------------------------------------------------
# data requests (四.(二))


def check_request_in_scope(dataset: str, columns: Mapping[str, str], scope: Mapping[str, Collection[str]]) -> None:
    """R4.2a: only datasets and columns of the agreement, each with a purpose (R1.5b)."""
    allowed = scope.get(dataset, ())
    outside = [c for c in columns if c not in allowed]
    if not columns or outside:
        raise _rule(PermissionDenied, "data_request.out_of_scope",
                    pmsg.REQUEST_OUT_OF_SCOPE.format(dataset=dataset, columns=", ".join(outside) or "-"), "R4.2a")
    for col, purpose in columns.items():
        if not str(purpose or "").strip():
            raise _rule(InvalidInput, "application.purpose_required",
                        pmsg.PURPOSE_REQUIRED.format(dataset=dataset, column=col), "R1.5b")


def check_unmasked_allowed(unmasked: bool, consent_subjects: Collection[str]) -> None:
    """R4.2b: unmasked values only for consenting subjects, i.e. only where the scenario has consent."""
    if unmasked and not consent_subjects:
        raise _rule(PermissionDenied, "data_request.unmasked_without_consent", pmsg.UNMASKED_NOT_ALLOWED, "R4.2b")
