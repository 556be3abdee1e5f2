"""The authorization lifecycle in the console (SPEC §3, rules 三): announcements, applications and their
timeline, the public notice with objections, grants and sealed agreements, safe people, notifications.

The pages call the same services as ``lifecycle.api_process``; every rule is theirs. Which action forms
an application or grant page shows comes from the machine's transition tables (``lifecycle_views``); a
refused action re-renders the page with the service's message and rule (nothing half-done).

Routes (``page(perm)`` unless marked public; every POST carries the CSRF token):

- ``GET  /announcements``, ``/announcements/{id}``             public   发布公告
- ``GET  /announcements/new``, ``POST /announcements``           announcement.manage
- ``GET  /applications``, ``/applications/{id}``                 application.read (list by role; timeline)
- ``POST /applications/{id}/materials|submit|resubmit|withdraw`` application.apply
- ``POST /applications/{id}/pre-review|request-materials|pass-pre-review|conclude-expert-review|approve|
  reject|file|activate``, ``POST /objections/{id}/answer``      application.review
- ``POST /applications/{id}/expert-review``                      application.expert_review
- ``POST /applications/{id}/agreement``                          agreement.seal
- ``POST /applications/{id}/emergency-plan``                     emergency_plan.manage
- ``GET  /notices``, ``POST /notices/{id}/objections``           public   社会公开 and objections
- ``GET  /grants``, ``/grants/{id}``                             grant.read (timeline)
- ``POST /grants/{id}/{suspend|resume|seal|unseal|cancel|revoke}`` grant.manage
- ``GET  /agreements/{id}`` (verify), ``/agreements/{id}/agreement.html``, ``/agreements/{id}/sealed.json``
                                                                  agreement.read
- ``GET  /staff``                                                staff.read; ``POST /staff/{u}/verify-real-name``
  user.manage; ``POST /staff/{u}/leave`` staff.manage; ``POST /exam/questions`` exam.manage
- ``GET|POST /exam``                                             exam.take (the exam is recorded)
- ``GET  /notifications``, ``POST /notifications/{id}/read``     notification.read
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from starlette.responses import Response

from opdomain.errors import DomainError, InvalidInput, Message, NotFound
from opdomain.identity.api import runtime
from opdomain.identity.models import User
from opdomain.lifecycle import agreement, applications, ending, grants, notifications, people
from opdomain.lifecycle import policy_process as rules
from opdomain.lifecycle.models_process import Agreement
from opdomain.web.console import lifecycle_views as views
from opdomain.web.console.guard import attach_presession_cookie, page, public_page
from opdomain.web.console.i18n import N_, translate
from opdomain.web.console.labels import NavItem, add_nav_item
from opdomain.web.console.render import PageContext, render, secure_headers

router = APIRouter(include_in_schema=False)

#: a group of its own, after the earlier slices' groups (the nav lists items in registration order)
GROUP = N_("授权程序")
add_nav_item(NavItem("/announcements", N_("授权公告"), "session.me", "announcements", GROUP))
add_nav_item(NavItem("/applications", N_("授权申请"), "application.read", "applications", GROUP))
add_nav_item(NavItem("/grants", N_("授权管理"), "grant.read", "grants", GROUP))
add_nav_item(NavItem("/notices", N_("社会公开"), "session.me", "notices", GROUP))
add_nav_item(NavItem("/notifications", N_("通知"), "notification.read", "notifications", GROUP))
add_nav_item(NavItem("/staff", N_("安全人员"), "staff.read", "staff", N_("安全管理")))
add_nav_item(NavItem("/exam", N_("培训考试"), "exam.take", "exam", N_("安全管理")))

BAD_DATE = Message(N_("日期格式不正确"), translate("en", "日期格式不正确"))
BAD_NUMBER = Message(N_("请填写 0 到 100 之间的整数分数"), translate("en", "请填写 0 到 100 之间的整数分数"))
#: objections filed without a name
ANONYMOUS = "匿名"


def _page(ctx: PageContext, template: str, section: str, *, status: int = 200, **data: Any) -> Response:
    return render(ctx, template, status=status, section=section, lv=views, **data)


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput("form.bad_date", BAD_DATE) from None


def _lines(value: str) -> list[str]:
    return [x.strip() for x in value.replace(",", "\n").splitlines() if x.strip()]


# --- announcements (发布公告, R3.1) ---------------------------------------------------------------


@router.get("/announcements")
def announcements_index(request: Request, ctx: PageContext = Depends(public_page)) -> Response:
    listed = applications.list_announcements(runtime(request))
    response = _page(ctx, "lifecycle/announcements.html", "announcements", announcements=listed,
                     today=date.today().isoformat())
    attach_presession_cookie(request, response)
    return response


def _announcement_form(ctx: PageContext, *, status: int = 200, error: DomainError | None = None,
                       form: dict[str, str] | None = None) -> Response:
    return _page(ctx, "lifecycle/announcement_new.html", "announcements", status=status, error=error,
                 form=form or {})


@router.get("/announcements/new")
def announcement_new(ctx: PageContext = Depends(page("announcement.manage"))) -> Response:
    return _announcement_form(ctx)


@router.post("/announcements")
def announcement_create(request: Request, title: str = Form(""), domain_areas: str = Form(""),
                        conditions: str = Form(""), opens_on: str = Form(""), closes_on: str = Form(""),
                        ctx: PageContext = Depends(page("announcement.manage"))) -> Response:
    form = {"title": title, "domain_areas": domain_areas, "conditions": conditions, "opens_on": opens_on,
            "closes_on": closes_on}
    try:
        created = applications.create_announcement(
            runtime(request), ctx.principal,  # type: ignore[arg-type]
            title=title.strip()[:200], domain_areas=_lines(domain_areas), conditions=conditions,
            opens_on=_date(opens_on), closes_on=_date(closes_on))
    except DomainError as exc:
        return _announcement_form(replace(ctx, here="/announcements/new"), status=exc.status, error=exc, form=form)
    return RedirectResponse(f"/announcements/{created['id']}", status_code=303)


@router.get("/announcements/{announcement_id}")
def announcement_detail(announcement_id: str, request: Request, ctx: PageContext = Depends(public_page)) -> Response:
    found = next((a for a in applications.list_announcements(runtime(request)) if a["id"] == announcement_id), None)
    if found is None:
        raise NotFound("announcement.not_found",
                       Message(N_("公告不存在"), translate("en", "公告不存在")))
    response = _page(ctx, "lifecycle/announcement.html", "announcements", a=found)
    attach_presession_cookie(request, response)
    return response


# --- applications (授权申请, R3.2–R3.8) -------------------------------------------------------------


@router.get("/applications")
def applications_index(request: Request, state: str = "",
                       ctx: PageContext = Depends(page("application.read"))) -> Response:
    listed = applications.list_applications(runtime(request), ctx.principal)  # type: ignore[arg-type]
    shown = [a for a in listed if not state or a.state == state]
    return _page(ctx, "lifecycle/applications.html", "applications", apps=shown, total=len(listed), state=state)


def _application_page(request: Request, ctx: PageContext, app_id: str, *, status: int = 200,
                      error: DomainError | None = None, done: str = "") -> Response:
    rt = runtime(request)
    view = applications.get_application(rt, ctx.principal, app_id)  # type: ignore[arg-type]
    timeline = views.steps(applications.timeline(rt, ctx.principal, "application", app_id))  # type: ignore[arg-type]
    ctx = replace(ctx, here=f"/applications/{app_id}")
    missing = rules.missing_materials([m["kind"] for m in view.materials], view.notice_missing or ())
    return _page(ctx, "lifecycle/application.html", "applications", status=status, app=view, timeline=timeline,
                 actions=views.application_actions(ctx, view), error=error, done=done, missing=missing,
                 material_kinds=views.MATERIAL_KINDS, score_names=rules.SCORE_NAMES,
                 default_deadline=date.today().toordinal())


@router.get("/applications/{app_id}")
def application_detail(app_id: str, request: Request, done: str = "",
                       ctx: PageContext = Depends(page("application.read"))) -> Response:
    return _application_page(request, ctx, app_id, done=done[:40])


def _act(request: Request, ctx: PageContext, app_id: str, action: str, work: Callable[[], Any]) -> Response:
    """Runs one step; success → back to the application (303), refusal → the page with the reason."""
    try:
        work()
    except DomainError as exc:
        if exc.status in (401, 403) and exc.code.startswith("auth."):
            raise
        return _application_page(request, ctx, app_id, status=exc.status, error=exc)
    return RedirectResponse(f"/applications/{app_id}?done={action}", status_code=303)


@router.post("/applications/{app_id}/materials")
async def application_material(app_id: str, request: Request, kind: str = Form(""),
                               file: UploadFile | None = File(None),
                               ctx: PageContext = Depends(page("application.apply"))) -> Response:
    data = await file.read() if file is not None else b""
    filename = (file.filename if file is not None else "") or "material"
    return _act(request, ctx, app_id, "add_material", lambda: applications.add_material(
        runtime(request), ctx.principal, app_id, kind=kind, filename=filename, data=data))  # type: ignore[arg-type]


@router.post("/applications/{app_id}/submit")
def application_submit(app_id: str, request: Request,
                       ctx: PageContext = Depends(page("application.apply"))) -> Response:
    return _act(request, ctx, app_id, "submit",
                lambda: applications.submit(runtime(request), ctx.principal, app_id))  # type: ignore[arg-type]


@router.post("/applications/{app_id}/resubmit")
def application_resubmit(app_id: str, request: Request,
                         ctx: PageContext = Depends(page("application.apply"))) -> Response:
    return _act(request, ctx, app_id, "resubmit",
                lambda: applications.resubmit(runtime(request), ctx.principal, app_id))  # type: ignore[arg-type]


@router.post("/applications/{app_id}/withdraw")
def application_withdraw(app_id: str, request: Request, reason: str = Form(""),
                         ctx: PageContext = Depends(page("application.apply"))) -> Response:
    return _act(request, ctx, app_id, "withdraw", lambda: applications.withdraw(
        runtime(request), ctx.principal, app_id, reason=reason))  # type: ignore[arg-type]


@router.post("/applications/{app_id}/pre-review")
def application_pre_review(app_id: str, request: Request,
                           ctx: PageContext = Depends(page("application.review"))) -> Response:
    return _act(request, ctx, app_id, "begin_pre_review",
                lambda: applications.begin_pre_review(runtime(request), ctx.principal, app_id))  # type: ignore[arg-type]


@router.post("/applications/{app_id}/request-materials")
def application_request_materials(app_id: str, request: Request, deadline: str = Form(""),
                                  extra: list[str] = Form([]), note: str = Form(""),
                                  ctx: PageContext = Depends(page("application.review"))) -> Response:
    return _act(request, ctx, app_id, "request_materials", lambda: applications.request_materials(
        runtime(request), ctx.principal, app_id, deadline=_date(deadline),  # type: ignore[arg-type]
        extra=[x for x in extra if x], note=note))


@router.post("/applications/{app_id}/pass-pre-review")
def application_pass_pre_review(app_id: str, request: Request, experts: str = Form(""),
                                ctx: PageContext = Depends(page("application.review"))) -> Response:
    return _act(request, ctx, app_id, "pass_pre_review", lambda: applications.pass_pre_review(
        runtime(request), ctx.principal, app_id, experts=_lines(experts)))  # type: ignore[arg-type]


def _score(value: str) -> int:
    try:
        n = int(value.strip())
    except ValueError:
        raise InvalidInput("form.bad_score", BAD_NUMBER) from None
    return n


@router.post("/applications/{app_id}/expert-review")
def application_expert_review(app_id: str, request: Request, security: str = Form(""), credit: str = Form(""),
                              technical: str = Form(""), opinion: str = Form(""), conflict: str = Form(""),
                              conflict_note: str = Form(""),
                              ctx: PageContext = Depends(page("application.expert_review"))) -> Response:
    declared = conflict == "yes"

    def work() -> Any:
        scores = {} if declared else {"security": _score(security), "credit": _score(credit),
                                      "technical": _score(technical)}
        return applications.submit_expert_review(runtime(request), ctx.principal, app_id,  # type: ignore[arg-type]
                                                 scores=scores, opinion=opinion, conflict=declared,
                                                 conflict_note=conflict_note)

    return _act(request, ctx, app_id, "expert_review", work)


@router.post("/applications/{app_id}/conclude-expert-review")
def application_conclude(app_id: str, request: Request, reason: str = Form(""),
                         ctx: PageContext = Depends(page("application.review"))) -> Response:
    return _act(request, ctx, app_id, "conclude_expert_review", lambda: applications.conclude_expert_review(
        runtime(request), ctx.principal, app_id, conclusion=reason))  # type: ignore[arg-type]


@router.post("/applications/{app_id}/approve")
def application_approve(app_id: str, request: Request, reason: str = Form(""), publicity_days: str = Form("7"),
                        ctx: PageContext = Depends(page("application.review"))) -> Response:
    def work() -> Any:
        return applications.approve(runtime(request), ctx.principal, app_id, reasons=reason,  # type: ignore[arg-type]
                                    publicity_days=_score(publicity_days))

    return _act(request, ctx, app_id, "approve", work)


@router.post("/applications/{app_id}/reject")
def application_reject(app_id: str, request: Request, reason: str = Form(""),
                       ctx: PageContext = Depends(page("application.review"))) -> Response:
    return _act(request, ctx, app_id, "reject", lambda: applications.reject(
        runtime(request), ctx.principal, app_id, reasons=reason))  # type: ignore[arg-type]


@router.post("/applications/{app_id}/file")
def application_file(app_id: str, request: Request, reference: str = Form(""), filed_with: str = Form(""),
                     ctx: PageContext = Depends(page("application.review"))) -> Response:
    return _act(request, ctx, app_id, "file", lambda: applications.file_with_government(
        runtime(request), ctx.principal, app_id, reference=reference,  # type: ignore[arg-type]
        filed_with=filed_with.strip() or "上级人民政府"))


@router.post("/applications/{app_id}/agreement")
def application_agreement(app_id: str, request: Request,
                          ctx: PageContext = Depends(page("agreement.seal"))) -> Response:
    return _act(request, ctx, app_id, "sign_agreement",
                lambda: applications.sign_agreement(runtime(request), ctx.principal, app_id))  # type: ignore[arg-type]


@router.post("/applications/{app_id}/emergency-plan")
def application_emergency_plan(app_id: str, request: Request, title: str = Form(""), text: str = Form(""),
                               ctx: PageContext = Depends(page("emergency_plan.manage"))) -> Response:
    return _act(request, ctx, app_id, "file_emergency_plan", lambda: applications.file_emergency_plan(
        runtime(request), ctx.principal, app_id, title=title[:200], text=text))  # type: ignore[arg-type]


@router.post("/applications/{app_id}/activate")
def application_activate(app_id: str, request: Request,
                         ctx: PageContext = Depends(page("application.review"))) -> Response:
    return _act(request, ctx, app_id, "activate",
                lambda: applications.activate(runtime(request), ctx.principal, app_id))  # type: ignore[arg-type]


@router.post("/applications/{app_id}/objections/{objection_id}/answer")
def objection_answer(app_id: str, objection_id: str, request: Request, answer: str = Form(""),
                     ctx: PageContext = Depends(page("application.review"))) -> Response:
    return _act(request, ctx, app_id, "answer_objection", lambda: applications.answer_objection(
        runtime(request), ctx.principal, objection_id, answer=answer))  # type: ignore[arg-type]


# --- the public notice (社会公开, R3.6) -------------------------------------------------------------


def _notices_page(request: Request, ctx: PageContext, *, status: int = 200, error: DomainError | None = None,
                  filed: str = "", error_for: str = "") -> Response:
    today = date.today()
    listed = applications.public_notices(runtime(request))
    open_ids = {n["id"] for n in listed if views.objection_open(n["state"], n["publicity_ends_on"], today)}
    response = _page(replace(ctx, here="/notices"), "lifecycle/notices.html", "notices", status=status,
                     notices=listed, open_ids=open_ids, error=error, filed=filed, error_for=error_for)
    attach_presession_cookie(request, response)
    return response


@router.get("/notices")
def notices_index(request: Request, filed: str = "", ctx: PageContext = Depends(public_page)) -> Response:
    return _notices_page(request, ctx, filed=filed[:40])


@router.post("/notices/{app_id}/objections")
def notice_objection(app_id: str, request: Request, objector: str = Form(""), text: str = Form(""),
                     ctx: PageContext = Depends(public_page)) -> Response:
    try:
        applications.file_objection(runtime(request), app_id, objector=objector.strip()[:100] or ANONYMOUS,
                                    text=text[:4000])
    except DomainError as exc:
        return _notices_page(request, ctx, status=exc.status, error=exc, error_for=app_id)
    return RedirectResponse(f"/notices?filed={app_id}", status_code=303)


# --- grants (授权状态, R3.9, R6.8) and agreements (R3.8) --------------------------------------------


@router.get("/grants")
def grants_index(request: Request, ctx: PageContext = Depends(page("grant.read"))) -> Response:
    listed = grants.list_grants(runtime(request), ctx.principal)  # type: ignore[arg-type]
    return _page(ctx, "lifecycle/grants.html", "grants", grants=listed)


def _grant_page(request: Request, ctx: PageContext, grant_id: str, *, status: int = 200,
                error: DomainError | None = None, done: str = "") -> Response:
    rt = runtime(request)
    view = grants.get_grant(rt, ctx.principal, grant_id)  # type: ignore[arg-type]
    timeline = views.steps(applications.timeline(rt, ctx.principal, "grant", grant_id))  # type: ignore[arg-type]
    ctx = replace(ctx, here=f"/grants/{grant_id}")
    return _page(ctx, "lifecycle/grant.html", "grants", status=status, g=view, timeline=timeline,
                 actions=views.grant_actions(ctx, view), operator_actions=views.grant_operator_actions(ctx, view),
                 error=error, done=done)


@router.get("/grants/{grant_id}")
def grant_detail(grant_id: str, request: Request, done: str = "",
                 ctx: PageContext = Depends(page("grant.read"))) -> Response:
    return _grant_page(request, ctx, grant_id, done=done[:40])


_GRANT_SERVICES: dict[str, Callable[..., Any]] = {
    "suspend": grants.suspend_grant, "resume": grants.resume_grant, "seal": grants.seal_grant,
    "unseal": grants.unseal_grant, "cancel": ending.cancel, "revoke": ending.revoke,
}


def _grant_action(name: str) -> Callable[..., Response]:
    def action(grant_id: str, request: Request, reason: str = Form(""),
               ctx: PageContext = Depends(page("grant.manage"))) -> Response:
        try:
            if not reason.strip():
                rules.check_reasons(reason)
            _GRANT_SERVICES[name](runtime(request), ctx.principal, grant_id, reason=reason)
        except DomainError as exc:
            if exc.code.startswith("auth."):
                raise
            return _grant_page(request, ctx, grant_id, status=exc.status, error=exc)
        return RedirectResponse(f"/grants/{grant_id}?done={name}", status_code=303)

    action.__name__ = f"grant_{name}"
    return action


for _name in views.GRANT_PAGE_ACTIONS:
    router.add_api_route(f"/grants/{{grant_id}}/{_name}", _grant_action(_name), methods=["POST"])


def _agreement(request: Request, ctx: PageContext, agreement_id: str) -> Agreement:
    """The agreement row, if the caller may read its application (operators: their own)."""
    rt = runtime(request)
    with rt.store.session() as s:
        row = s.get(Agreement, agreement_id)
        if row is not None:
            s.expunge(row)
    if row is None:
        agreement.sealed_path(rt, agreement_id)  # raises the service's NotFound
        raise AssertionError
    applications.get_application(rt, ctx.principal, row.application_id)  # type: ignore[arg-type]
    return row


@router.get("/agreements/{agreement_id}")
def agreement_detail(agreement_id: str, request: Request,
                     ctx: PageContext = Depends(page("agreement.read"))) -> Response:
    rt = runtime(request)
    row = _agreement(request, ctx, agreement_id)
    result = agreement.verify_sealed(agreement.sealed_path(rt, agreement_id).read_bytes(),
                                     trusted_public_key=agreement.authority_public_key(rt))
    return _page(ctx, "lifecycle/agreement.html", "grants", row=row, result=result)


@router.get("/agreements/{agreement_id}/agreement.html")
def agreement_document(agreement_id: str, request: Request,
                       ctx: PageContext = Depends(page("agreement.read"))) -> Response:
    row = _agreement(request, ctx, agreement_id)
    body = (runtime(request).settings.data_dir / row.html_path).read_bytes()
    response = Response(body, media_type="text/html; charset=utf-8")
    secure_headers(response, ctx.lang)
    # the generated document: its own styles, no script at all
    response.headers["content-security-policy"] = ("default-src 'none'; style-src 'unsafe-inline'; "
                                                   "img-src data:; frame-ancestors 'none'")
    return response


@router.get("/agreements/{agreement_id}/sealed.json")
def agreement_sealed(agreement_id: str, request: Request,
                     ctx: PageContext = Depends(page("agreement.read"))) -> Response:
    _agreement(request, ctx, agreement_id)
    body = agreement.sealed_path(runtime(request), agreement_id).read_bytes()
    response = Response(body, media_type="application/json")
    secure_headers(response, ctx.lang)
    response.headers["content-disposition"] = f'attachment; filename="{agreement_id}.sealed.json"'
    return response


# --- safe people (安全人员, R4.1, R4.4b) -----------------------------------------------------------

STAFF_ROLES = ("operator_admin", "analyst")


def _staff_page(request: Request, ctx: PageContext, *, status: int = 200, error: DomainError | None = None,
                done: str = "") -> Response:
    rt = runtime(request)
    p = ctx.principal
    assert p is not None
    with rt.store.session() as s:
        stmt = select(User).where(User.role.in_(STAFF_ROLES)).order_by(User.username)
        users = [(u.username, u.real_name, u.role, u.organization.code, u.organization.name)
                 for u in s.scalars(stmt)]
    if p.role == "operator_admin":
        users = [u for u in users if u[3] == p.organization_code]
    rows = [(u, people.staff_status(rt, p, u[0])) for u in users]
    return _page(replace(ctx, here="/staff"), "lifecycle/staff.html", "staff", status=status, rows=rows,
                 error=error, done=done)


@router.get("/staff")
def staff_index(request: Request, done: str = "", ctx: PageContext = Depends(page("staff.read"))) -> Response:
    return _staff_page(request, ctx, done=done[:40])


def _staff_act(request: Request, ctx: PageContext, action: str, work: Callable[[], Any]) -> Response:
    try:
        work()
    except DomainError as exc:
        if exc.code.startswith("auth."):
            raise
        if ctx.can("staff.read"):
            return _staff_page(request, ctx, status=exc.status, error=exc)
        raise
    return RedirectResponse(f"/staff?done={action}", status_code=303)


@router.post("/staff/{username}/verify-real-name")
def staff_verify(username: str, request: Request, ctx: PageContext = Depends(page("user.manage"))) -> Response:
    return _staff_act(request, ctx, "verify_real_name",
                      lambda: people.verify_real_name(runtime(request), ctx.principal, username))  # type: ignore[arg-type]


@router.post("/staff/{username}/leave")
def staff_leave(username: str, request: Request, ctx: PageContext = Depends(page("staff.manage"))) -> Response:
    return _staff_act(request, ctx, "leave",
                      lambda: people.record_departure(runtime(request), ctx.principal, username))  # type: ignore[arg-type]


@router.post("/exam/questions")
def exam_question(request: Request, text: str = Form(""), choices: str = Form(""), answer: str = Form(""),
                  ctx: PageContext = Depends(page("exam.manage"))) -> Response:
    def work() -> Any:
        options = [c.strip() for c in choices.splitlines() if c.strip()]
        return people.add_question(runtime(request), ctx.principal, text=text, choices=options,  # type: ignore[arg-type]
                                   answer=_score(answer) - 1)

    return _staff_act(request, ctx, "add_question", work)


def _exam_page(request: Request, ctx: PageContext, *, status: int = 200, error: DomainError | None = None,
               result: dict[str, Any] | None = None) -> Response:
    rt = runtime(request)
    assert ctx.principal is not None
    paper: list[dict[str, Any]] = []
    paper_error: DomainError | None = None
    try:
        paper = people.exam_paper(rt, ctx.principal)
    except DomainError as exc:
        paper_error = exc
    mine = people.staff_status(rt, ctx.principal, ctx.principal.username)
    return _page(replace(ctx, here="/exam"), "lifecycle/exam.html", "exam", status=status, paper=paper,
                 paper_error=paper_error, error=error, result=result, mine=mine, pass_mark=rules.EXAM_PASS_MARK)


@router.get("/exam")
def exam_index(request: Request, ctx: PageContext = Depends(page("exam.take"))) -> Response:
    return _exam_page(request, ctx)


@router.post("/exam")
async def exam_submit(request: Request, ctx: PageContext = Depends(page("exam.take"))) -> Response:
    form = await request.form()
    answers: dict[int, int] = {}
    for key, value in form.multi_items():
        if key.startswith("q-") and isinstance(value, str) and key[2:].isdigit() and value.isdigit():
            answers[int(key[2:])] = int(value)
    try:
        result = people.take_exam(runtime(request), ctx.principal, answers)  # type: ignore[arg-type]
    except DomainError as exc:
        return _exam_page(request, ctx, status=exc.status, error=exc)
    return _exam_page(request, ctx, result=result)


# --- notifications (通知) --------------------------------------------------------------------------


@router.get("/notifications")
def notifications_index(request: Request, unread: int = 0,
                        ctx: PageContext = Depends(page("notification.read"))) -> Response:
    listed = notifications.list_notifications(runtime(request), ctx.principal,  # type: ignore[arg-type]
                                              unread_only=bool(unread))
    return _page(ctx, "lifecycle/notifications.html", "notifications", items=listed, unread=bool(unread))


@router.post("/notifications/{notification_id}/read")
def notification_read(notification_id: int, request: Request,
                      ctx: PageContext = Depends(page("notification.read"))) -> Response:
    notifications.mark_read(runtime(request), ctx.principal, notification_id)  # type: ignore[arg-type]
    return RedirectResponse("/notifications", status_code=303)
