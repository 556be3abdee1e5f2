"""The lifecycle console pages of issue 4 ("console pages for every step and every role"):

- ``GET  /applications/new``, ``POST /applications``              application.apply (operator admin; a
  renewal with ``?renewal_of=<grant>``, offered when ``machine.grant_targets`` lists ``apply_renewal``)
- ``GET  /data-requests``                                          data_request.read (数据需求申请)
- ``POST /grants/{id}/data-requests``                              data_request.create (operator admin)
- ``POST /data-requests/{id}/review``                              data_request.review (provider department)
- ``POST /grants/{id}/cancellation-request``                       grant.request_cancellation (operator admin)
- ``GET|POST /confidentiality``                                    confidentiality.sign (保密协议)
- ``GET  /provider/applications``                                  application.read_own_datasets (provider)

Same services and permissions as ``lifecycle.api_process``; every POST carries the CSRF token. This
router is mounted before ``lifecycle_pages`` so that ``/applications/new`` is not an application id.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from starlette.responses import Response

from opdomain.catalog.models import Dataset
from opdomain.errors import DomainError, InvalidInput, Message
from opdomain.identity.api import runtime
from opdomain.lifecycle import applications, data_requests, ending, grants, machine, people, provider_view
from opdomain.lifecycle import policy_process as rules
from opdomain.web.console.guard import page
from opdomain.web.console.i18n import N_, translate
from opdomain.web.console.labels import NavItem, add_nav_item
from opdomain.web.console.lifecycle_pages import GROUP, _date, _lines, _page
from opdomain.web.console.render import PageContext

router = APIRouter(include_in_schema=False)

add_nav_item(NavItem("/data-requests", N_("数据需求申请"), "data_request.read", "data-requests", GROUP))
add_nav_item(NavItem("/provider/applications", N_("涉及本部门数据的申请"), "application.read_own_datasets",
                     "provider-applications", GROUP))
add_nav_item(NavItem("/confidentiality", N_("保密协议"), "confidentiality.sign", "confidentiality", N_("安全管理")))

BAD_LINE = Message(N_("每行填写“字段: 用途”"), translate("en", "每行填写“字段: 用途”"))
#: how many data requirement rows the new-application form offers
REQUIREMENT_ROWS = 3

#: the text the person signs (保密协议, R4.4b); its SHA-256 is recorded
CONFIDENTIALITY_TEXT = (
    "保密协议\n"
    "一、本人在公共数据授权运营域内工作期间知悉的公共数据、加工结果及相关技术资料均属保密信息。\n"
    "二、本人仅在授权范围内、为授权的应用场景使用数据，不以任何方式将原始数据带出运营域。\n"
    "三、本人不得尝试识别个人或企业身份，不得向无关人员披露保密信息。\n"
    "四、本人离职后仍承担保密义务；违反本协议的，依法承担相应责任。\n")


def _purposes(text: str) -> dict[str, str]:
    """``column: purpose`` per line (a full-width colon works too)."""
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip().replace("：", ":")
        if not line:
            continue
        col, sep, purpose = line.partition(":")
        if not sep or not col.strip():
            raise InvalidInput("form.bad_purpose_line", BAD_LINE)
        out[col.strip()] = purpose.strip()
    return out


def _datasets(request: Request) -> list[tuple[str, str, list[str]]]:
    with runtime(request).store.session() as s:
        return [(d.name, d.title, [c.name for c in d.columns])
                for d in s.scalars(select(Dataset).where(Dataset.forbidden.is_(False)).order_by(Dataset.name))]


# --- 1. creating an application (提交申请, R3.2) and renewal (续期, R3.9b) ----------------------------


def _new_form(request: Request, ctx: PageContext, *, status: int = 200, error: DomainError | None = None,
              form: dict[str, Any] | None = None) -> Response:
    today = date.today()
    defaults = {"starts_on": today.isoformat(), "ends_on": (today + timedelta(days=364)).isoformat(), "k": "10",
                "pricing_mode": "conditional_free"}
    return _page(replace(ctx, here="/applications/new"), "lifecycle/application_new.html", "applications",
                 status=status, error=error, form={**defaults, **(form or {})},
                 announcements=applications.list_announcements(runtime(request)), datasets=_datasets(request),
                 rows=range(REQUIREMENT_ROWS), pricing_modes=rules.PRICING_MODES)


@router.get("/applications/new")
def application_new(request: Request, renewal_of: str = "",
                    ctx: PageContext = Depends(page("application.apply"))) -> Response:
    return _new_form(request, ctx, form={"renewal_of": renewal_of[:40]})


@router.post("/applications")
async def application_create(request: Request, ctx: PageContext = Depends(page("application.apply"))) -> Response:
    data = await request.form()
    form = {k: v for k, v in data.items() if isinstance(v, str)}
    try:
        requirements = []
        for i in range(REQUIREMENT_ROWS):
            dataset = form.get(f"dataset_{i}", "").strip()
            if dataset:
                requirements.append({"dataset": dataset, "columns": _purposes(form.get(f"columns_{i}", ""))})
        scenario = {key: form.get(key, "").strip() for key in ("name", "domain_area", "goals", "plan",
                                                               "security_measures")}
        k = form.get("k", "10").strip()
        view = applications.create_application(
            runtime(request), ctx.principal,  # type: ignore[arg-type]
            announcement_id=form.get("announcement_id", ""), scenarios=[scenario], requirements=requirements,
            starts_on=_date(form.get("starts_on", "")), ends_on=_date(form.get("ends_on", "")),
            pricing_mode=form.get("pricing_mode", ""), fees=form.get("fees", ""),
            k=int(k) if k.isdigit() else -1, consent_subjects=_lines(form.get("consent_subjects", "")),
            renewal_of=form.get("renewal_of", "").strip() or None)
    except DomainError as exc:
        if exc.code.startswith("auth."):
            raise
        return _new_form(request, ctx, status=exc.status, error=exc, form=form)
    return RedirectResponse(f"/applications/{view.id}?done=create", status_code=303)


# --- 2. data requests (数据需求申请, R4.2a) ----------------------------------------------------------


def _requests_page(request: Request, ctx: PageContext, *, status: int = 200, error: DomainError | None = None,
                   done: str = "") -> Response:
    rt = runtime(request)
    p = ctx.principal
    assert p is not None
    listed = data_requests.list_data_requests(rt, p)
    open_grants = []
    if ctx.can("data_request.create"):
        open_grants = [g for g in grants.list_grants(rt, p)
                       if g.status in machine.OPEN_GRANT_STATES and g.operator_code == p.organization_code]
    return _page(replace(ctx, here="/data-requests"), "lifecycle/data_requests.html", "data-requests",
                 status=status, items=listed, open_grants=open_grants, error=error, done=done,
                 datasets=_datasets(request))


@router.get("/data-requests")
def data_requests_index(request: Request, done: str = "",
                        ctx: PageContext = Depends(page("data_request.read"))) -> Response:
    return _requests_page(request, ctx, done=done[:40])


@router.post("/grants/{grant_id}/data-requests")
def data_request_create(grant_id: str, request: Request, dataset: str = Form(""), columns: str = Form(""),
                        ctx: PageContext = Depends(page("data_request.create"))) -> Response:
    try:
        data_requests.request_data(runtime(request), ctx.principal, grant_id,  # type: ignore[arg-type]
                                   dataset=dataset.strip(), columns=_purposes(columns))
    except DomainError as exc:
        if exc.code.startswith("auth."):
            raise
        return _requests_page(request, ctx, status=exc.status, error=exc)
    return RedirectResponse("/data-requests?done=request_data", status_code=303)


@router.post("/data-requests/{request_id}/review")
async def data_request_review(request_id: str, request: Request,
                              ctx: PageContext = Depends(page("data_request.review"))) -> Response:
    form = await request.form()
    decision = str(form.get("decision", ""))
    note = str(form.get("note", ""))
    chosen = [str(v) for v in form.getlist("approve")] if decision == "approve" else []
    try:
        if decision != "approve":
            rules.check_reasons(note)
        data_requests.review_data_request(runtime(request), ctx.principal, request_id,  # type: ignore[arg-type]
                                          approve=chosen, note=note[:4000])
    except DomainError as exc:
        if exc.code.startswith("auth."):
            raise
        return _requests_page(request, ctx, status=exc.status, error=exc)
    return RedirectResponse("/data-requests?done=review_data_request", status_code=303)


# --- 3. early cancellation request (提前注销申请, R3.9c) ----------------------------------------------


@router.post("/grants/{grant_id}/cancellation-request")
def grant_cancellation_request(grant_id: str, request: Request, reason: str = Form(""),
                               ctx: PageContext = Depends(page("grant.request_cancellation"))) -> Response:
    from opdomain.web.console.lifecycle_pages import _grant_page

    try:
        ending.request_cancellation(runtime(request), ctx.principal, grant_id, reason=reason)  # type: ignore[arg-type]
    except DomainError as exc:
        if exc.code.startswith("auth."):
            raise
        return _grant_page(request, ctx, grant_id, status=exc.status, error=exc)
    return RedirectResponse(f"/grants/{grant_id}?done=request_cancellation", status_code=303)


# --- 4. the confidentiality agreement (保密协议, R4.4b) ---------------------------------------------


def _confidentiality_page(request: Request, ctx: PageContext, *, status: int = 200,
                          error: DomainError | None = None, done: str = "") -> Response:
    assert ctx.principal is not None
    mine = people.staff_status(runtime(request), ctx.principal, ctx.principal.username)
    return _page(replace(ctx, here="/confidentiality"), "lifecycle/confidentiality.html", "confidentiality",
                 status=status, error=error, done=done, mine=mine, text=CONFIDENTIALITY_TEXT)


@router.get("/confidentiality")
def confidentiality_index(request: Request, done: str = "",
                          ctx: PageContext = Depends(page("confidentiality.sign"))) -> Response:
    return _confidentiality_page(request, ctx, done=done[:40])


@router.post("/confidentiality")
def confidentiality_sign(request: Request, agree: str = Form(""),
                         ctx: PageContext = Depends(page("confidentiality.sign"))) -> Response:
    try:
        if agree != "yes":
            raise InvalidInput("confidentiality.not_agreed",
                               Message(N_("请先勾选同意保密协议"), translate("en", "请先勾选同意保密协议")))
        people.sign_confidentiality(runtime(request), ctx.principal, document=CONFIDENTIALITY_TEXT)  # type: ignore[arg-type]
    except DomainError as exc:
        if exc.code.startswith("auth."):
            raise
        return _confidentiality_page(request, ctx, status=exc.status, error=exc)
    return RedirectResponse("/confidentiality?done=sign_confidentiality", status_code=303)


# --- 5. a provider's view of the applications that request its datasets ---------------------------


@router.get("/provider/applications")
def provider_applications(request: Request, ctx: PageContext = Depends(page("application.read_own_datasets"))
                          ) -> Response:
    listed = provider_view.applications_for_provider(runtime(request), ctx.principal)  # type: ignore[arg-type]
    return _page(ctx, "lifecycle/provider_applications.html", "provider-applications", apps=listed)
