"""Egress review (数据出域审核) in the console: release requests, files with their findings, votes, decisions.

Rules 一.(六) R1.6b (a compliance review before a product is provided), 四.(二) R4.2b, 四.(四) R4.4a,
五.(一) R5.1a/R5.1b. The pages call ``egress.airlock`` and ``products.service`` like the API
(``egress/api.py``, ``products/api.py``) and show what they return: in particular a reviewer sees only
their own votes until both independent reviews are submitted (``votes_visible`` of ``get_request``);
the page adds no rule of its own and hides nothing the service shows.

- ``GET  /airlock``                        airlock.read     the requests the caller may see; the analyst's create form
- ``POST /airlock``                        airlock.author   create a request for a grant
- ``GET  /airlock/{id}``                   airlock.read     files, context, controls, findings, summaries, votes
- ``POST /airlock/{id}/files``             airlock.author   add a releasable output of a domain job
- ``POST /airlock/{id}/files/remove``      airlock.author   remove a file
- ``POST /airlock/{id}/submit``            airlock.author
- ``POST /airlock/{id}/withdraw``          airlock.author
- ``POST /airlock/{id}/votes``             airlock.review   a vote on one file (approve / changes) with a comment
- ``POST /airlock/{id}/review``            airlock.review   submit the independent review
- ``POST /airlock/{id}/decision``          airlock.review   approve | return | reject
- ``POST /airlock/{id}/release``           airlock.release  the approved request becomes a product version
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from starlette.responses import Response

from opdomain.compute import jobs
from opdomain.egress import airlock
from opdomain.egress.airlock_policy import PRODUCT_TYPES
from opdomain.errors import DomainError
from opdomain.identity.api import runtime
from opdomain.identity.models import Organization
from opdomain.lifecycle import grants
from opdomain.products import service as products
from opdomain.web.console.guard import page
from opdomain.web.console.i18n import N_
from opdomain.web.console.jobs_pages import OUTPUT_KINDS
from opdomain.web.console.labels import NavItem, add_nav_item
from opdomain.web.console.render import PageContext, render

router = APIRouter(include_in_schema=False)

SECTION = "airlock"

REQUEST_STATUSES = {
    "draft": N_("草稿"),
    "submitted": N_("已提交"),
    "in_review": N_("审核中"),
    "returned": N_("退回修改"),
    "approved": N_("已批准"),
    "released": N_("已发布"),
    "rejected": N_("已驳回"),
    "withdrawn": N_("已撤回"),
}
PRODUCT_TYPE_NAMES = {
    "data_package": N_("数据包"),
    "data_model": N_("数据模型"),
    "data_interface": N_("数据接口"),
    "data_service": N_("数据服务"),
    "data_report": N_("数据报告"),
    "business_service": N_("业务服务"),
}
OUTCOMES = {"pass": N_("通过"), "review": N_("需人工审核"), "fail": N_("未通过")}
VOTES = {"approve": N_("同意"), "changes": N_("需修改")}
DECISIONS = {"approve": N_("批准"), "return": N_("退回修改"), "reject": N_("驳回")}
VISIBILITY = {
    "all": N_("两名审核人均已提交独立审核意见：显示全部投票"),
    "own": N_("独立审核阶段：只显示您本人的投票，另一名审核人的投票在双方都提交后显示"),
    "none": N_("投票在作出决定后显示"),
}
OUTCOME_CLASS = {"pass": "status-landed", "review": "status-running", "fail": "status-rejected"}
EDITABLE = frozenset({"draft", "returned"})
REVIEWABLE = frozenset({"submitted", "in_review"})
WITHDRAWABLE = frozenset({"draft", "submitted", "in_review", "returned"})

add_nav_item(NavItem("/airlock", N_("数据出域审核"), "airlock.read", SECTION, N_("数据出域")))


class AirlockLabels:
    """The display names the airlock templates use (``al``)."""

    STATUSES = REQUEST_STATUSES
    PRODUCT_TYPES = PRODUCT_TYPE_NAMES
    OUTCOMES = OUTCOMES
    OUTCOME_CLASS = OUTCOME_CLASS
    VOTES = VOTES
    DECISIONS = DECISIONS
    VISIBILITY = VISIBILITY
    KINDS = OUTPUT_KINDS
    EDITABLE = EDITABLE
    REVIEWABLE = REVIEWABLE
    WITHDRAWABLE = WITHDRAWABLE

    @staticmethod
    def when(value: str | None) -> datetime | None:
        """An ISO time of the service's answer, for the ``dt`` filter (shown in Beijing time)."""
        try:
            return datetime.fromisoformat(value) if value else None
        except ValueError:
            return None

    @staticmethod
    def cell(c: dict[str, Any]) -> str:
        """A finding's cell: ``row 3 · column``, 1-based rows as a reviewer counts them."""
        row, column = c.get("row"), c.get("column")
        parts = [f"#{int(row) + 1}" if row is not None else "", str(column) if column else ""]
        return " · ".join(p for p in parts if p) or "—"


