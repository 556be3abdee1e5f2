"""The consent registry (个人/企业授权) in the console: counts, current states, one subject's history,
recording a consent or a withdrawal (rules 四.(二) R4.2b, 五.(一) R5.1a).

The pages call ``lifecycle.consent``; scoping (an operator admin sees only consents given to its own
organization) and every check are the service's. Subject ids are never shown in full: the lists show
the service's masked form (first 6, last 4 characters), and a submitted id is never echoed back into a
page. Lookups and acts are POST forms, so an id never sits in a URL that access logs keep.

Routes (each guarded by ``page(…)``; POST forms carry the CSRF token):

- ``GET  /consents``           consent.read    counts per scenario / operator / subject type, current states
- ``POST /consents/history``   consent.read    one subject's acts, oldest first
- ``GET  /consents/record``    consent.manage  the form to record a consent or a withdrawal
- ``POST /consents/record``    consent.manage  record a consent
- ``POST /consents/withdraw``  consent.manage  record a withdrawal
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import Response

from opdomain.errors import DomainError, Message
from opdomain.identity.api import runtime
from opdomain.identity.service import list_organizations
from opdomain.lifecycle import consent, grants
from opdomain.web.console import workspace_views as views
from opdomain.web.console.guard import page
from opdomain.web.console.i18n import N_
from opdomain.web.console.labels import SUBJECTS, NavItem, add_nav_item
from opdomain.web.console.render import PageContext, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
_GROUP = N_("授权运营")

add_nav_item(NavItem("/consents", N_("个人/企业授权"), "consent.read", "consents", _GROUP))
add_nav_item(NavItem("/consents/record", N_("登记个人/企业授权"), "consent.manage", "consent-record", _GROUP))


@dataclass(frozen=True)
class ConsentFilter:
    scenario: str = ""
    operator: str = ""
    subject_type: str = ""
    withdrawn: bool = False

    def query(self, **extra: Any) -> str:
        values: dict[str, Any] = {k: v for k, v in (("scenario", self.scenario), ("operator", self.operator),
                                                    ("subject_type", self.subject_type)) if v}
        if self.withdrawn:
            values["withdrawn"] = "1"
        values.update({k: v for k, v in extra.items() if v})
        return urlencode(values)


@dataclass(frozen=True)
class ScopeCount:
    scenario: str
    operator_code: str
    subject_type: str
    granted: int
    withdrawn: int


@dataclass(frozen=True)
class Recorded:
    """What the record page confirms after an act (the id only masked)."""

    action: str
    subject_type: str
    subject_masked: str
    scenario: str
    operator_code: str
    digest: str


def _operators(request: Request) -> dict[str, str]:
    return {o.code: o.name for o in list_organizations(runtime(request)) if o.kind == "operator"}


def counts(states: list[consent.ConsentView]) -> list[ScopeCount]:
    """Current states (latest act per subject) → how many consent now and how many withdrew, per scope."""
    tally: Counter[tuple[str, str, str, str]] = Counter(
        (s.scenario, s.operator_code, s.subject_type, s.action) for s in states)
    scopes = sorted({k[:3] for k in tally})
    return [ScopeCount(*scope, granted=tally[(*scope, consent.GRANTED)], withdrawn=tally[(*scope, consent.WITHDRAWN)])
            for scope in scopes]


def _registry_page(request: Request, ctx: PageContext, form: ConsentFilter, page_no: int = 1, *,
                   status: int = 200, history: list[consent.ConsentView] | None = None,
                   looked_up: str = "", error: Message | None = None) -> Response:
    rt = runtime(request)
    assert ctx.principal is not None
    everything = consent.list_consents(rt, ctx.principal, include_withdrawn=True, limit=10**9)
    shown = consent.list_consents(rt, ctx.principal, scenario=form.scenario or None,
                                  operator_code=form.operator or None, subject_type=form.subject_type or None,
                                  include_withdrawn=form.withdrawn, limit=10**9)
    pages = max(1, -(-len(shown) // PAGE_SIZE))
    page_no = min(max(1, page_no), pages)
    items = shown[(page_no - 1) * PAGE_SIZE:page_no * PAGE_SIZE]
    ctx = replace(ctx, here="/consents" + (f"?{form.query()}" if form.query() else ""))
    return render(ctx, "consent/index.html", status=status, section="consents", wv=views, form=form,
                  summary=counts(everything), items=items, total=len(shown), page_no=page_no, pages=pages,
                  page_size=PAGE_SIZE, operators=_operators(request),
                  scenarios=sorted({s.scenario for s in everything}), history=history, looked_up=looked_up,
                  error=error, subjects=SUBJECTS)


@router.get("/consents")
def consents_index(request: Request, scenario: str = "", operator: str = "", subject_type: str = "",
                   withdrawn: bool = False, page_no: int = Query(1, alias="page", ge=1),
                   ctx: PageContext = Depends(page("consent.read"))) -> Response:
    form = ConsentFilter(scenario.strip()[:200], operator.strip()[:64],
                         subject_type if subject_type in SUBJECTS else "", withdrawn)
    return _registry_page(request, ctx, form, page_no)


@router.post("/consents/history")
def consent_history(request: Request, subject_type: str = Form(""), subject_id: str = Form(""),
                    scenario: str = Form(""), operator: str = Form(""),
                    ctx: PageContext = Depends(page("consent.read"))) -> Response:
    assert ctx.principal is not None
    try:
        history = consent.consent_history(runtime(request), ctx.principal, subject_type=subject_type,
                                          subject_id=subject_id[:64], scenario=scenario.strip() or None,
                                          operator_code=operator.strip() or None)
    except DomainError as exc:
        return _registry_page(request, ctx, ConsentFilter(), status=exc.status, error=exc.message)
    return _registry_page(request, ctx, ConsentFilter(), history=history,
                          looked_up=views.mask_subject_id(subject_id))


def _record_page(request: Request, ctx: PageContext, *, status: int = 200, recorded: Recorded | None = None,
                 error: Message | None = None, error_code: str = "", values: dict[str, str] | None = None) -> Response:
    scenarios: set[str] = set()
    if ctx.can("grant.read"):
        scenarios |= {g.scenario for g in grants.list_grants(runtime(request), ctx.principal)}  # type: ignore[arg-type]
    ctx = replace(ctx, here="/consents/record")
    return render(ctx, "consent/record.html", status=status, section="consent-record", wv=views,
                  operators=_operators(request), scenarios=sorted(scenarios), recorded=recorded, error=error,
                  error_code=error_code, values=values or {"subject_type": "enterprise", "channel": "counter"},
                  subjects=SUBJECTS, channels=consent.CHANNELS)


@router.get("/consents/record")
def consent_record_form(request: Request, ctx: PageContext = Depends(page("consent.manage"))) -> Response:
    return _record_page(request, ctx)


def _act(request: Request, ctx: PageContext, action: str, subject_type: str, subject_id: str, scenario: str,
         operator: str, channel: str, note: str) -> Response:
    assert ctx.principal is not None
    act = consent.record_consent if action == consent.GRANTED else consent.withdraw_consent
    # kept for the next entry (a desk records many subjects for one scope); the id itself never is
    values = {"subject_type": subject_type, "scenario": scenario, "operator": operator, "channel": channel}
    try:
        result = act(runtime(request), ctx.principal, subject_type=subject_type, subject_id=subject_id[:64],
                     scenario=scenario.strip(), operator_code=operator.strip(), channel=channel, note=note[:2000])
    except DomainError as exc:
        return _record_page(request, ctx, status=exc.status, error=exc.message, error_code=exc.code, values=values)
    recorded = Recorded(action, subject_type, views.mask_subject_id(subject_id), scenario.strip(), operator.strip(),
                        result.digest)
    return _record_page(request, ctx, recorded=recorded, values=values)


@router.post("/consents/record")
def consent_record(request: Request, subject_type: str = Form(""), subject_id: str = Form(""),
                   scenario: str = Form(""), operator: str = Form(""), channel: str = Form("counter"),
                   note: str = Form(""), ctx: PageContext = Depends(page("consent.manage"))) -> Response:
    return _act(request, ctx, consent.GRANTED, subject_type, subject_id, scenario, operator, channel, note)


@router.post("/consents/withdraw")
def consent_withdraw(request: Request, subject_type: str = Form(""), subject_id: str = Form(""),
                     scenario: str = Form(""), operator: str = Form(""), channel: str = Form("counter"),
                     note: str = Form(""), ctx: PageContext = Depends(page("consent.manage"))) -> Response:
    return _act(request, ctx, consent.WITHDRAWN, subject_type, subject_id, scenario, operator, channel, note)
