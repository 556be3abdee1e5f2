"""The analyst's workspace (工作区) in the console: granted columns, dev data, the SQL editor, the history.

Rules 一.(一) R1.1a (raw data never leaves the domain: results are shown, never offered for download),
四.(四) R4.4c (every operation recorded), R4.4d (dev data), 四.(五) R4.5a (only the authorized scope).

The pages call the same services as the API (``lifecycle.grants``, ``compute.service``,
``compute.devdata``); every rule is theirs. An analyst *works* in a grant's workspace only when
``workspace_grant`` lets them in (an analyst of the grant's operator, grant active within its term;
a refusal is a 403 page and an audit record). Other roles holding ``grant.read`` (operator admins,
the authority, auditors) see the same grant read-only: its columns, its dev builds and its history,
no editor and no rows.

Routes (each guarded by ``page(…)``; POST forms carry the CSRF token):

- ``GET  /workspaces``                      grant.read     the grants the caller may see
- ``GET  /workspaces/{id}``                 grant.read     granted columns: grades, identifiers, masks
- ``GET  /workspaces/{id}/dev``             grant.read     dev builds; the analyst also browses the rows
- ``POST /workspaces/{id}/dev/build``       workspace.use  (re)build the dev copy
- ``GET  /workspaces/{id}/sql``             workspace.use  the SQL editor (``?load=<query id>``)
- ``POST /workspaces/{id}/queries``         workspace.use  run: the result, or the refusal with its rule
- ``GET  /workspaces/{id}/history``         grant.read     the grant's queries
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from opdomain.compute import devdata
from opdomain.compute import service as queries
from opdomain.errors import DomainError, InvalidInput, Message
from opdomain.identity.api import runtime
from opdomain.lifecycle import grants
from opdomain.lifecycle import policy as grant_rules
from opdomain.lifecycle.grants import GrantView
from opdomain.web.console import workspace_views as views
from opdomain.web.console.guard import page
from opdomain.web.console.i18n import N_, translate
from opdomain.web.console.labels import NavItem, add_nav_item
from opdomain.web.console.render import PageContext, render

router = APIRouter(include_in_schema=False)

SECTION = "workspaces"
#: rows shown per dev table in the dev data browser
DEV_PREVIEW_ROWS = 50
HISTORY_LIMIT = 200
#: like the API's QueryRequest
SQL_MAX_CHARS = 100_000

SQL_TOO_LONG = Message(N_("SQL 过长（最多 100000 个字符）"), translate("en", "SQL 过长（最多 100000 个字符）"))

add_nav_item(NavItem("/workspaces", N_("工作区"), "grant.read", SECTION, N_("授权运营")))


@dataclass(frozen=True)
class Workspace:
    """A grant as its page shows it; ``working``: the caller works in it (else a read-only view)."""

    grant: GrantView
    working: bool


@dataclass(frozen=True)
class Refusal:
    """A refused (or failed) query or build, as the refusal box shows it."""

    code: str
    message: Message
    rule: str
    status: int
    failed: bool = False

    @classmethod
    def of(cls, exc: DomainError) -> Refusal:
        failed = exc.status >= 500 or exc.code in queries.ENGINE_FAILURES
        return cls(exc.code, exc.message, str(exc.details.get("rule", "")), exc.status, failed)


def enter(request: Request, ctx: PageContext, grant_id: str) -> Workspace:
    """The grant of the page. An analyst enters its workspace only if ``workspace_grant`` lets them in
    (refused: 403, audited as ``workspace.access``); other readers see it read-only (``get_grant``)."""
    rt = runtime(request)
    assert ctx.principal is not None
    if ctx.can("workspace.use"):
        return Workspace(grants.workspace_grant(rt, ctx.principal, grant_id), working=True)
    return Workspace(grants.get_grant(rt, ctx.principal, grant_id), working=False)


def _page(ctx: PageContext, template: str, ws: Workspace | None = None, *, status: int = 200,
          **data: Any) -> Response:
    return render(ctx, template, status=status, section=SECTION, ws=ws, wv=views, **data)


@router.get("/workspaces")
def workspaces_index(request: Request, ctx: PageContext = Depends(page("grant.read"))) -> Response:
    assert ctx.principal is not None
    today = date.today()
    rt = runtime(request)
    listed = grants.list_grants(rt, ctx.principal, today=today)
    analyst = ctx.can("workspace.use")
    closed: dict[str, Message] = {}  # grant id → why its workspace is closed to this analyst
    if analyst:
        for g in listed:  # with the operator's staff facts: the personnel gate counts too (R4.1)
            try:
                grant_rules.check_workspace_access(grants.load_grant(rt, g.id, today=today), ctx.principal, today)
            except DomainError as exc:
                closed[g.id] = exc.message
    return _page(ctx, "workspace/index.html", grants=listed, closed=closed, analyst=analyst)


@router.get("/workspaces/{grant_id}")
def workspace_columns(grant_id: str, request: Request, ctx: PageContext = Depends(page("grant.read"))) -> Response:
    ws = enter(request, ctx, grant_id)
    schema = queries.grant_schema(runtime(request), ctx.principal, grant_id)  # type: ignore[arg-type]
    return _page(ctx, "workspace/columns.html", ws, tab="columns", schema=schema)


def _dev_page(request: Request, ctx: PageContext, ws: Workspace, table: str = "", *, status: int = 200,
              error: Refusal | None = None, built: bool = False) -> Response:
    rt = runtime(request)
    builds = devdata.list_builds(rt, ws.grant.id)
    latest = next((b for b in builds if b.status == "ready"), None)
    tables = list(latest.manifest.get("tables", {})) if latest else []
    chosen = table if table in tables else (tables[0] if tables else "")
    preview: dict[str, Any] | None = None
    preview_error: Refusal | None = None
    if ws.working and chosen:
        try:  # through the dev query service: recorded in the history and the audit log like any query
            preview = queries.run_query(rt, ctx.principal, ws.grant.id,  # type: ignore[arg-type]
                                        f"SELECT * FROM {chosen} LIMIT {DEV_PREVIEW_ROWS}", "dev")
        except DomainError as exc:
            if exc.code.startswith("workspace."):
                raise
            preview_error = Refusal.of(exc)
    ctx = replace(ctx, here=f"/workspaces/{ws.grant.id}/dev" + (f"?table={chosen}" if chosen else ""))
    return _page(ctx, "workspace/dev.html", ws, status=status, tab="dev", builds=builds[:10], latest=latest,
                 tables=tables, chosen=chosen, preview=preview, preview_error=preview_error, error=error,
                 preview_rows=DEV_PREVIEW_ROWS, built=built)


@router.get("/workspaces/{grant_id}/dev")
def workspace_dev(grant_id: str, request: Request, table: str = "", built: int = 0,
                  ctx: PageContext = Depends(page("grant.read"))) -> Response:
    return _dev_page(request, ctx, enter(request, ctx, grant_id), table[:200], built=bool(built))


@router.post("/workspaces/{grant_id}/dev/build")
def workspace_dev_build(grant_id: str, request: Request,
                        ctx: PageContext = Depends(page("workspace.use"))) -> Response:
    ws = enter(request, ctx, grant_id)
    try:
        devdata.build_dev_data(runtime(request), ctx.principal, grant_id)  # type: ignore[arg-type]
    except DomainError as exc:
        if exc.code.startswith("workspace."):
            raise
        return _dev_page(request, ctx, ws, status=exc.status, error=Refusal.of(exc))
    return RedirectResponse(f"/workspaces/{grant_id}/dev?built=1", status_code=303)


def _history(request: Request, ctx: PageContext, grant_id: str, limit: int = HISTORY_LIMIT) -> list[Any]:
    return queries.list_queries(runtime(request), ctx.principal, grant_id, limit=limit)  # type: ignore[arg-type]


def _editor(request: Request, ctx: PageContext, ws: Workspace, *, sql: str, environment: str, status: int = 200,
            result: dict[str, Any] | None = None, refusal: Refusal | None = None) -> Response:
    schema = queries.grant_schema(runtime(request), ctx.principal, ws.grant.id)  # type: ignore[arg-type]
    notes = views.decision_notes(result.get("decisions", [])) if result else []
    return _page(ctx, "workspace/sql.html", ws, status=status, tab="sql", sql=sql, environment=environment,
                 result=result, refusal=refusal, notes=notes, schema=schema,
                 row_cap=runtime(request).settings.query_row_cap)


@router.get("/workspaces/{grant_id}/sql")
def workspace_sql(grant_id: str, request: Request, load: str = "", env: str = "dev",
                  ctx: PageContext = Depends(page("workspace.use"))) -> Response:
    ws = enter(request, ctx, grant_id)
    sql, environment = "", env if env in views.ENVIRONMENTS else "dev"
    if load:
        past = next((q for q in _history(request, ctx, grant_id, limit=1000) if q.id == load), None)
        if past is not None:
            sql, environment = past.sql, past.environment if past.environment in views.ENVIRONMENTS else "dev"
    return _editor(request, ctx, ws, sql=sql, environment=environment)


@router.post("/workspaces/{grant_id}/queries")
def workspace_sql_run(grant_id: str, request: Request, sql: str = Form(""), environment: str = Form("dev"),
                      ctx: PageContext = Depends(page("workspace.use"))) -> Response:
    ws = enter(request, ctx, grant_id)
    environment = environment if environment in views.ENVIRONMENTS else "dev"
    result: dict[str, Any] | None = None
    refusal: Refusal | None = None
    try:
        if len(sql) > SQL_MAX_CHARS:
            raise InvalidInput("query.too_long", SQL_TOO_LONG)
        result = queries.run_query(runtime(request), ctx.principal, grant_id, sql, environment)  # type: ignore[arg-type]
    except DomainError as exc:
        if exc.code.startswith("workspace."):
            raise  # the workspace closed meanwhile: the 403 page
        refusal = Refusal.of(exc)
    # the language switch comes back to this query in the editor (a GET), not to this POST
    query_id = result["query_id"] if result else _latest_own(request, ctx, grant_id)
    back = f"/workspaces/{grant_id}/sql" + (f"?load={query_id}" if query_id else f"?env={environment}")
    return _editor(request, replace(ctx, here=back), ws, sql=sql, environment=environment,
                   status=refusal.status if refusal else 200, result=result, refusal=refusal)


def _latest_own(request: Request, ctx: PageContext, grant_id: str) -> str:
    assert ctx.principal is not None
    own = (q for q in _history(request, ctx, grant_id, limit=20) if q.username == ctx.principal.username)
    latest = next(own, None)
    return latest.id if latest else ""


@router.get("/workspaces/{grant_id}/history")
def workspace_history(grant_id: str, request: Request, ctx: PageContext = Depends(page("grant.read"))) -> Response:
    ws = enter(request, ctx, grant_id)
    history = _history(request, ctx, grant_id)
    return _page(ctx, "workspace/history.html", ws, tab="history", history=history, limit=HISTORY_LIMIT)
