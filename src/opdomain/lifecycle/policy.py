"""Pure rules of grants and workspace access: ``check_*`` raise, ``can_*`` return a bool.

No I/O here: services load the facts and call these (STYLE: rules apart from I/O).

- R1.1c 一.(一): data forbidden to open (禁止开放) is never authorized.
- R1.5a 一.(五): no scenario, no authorization.
- R1.6a 一.(六): a grant names one of the priority domain areas.
- R3.9a 三.(九): the term is at most 3 years.
- R4.2b 四.(二): the consent requirement names person and/or enterprise subjects.
- R4.4c / R4.5a 四.(四)/(五): only the operator's analysts work in a grant's workspace, only while the
  grant is active (or renewing) and within its term.
- R4.1 四.(一), R4.4b 四.(四): safe people — an analyst enters only after real-name verification, a passed
  exam and a signed confidentiality agreement, and not after leaving the operator.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Protocol

from opdomain.errors import Conflict, InvalidInput, PermissionDenied
from opdomain.lifecycle import messages as msg
from opdomain.lifecycle import messages_process as pmsg
from opdomain.lifecycle.machine import GRANT_TRANSITIONS, OPEN_GRANT_STATES, GrantStatus

#: R3.9a: the term is negotiated, generally at most 3 years
MAX_TERM_YEARS = 3
#: R1.6a: priority domain areas (reference data)
DOMAIN_AREAS: tuple[str, ...] = ("医疗健康", "文化教育", "普惠金融", "交通物流", "工业制造", "城市治理")
SUBJECT_TYPES: tuple[str, ...] = ("person", "enterprise")
K_RANGE = (2, 1000)


#: the status of a grant and its transitions are declared in :mod:`opdomain.lifecycle.machine`
#: (re-exported here for the callers of the first slice)
TRANSITIONS: frozenset[tuple[GrantStatus, GrantStatus]] = frozenset(
    (GrantStatus(src), GrantStatus(t.target)) for t in GRANT_TRANSITIONS for src in t.sources)


@dataclass(frozen=True)
class CatalogColumn:
    """What the rules need to know of a catalog column."""

    name: str
    subject: str | None


@dataclass(frozen=True)
class CatalogDataset:
    name: str
    forbidden: bool
    forbidden_category: str | None
    has_data: bool
    columns: tuple[CatalogColumn, ...]


def add_years(d: date, years: int) -> date:
    """The same day ``years`` later (29 February → 28 February)."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def three_year_term(start: date) -> tuple[date, date]:
    """A full 3-year term starting on ``start`` (the last day included)."""
    return start, add_years(start, MAX_TERM_YEARS) - timedelta(days=1)


def check_term(starts_on: date, ends_on: date) -> None:
    """R3.9a: ``ends_on`` after ``starts_on`` and no later than 3 years after it."""
    if ends_on <= starts_on:
        raise InvalidInput("grant.bad_term", msg.BAD_TERM_ORDER)
    if ends_on > add_years(starts_on, MAX_TERM_YEARS):
        raise InvalidInput("grant.term_too_long",
                           msg.TERM_TOO_LONG.format(starts_on=starts_on.isoformat(), ends_on=ends_on.isoformat()))


def check_k(k: object) -> None:
    low, high = K_RANGE
    if type(k) is not int or not low <= k <= high:
        raise InvalidInput("grant.bad_k", msg.BAD_K.format(k=k))


def check_scenario(scenario: str, domain_area: str) -> None:
    """R1.5a: no scenario, no authorization; R1.6a: a priority domain area."""
    if not scenario or not scenario.strip():
        raise InvalidInput("grant.scenario_required", msg.SCENARIO_REQUIRED)
    if domain_area not in DOMAIN_AREAS:
        raise InvalidInput("grant.bad_domain_area",
                           msg.BAD_DOMAIN_AREA.format(area=domain_area, choices="、".join(DOMAIN_AREAS)))