def _page(ctx: PageContext, template: str, *, status: int = 200, **data: Any) -> Response:
    return render(ctx, template, status=status, section=SECTION, al=AirlockLabels, **data)


def _recipients(request: Request) -> list[tuple[str, str]]:
    """Consumer organizations (a request's recipient is one of them, or the operator itself)."""
    with runtime(request).store.session() as s:
        rows = s.execute(select(Organization.code, Organization.name).where(Organization.kind == "consumer")
                         .order_by(Organization.code)).all()
    return [(c, n) for c, n in rows]


def _index(request: Request, ctx: PageContext, *, status: int = 200, error: DomainError | None = None,
           form: dict[str, str] | None = None) -> Response:
    rt = runtime(request)
    requests = airlock.list_requests(rt, ctx.principal)  # type: ignore[arg-type]
    own_grants = grants.list_grants(rt, ctx.principal) if ctx.can("airlock.author") else []  # type: ignore[arg-type]
    return _page(ctx, "airlock/index.html", status=status, requests=requests, grants=own_grants,
                 recipients=_recipients(request) if ctx.can("airlock.author") else [],
                 product_types=PRODUCT_TYPES, error=error, form=form or {})


@router.get("/airlock")
def airlock_index(request: Request, ctx: PageContext = Depends(page("airlock.read"))) -> Response:
    return _index(request, ctx)


@router.post("/airlock")
def airlock_create(request: Request, grant_id: str = Form(""), title: str = Form(""), recipient: str = Form(""),
                   product_name: str = Form(""), product_type: str = Form("data_package"),
                   ctx: PageContext = Depends(page("airlock.author"))) -> Response:
    try:
        req = airlock.create_request(runtime(request), ctx.principal, grant_id, title=title[:200],  # type: ignore[arg-type]
                                     recipient=recipient[:64], product_name=(product_name or title)[:200],
                                     product_type=product_type)
    except DomainError as exc:
        if exc.status in (401, 403):
            raise
        return _index(request, ctx, status=exc.status, error=exc,
                      form={"grant_id": grant_id, "title": title, "recipient": recipient,
                            "product_name": product_name, "product_type": product_type})
    return RedirectResponse(f"/airlock/{req['id']}", status_code=303)


def _releasable(request: Request, ctx: PageContext, grant_id: str) -> list[tuple[Any, str, dict[str, Any]]]:
    """(job, output name, output) of every releasable output of a succeeded domain job of the grant."""
    found = []
    for j in jobs.list_jobs(runtime(request), ctx.principal, grant_id):  # type: ignore[arg-type]
        if j.environment == "domain" and j.status == "succeeded":
            found += [(j, n, o) for n, o in j.outputs.items() if o.get("label") == "releasable"]
    return found


def _request_page(request: Request, ctx: PageContext, request_id: str, *, status: int = 200,
                  error: DomainError | None = None, notice: str = "", view: dict[str, Any] | None = None) -> Response:
    rt = runtime(request)
    req = view or airlock.get_request(rt, ctx.principal, request_id)  # type: ignore[arg-type]
    me = ctx.principal.username if ctx.principal else ""
    author = req["author"] == me
    outputs = _releasable(request, ctx, req["grant_id"]) if author and req["status"] in EDITABLE else []
    reviews = {r["reviewer"]: r["submitted"] for r in req["reviews"]}
    my_votes = {f["name"]: next((v for v in f["votes"] if v["reviewer"] == me), None) for f in req["files"]}
    return _page(ctx, "airlock/request.html", status=status, req=req, error=error, notice=notice, author=author,
                 outputs=outputs, reviews=reviews, me=me, my_votes=my_votes,
                 both_submitted=len(reviews) >= 2 and all(reviews.values()))


