"""The home page: who is logged in, and a summary of each area the role may use."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from opdomain.audit import query as audit_query
from opdomain.catalog import service as catalog
from opdomain.identity.api import runtime
from opdomain.web.console.guard import page
from opdomain.web.console.render import PageContext, render

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request, ctx: PageContext = Depends(page("session.me"))) -> Response:
    rt = runtime(request)
    assert ctx.principal is not None
    summary: dict[str, Any] = {}
    if ctx.can("catalog.read"):
        datasets = catalog.list_datasets(rt, ctx.principal)
        summary["departments"] = len(catalog.list_departments(rt))
        summary["datasets"] = len(datasets)
        summary["forbidden"] = sum(1 for d in datasets if d.forbidden)
        summary["own_datasets"] = sum(1 for d in datasets if d.department_code == ctx.principal.organization_code)
    if ctx.can("imports.read"):
        summary["imports"] = catalog.list_imports(rt, ctx.principal, limit=5)
    if ctx.can("audit.read"):
        summary["audit_records"] = audit_query.count(rt.store)
        last = audit_query.search(rt.store, audit_query.AuditFilter(action="audit.verify", limit=1))
        summary["last_verify"] = last[0] if last else None
    return render(ctx, "home.html", section="home", summary=summary)