def check_subject_types(types: Iterable[str]) -> None:
    for t in types:
        if t not in SUBJECT_TYPES:
            raise InvalidInput("grant.bad_subject_type", msg.BAD_SUBJECT_TYPE.format(value=t))


def check_grantable(requested: Mapping[str, Sequence[str]], catalog: Mapping[str, CatalogDataset | None]) -> None:
    """Every requested dataset exists, has data, is not forbidden to open (R1.1c), and has the columns."""
    if not requested or not any(requested.values()):
        raise InvalidInput("grant.no_columns", msg.NO_COLUMNS)
    for name, cols in requested.items():
        ds = catalog.get(name)
        if ds is None:
            raise InvalidInput("grant.unknown_dataset", msg.UNKNOWN_DATASET.format(name=name))
        if ds.forbidden:
            raise InvalidInput("grant.forbidden_dataset",
                               msg.FORBIDDEN_DATASET.format(name=name, category=ds.forbidden_category or "-"))
        if not cols:
            raise InvalidInput("grant.no_columns", msg.NO_COLUMNS)
        known = {c.name for c in ds.columns}
        unknown = [c for c in cols if c not in known]
        if unknown:
            raise InvalidInput("grant.unknown_column",
                               msg.UNKNOWN_COLUMNS.format(name=name, columns=", ".join(unknown)))
        if not ds.has_data:
            raise InvalidInput("grant.no_data", msg.NO_DATA_VERSION.format(name=name))


def granted_column_set(requested: Mapping[str, Sequence[str]],
                       catalog: Mapping[str, CatalogDataset]) -> dict[str, list[tuple[str, bool]]]:
    """The columns a grant records, per dataset, as (column, visible), in catalog order.

    A table's subject columns are always included, so that the analysis rule can count distinct
    data subjects (SPEC §5); those the analyst did not ask for are recorded as not visible.
    """
    out: dict[str, list[tuple[str, bool]]] = {}
    for name, cols in requested.items():
        wanted = set(cols)
        out[name] = [(c.name, c.name in wanted) for c in catalog[name].columns
                     if c.name in wanted or c.subject is not None]
    return out


# ---------------------------------------------------------------------------------------------
# workspace access


@dataclass(frozen=True)
class StaffFacts:
    """What the safe-people rules (R4.1, R4.4b) need of one person of an operator."""

    username: str
    real_name_verified_on: date | None = None
    exam_passed_on: date | None = None
    exam_score: int | None = None
    #: last day the exam result counts (None: no limit set by the authority)
    exam_valid_until: date | None = None
    confidentiality_signed_on: date | None = None
    confidentiality_digest: str | None = None
    left_on: date | None = None
    is_active: bool = True


