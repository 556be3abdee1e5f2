"""Rendering console pages: one Jinja2 environment with the i18n extension, security headers.

Pages are rendered on the server; htmx (vendored under /static/vendor) only swaps parts of
them, so every page works without JavaScript too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from opdomain.identity.roles import can
from opdomain.identity.service import Principal
from opdomain.web.console import i18n, labels

WEB_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

#: the console loads nothing from outside the domain (isolated network) and runs no inline script
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


@dataclass(frozen=True)
class PageContext:
    """What every page knows about its request: who asks, in which language, the form token."""

    principal: Principal | None
    lang: str
    csrf_token: str
    path: str
    #: query string included, for "come back here" links (language switch, login)
    here: str = "/"

    def can(self, permission: str) -> bool:
        return self.principal is not None and can(self.principal.role, permission)


def _nav(ctx: PageContext) -> list[tuple[str, list[labels.NavItem]]]:
    groups: dict[str, list[labels.NavItem]] = {}
    for item in labels.NAV:
        if ctx.can(item.permission):
            groups.setdefault(item.group, []).append(item)
    return list(groups.items())


@cache
def _asset_version(name: str) -> str:
    try:
        return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:10]
    except OSError:
        return "0"


def static_url(name: str) -> str:
    """``/static/<name>?v=<digest>``: browsers may cache assets forever, and still see changes."""
    return f"/static/{name}?v={_asset_version(name)}"


def _grade_class(grade: str | None) -> str:
    return f"grade grade-{(grade or '').lower()}" if grade in labels.GRADES else "grade"


def _as_text(value: Any) -> str:
    """A detail value for display: strings as they are, anything else as compact JSON (Chinese kept)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _build_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(("html",)),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        static_url=static_url,
        labels=labels,
        label=labels.label,
        message_text=i18n.message_text,
        grade_class=_grade_class,
    )
    env.filters.update(dt=i18n.format_time, num=i18n.format_number, as_text=_as_text)
    return env


env = _build_env()


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def secure_headers(response: Any, lang: str) -> None:
    response.headers["content-security-policy"] = CONTENT_SECURITY_POLICY
    # pages hold personal and audit data: never cached, never stored by htmx's history either
    response.headers["cache-control"] = "no-store"
    response.headers["content-language"] = lang
    response.headers["vary"] = "Cookie, HX-Request"


def render_html(ctx: PageContext, template: str, **data: Any) -> str:
    token = i18n.use_language(ctx.lang)
    try:
        return env.get_template(template).render(
            ctx=ctx, principal=ctx.principal, lang=ctx.lang, nav=_nav(ctx), **data)
    finally:
        i18n.reset_language(token)


def render(ctx: PageContext, template: str, *, status: int = 200, **data: Any) -> HTMLResponse:
    response = HTMLResponse(render_html(ctx, template, **data), status_code=status)
    secure_headers(response, ctx.lang)
    return response
