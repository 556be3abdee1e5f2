"""Jobs (作业) in the console: a grant's jobs, one job's outputs and log, submit, cancel.

Rules 四.(四) R4.4a (outputs of real-data runs go to the airlock, never to the analyst), R4.4c (every
operation recorded; logs never hold a data value: the page shows the log the service wrote), R4.4d (the
same definition runs on dev data and on real data, with the same code digest).

The pages call ``compute.jobs`` like the API (``compute/jobs_api.py``); every rule is the service's.

- ``GET  /jobs``                           jobs.read    the jobs of every grant the caller may see
- ``GET  /workspaces/{grant_id}/jobs``     jobs.read    one grant's jobs; the analyst's submit form
- ``POST /workspaces/{grant_id}/jobs``     jobs.submit  submit a declared pipeline (JSON) on dev or domain
- ``GET  /jobs/{job_id}``                  jobs.read    status, code digest, outputs (label, kind, digest), log
- ``POST /jobs/{job_id}/cancel``           jobs.cancel  cancel a queued or running job
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from opdomain.compute import jobs
from opdomain.errors import DomainError, InvalidInput, Message
from opdomain.identity.api import runtime
from opdomain.lifecycle import grants
from opdomain.web.console.guard import page
from opdomain.web.console.i18n import N_, translate
from opdomain.web.console.labels import NavItem, add_nav_item
from opdomain.web.console.render import PageContext, render

router = APIRouter(include_in_schema=False)

SECTION = "jobs"
DEFINITION_MAX_CHARS = 1_000_000
#: jobs per grant on the overview
OVERVIEW_LIMIT = 50

JOB_STATUSES = {
    "queued": N_("排队中"),
    "running": N_("运行中"),
    "succeeded": N_("成功"),
    "failed": N_("失败"),
    "cancelled": N_("已取消"),
}
ENVIRONMENTS = {"dev": N_("开发环境"), "domain": N_("运营域")}
OUTPUT_LABELS = {"internal": N_("内部"), "releasable": N_("可申请出域")}
OUTPUT_KINDS = {
    "table": N_("统计表"),
    "per_subject": N_("逐主体名单"),
    "model": N_("模型"),
    "report": N_("报告"),
    "figure": N_("图表"),
}
ACTIVE = frozenset({"queued", "running"})

BAD_JSON = Message(N_("作业定义不是有效的 JSON 对象"), translate("en", "作业定义不是有效的 JSON 对象"))

EXAMPLE = json.dumps({
    "name": "by-scale",
    "actions": [{"name": "by_scale", "type": "sql", "inputs": ["eit.mu_efficiency"],
                 "sql": "SELECT CASE WHEN is_above_scale THEN '规上' ELSE '规下' END AS category, "
                        "count(*) AS enterprises FROM eit.mu_efficiency GROUP BY 1",
                 "outputs": [{"name": "by_scale.csv", "label": "releasable", "kind": "table"}]}],
}, ensure_ascii=False, indent=2)

add_nav_item(NavItem("/jobs", N_("作业"), "jobs.read", SECTION, N_("授权运营")))


def _page(ctx: PageContext, template: str, *, status: int = 200, **data: Any) -> Response:
    return render(ctx, template, status=status, section=SECTION, jl=JobLabels, **data)


class JobLabels:
    """The display names the job templates use (``jl``)."""

    STATUSES = JOB_STATUSES
    ENVIRONMENTS = ENVIRONMENTS
    OUTPUT_LABELS = OUTPUT_LABELS
    OUTPUT_KINDS = OUTPUT_KINDS
    ACTIVE = ACTIVE


@router.get("/jobs")
def jobs_index(request: Request, ctx: PageContext = Depends(page("jobs.read"))) -> Response:
    rt = runtime(request)
    listed = grants.list_grants(rt, ctx.principal)  # type: ignore[arg-type]
    rows = [(g, jobs.list_jobs(rt, ctx.principal, g.id, limit=OVERVIEW_LIMIT)) for g in listed]  # type: ignore[arg-type]
    return _page(ctx, "jobs/index.html", rows=rows)


def _grant_page(request: Request, ctx: PageContext, grant_id: str, *, status: int = 200,
                error: DomainError | None = None, definition: str = "", environment: str = "dev") -> Response:
    rt = runtime(request)
    grant = grants.get_grant(rt, ctx.principal, grant_id)  # type: ignore[arg-type]
    listed = jobs.list_jobs(rt, ctx.principal, grant_id)  # type: ignore[arg-type]
    return _page(ctx, "jobs/grant.html", status=status, grant=grant, jobs=listed, error=error,
                 definition=definition or EXAMPLE, environment=environment)


@router.get("/workspaces/{grant_id}/jobs")
def grant_jobs(grant_id: str, request: Request, ctx: PageContext = Depends(page("jobs.read"))) -> Response:
    return _grant_page(request, ctx, grant_id)


@router.post("/workspaces/{grant_id}/jobs")
def submit(grant_id: str, request: Request, definition: str = Form(""), environment: str = Form("dev"),
           ctx: PageContext = Depends(page("jobs.submit"))) -> Response:
    try:
        try:
            parsed = json.loads(definition) if len(definition) <= DEFINITION_MAX_CHARS else None
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise InvalidInput("job.bad_definition", BAD_JSON)
        job = jobs.submit_job(runtime(request), ctx.principal, grant_id, parsed, environment)  # type: ignore[arg-type]
    except DomainError as exc:
        if exc.code.startswith("workspace."):
            raise
        return _grant_page(request, ctx, grant_id, status=exc.status, error=exc, definition=definition,
                           environment=environment)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.get("/jobs/{job_id}")
def job_page(job_id: str, request: Request, ctx: PageContext = Depends(page("jobs.read"))) -> Response:
    job = jobs.get_job(runtime(request), ctx.principal, job_id)  # type: ignore[arg-type]
    return _page(ctx, "jobs/job.html", job=job, cancelled=request.query_params.get("cancelled") == "1")


@router.post("/jobs/{job_id}/cancel")
def cancel(job_id: str, request: Request, reason: str = Form(""),
           ctx: PageContext = Depends(page("jobs.cancel"))) -> Response:
    jobs.cancel_job(runtime(request), ctx.principal, job_id, reason=reason[:500])  # type: ignore[arg-type]
    return RedirectResponse(f"/jobs/{job_id}?cancelled=1", status_code=303)