class GrantLike(Protocol):
    """What the access rules read of a grant (a ``GrantView`` or ``GrantFacts``)."""

    @property
    def operator_code(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def starts_on(self) -> date: ...
    @property
    def ends_on(self) -> date: ...
    @property
    def staff(self) -> Mapping[str, StaffFacts]: ...


class PrincipalLike(Protocol):
    """What the access rules read of a caller (an ``identity.service.Principal`` or ``PrincipalFacts``)."""

    @property
    def username(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def organization_code(self) -> str: ...


@dataclass(frozen=True)
class GrantFacts:
    """What the access rule needs of a grant: its status, term and the operator's staff records."""

    id: str
    operator_code: str
    status: str
    starts_on: date
    ends_on: date
    staff: Mapping[str, StaffFacts] = field(default_factory=dict)


@dataclass(frozen=True)
class PrincipalFacts:
    role: str
    organization_code: str
    username: str = ""


def effective_status(grant: GrantLike, today: date) -> GrantStatus:
    """A live grant past its last day is expired, whether or not the scheduler has marked it yet."""
    status = GrantStatus(grant.status)
    if status.value in LIVE_STATES and today > grant.ends_on:
        return GrantStatus.EXPIRED
    return status


LIVE_STATES = frozenset({"active", "suspended", "sealed", "renewing"})


def check_safe_person(staff: StaffFacts | None, today: date) -> None:
    """R4.4b real-name verified, R4.1 exam passed (and still valid), R4.4b confidentiality agreement
    signed, and still with the operator. Raises PermissionDenied naming the rule that fails."""
    if staff is None or staff.real_name_verified_on is None:
        raise PermissionDenied("workspace.real_name_unverified", pmsg.REAL_NAME_UNVERIFIED,
                               details={"rule": "R4.4b"})
    if staff.left_on is not None and staff.left_on <= today or not staff.is_active:
        raise PermissionDenied("workspace.staff_left", pmsg.STAFF_LEFT, details={"rule": "R4.4b"})
    if staff.exam_passed_on is None or staff.exam_passed_on > today:
        raise PermissionDenied("workspace.exam_not_passed", pmsg.EXAM_NOT_PASSED, details={"rule": "R4.1"})
    if staff.exam_valid_until is not None and today > staff.exam_valid_until:
        raise PermissionDenied("workspace.exam_lapsed",
                               pmsg.EXAM_LAPSED.format(until=staff.exam_valid_until.isoformat()),
                               details={"rule": "R4.1"})
    if staff.confidentiality_signed_on is None or staff.confidentiality_signed_on > today:
        raise PermissionDenied("workspace.no_confidentiality_agreement", pmsg.NO_CONFIDENTIALITY,
                               details={"rule": "R4.4b"})


def can_be_safe_person(staff: StaffFacts | None, today: date) -> bool:
    try:
        check_safe_person(staff, today)
    except PermissionDenied:
        return False
    return True


def check_workspace_access(grant: GrantLike, principal: PrincipalLike, today: date) -> None:
    """R4.4c, R4.5a: the workspace of a grant is open only to analysts of the grant's operator, only
    while the grant is active (or renewing) and ``today`` lies within its term; R4.1, R4.4b: only to a
    safe person (:func:`check_safe_person`). Raises PermissionDenied (403)."""
    if principal.role != "analyst":
        raise PermissionDenied("workspace.not_analyst", msg.NOT_AN_ANALYST)
    if principal.organization_code != grant.operator_code:
        raise PermissionDenied("workspace.other_operator", msg.OTHER_OPERATOR)
    status = effective_status(grant, today)
    if status is GrantStatus.EXPIRED:
        raise PermissionDenied("workspace.grant_expired", msg.GRANT_EXPIRED.format(ends_on=grant.ends_on.isoformat()))
    if status.value not in OPEN_GRANT_STATES:
        raise PermissionDenied("workspace.grant_not_active",
                               msg.GRANT_NOT_ACTIVE.format(status=status.value,
                                                           status_zh=pmsg.GRANT_STATUS_ZH[status.value]))
    if today < grant.starts_on:
        raise PermissionDenied("workspace.grant_not_started",
                               msg.GRANT_NOT_STARTED.format(starts_on=grant.starts_on.isoformat()))
    check_safe_person(grant.staff.get(principal.username), today)


def can_use_workspace(grant: GrantLike, principal: PrincipalLike, today: date) -> bool:
    try:
        check_workspace_access(grant, principal, today)
    except PermissionDenied:
        return False
    return True


#: roles that see every grant; the others see only their own organization's
ALL_GRANTS_ROLES = frozenset({"authority_admin", "auditor"})


def can_read_grant(grant: GrantLike, principal: PrincipalLike) -> bool:
    return principal.role in ALL_GRANTS_ROLES or principal.organization_code == grant.operator_code


def check_read_grant(grant: GrantLike, principal: PrincipalLike) -> None:
    if not can_read_grant(grant, principal):
        raise PermissionDenied("grant.other_operator", msg.OTHER_OPERATOR_GRANT)


def check_transition(current: str, target: GrantStatus, action_zh: str, action_en: str) -> None:
    if (GrantStatus(current), target) not in TRANSITIONS:
        raise Conflict("grant.bad_transition",
                       msg.BAD_TRANSITION.format(status=current, action=action_zh, action_en=action_en))