@router.get("/airlock/{request_id}")
def airlock_request(request_id: str, request: Request, done: str = "",
                    ctx: PageContext = Depends(page("airlock.read"))) -> Response:
    return _request_page(request, ctx, request_id, notice=done[:40])


def _act(request: Request, ctx: PageContext, request_id: str, action: Any, done: str) -> Response:
    """Runs a service call; success → back to the request page (303), a refusal → the page with the message."""
    try:
        action()
    except DomainError as exc:
        if exc.status == 401:
            raise
        return _request_page(request, ctx, request_id, status=exc.status, error=exc)
    return RedirectResponse(f"/airlock/{request_id}?done={done}", status_code=303)


@router.post("/airlock/{request_id}/files")
def airlock_add_file(request_id: str, request: Request, source: str = Form(""), context: str = Form(""),
                     controls: str = Form(""), name: str = Form(""),
                     ctx: PageContext = Depends(page("airlock.author"))) -> Response:
    job_id, _, output = source.partition("/")
    return _act(request, ctx, request_id, lambda: airlock.add_file(
        runtime(request), ctx.principal, request_id, job_id=job_id, output=output,  # type: ignore[arg-type]
        context=context[:4000], controls=controls[:4000], name=name.strip()[:200] or None), "file")


@router.post("/airlock/{request_id}/files/remove")
def airlock_remove_file(request_id: str, request: Request, name: str = Form(""),
                        ctx: PageContext = Depends(page("airlock.author"))) -> Response:
    return _act(request, ctx, request_id,
                lambda: airlock.remove_file(runtime(request), ctx.principal, request_id, name), "removed")  # type: ignore[arg-type]


@router.post("/airlock/{request_id}/submit")
def airlock_submit(request_id: str, request: Request, ctx: PageContext = Depends(page("airlock.author"))) -> Response:
    return _act(request, ctx, request_id,
                lambda: airlock.submit_request(runtime(request), ctx.principal, request_id), "submitted")  # type: ignore[arg-type]


@router.post("/airlock/{request_id}/withdraw")
def airlock_withdraw(request_id: str, request: Request, reason: str = Form(""),
                     ctx: PageContext = Depends(page("airlock.author"))) -> Response:
    return _act(request, ctx, request_id, lambda: airlock.withdraw_request(
        runtime(request), ctx.principal, request_id, reason=reason[:500]), "withdrawn")  # type: ignore[arg-type]


@router.post("/airlock/{request_id}/votes")
def airlock_vote(request_id: str, request: Request, file: str = Form(""), vote: str = Form(""),
                 comment: str = Form(""), ctx: PageContext = Depends(page("airlock.review"))) -> Response:
    return _act(request, ctx, request_id, lambda: airlock.vote(
        runtime(request), ctx.principal, request_id, file, vote, comment=comment[:2000]), "voted")  # type: ignore[arg-type]


@router.post("/airlock/{request_id}/review")
def airlock_submit_review(request_id: str, request: Request,
                          ctx: PageContext = Depends(page("airlock.review"))) -> Response:
    return _act(request, ctx, request_id,
                lambda: airlock.submit_review(runtime(request), ctx.principal, request_id), "reviewed")  # type: ignore[arg-type]


@router.post("/airlock/{request_id}/decision")
def airlock_decide(request_id: str, request: Request, decision: str = Form(""), reason: str = Form(""),
                   ctx: PageContext = Depends(page("airlock.review"))) -> Response:
    return _act(request, ctx, request_id, lambda: airlock.decide(
        runtime(request), ctx.principal, request_id, decision, reason=reason[:2000]), "decided")  # type: ignore[arg-type]


@router.post("/airlock/{request_id}/release")
def airlock_release(request_id: str, request: Request,
                    ctx: PageContext = Depends(page("airlock.release"))) -> Response:
    try:
        release = products.release_request(runtime(request), ctx.principal, request_id)  # type: ignore[arg-type]
    except DomainError as exc:
        if exc.status == 401:
            raise
        return _request_page(request, ctx, request_id, status=exc.status, error=exc)
    return RedirectResponse(f"/products/{release.id}", status_code=303)
