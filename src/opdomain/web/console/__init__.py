"""The web console (Web 控制台): server-rendered pages for every role, Chinese first (SPEC §9).

``mount_console(app)`` adds the pages, the static assets under ``/static`` and the error pages.
Every page declares its permission with ``Depends(page("…"))`` or ``Depends(public_page)``;
``/static`` is public (CSS, the vendored htmx, icons — nothing of the domain's data): its
``StaticFiles`` app is the Mount named ``static`` and carries ``permission = "public"``.
A later capability adds a router of pages with :func:`add_pages` and a nav item with
``labels.add_nav_item``. See docs/console.md.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from opdomain.web.console import audit, catalog, errors, home, imports, login
from opdomain.web.console.guard import page, public_page
from opdomain.web.console.labels import NavItem, add_nav_item
from opdomain.web.console.render import STATIC_DIR, PageContext, render

_PAGES: list[APIRouter] = [login.router, home.router, catalog.router, imports.router, audit.router]


def add_pages(router: APIRouter) -> None:
    """Registers a later capability's console pages (call before ``create_app``)."""
    if router not in _PAGES:
        _PAGES.append(router)


def mount_console(app: FastAPI) -> None:
    static = StaticFiles(directory=STATIC_DIR)
    static.permission = "public"  # type: ignore[attr-defined]
    app.mount("/static", static, name="static")
    for router in _PAGES:
        app.include_router(router)
    errors.install(app)


# the analyst's workspace, then the consent registry (issue 3); each module adds its own nav items on import
from opdomain.web.console import workspace  # noqa: E402

_PAGES.append(workspace.router)
from opdomain.web.console import consent_pages  # noqa: E402

_PAGES.append(consent_pages.router)

__all__ = ["mount_console", "add_pages", "add_nav_item", "NavItem", "page", "public_page", "PageContext", "render"]

# jobs, egress review (数据出域审核) and products (issue: airlock console); each adds its nav items on import
from opdomain.web.console import airlock_pages, jobs_pages, products_pages  # noqa: E402

_PAGES.extend([jobs_pages.router, airlock_pages.router, products_pages.router])

# the authorization lifecycle: announcements, applications, public notice, grants, safe people, notifications
from opdomain.web.console import lifecycle_gap_pages, lifecycle_pages  # noqa: E402

# first: /applications/new must not be taken for an application id
_PAGES.append(lifecycle_gap_pages.router)
_PAGES.append(lifecycle_pages.router)
