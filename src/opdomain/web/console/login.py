"""Login, logout and the language switch.

Login goes through ``identity.service.login`` (argon2id, throttling of repeated failures, audit);
the console only carries the opaque token in an HttpOnly, SameSite=Strict cookie.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from opdomain.errors import Message, TooManyRequests, Unauthenticated
from opdomain.identity import service
from opdomain.identity.api import SESSION_COOKIE, public, runtime
from opdomain.web.console import csrf
from opdomain.web.console import messages as msg
from opdomain.web.console.guard import (
    attach_presession_cookie,
    client_ip,
    delete_cookie,
    page,
    public_page,
    safe_next,
    set_cookie,
)
from opdomain.web.console.i18n import LANG_COOKIE, LANGUAGES
from opdomain.web.console.render import PageContext, render

router = APIRouter(include_in_schema=False)
_LANG_COOKIE_AGE = 365 * 24 * 3600


def _login_page(request: Request, ctx: PageContext, *, next_: str, status: int = 200, error: Message | None = None,
                username: str = "", expired: bool = False) -> Response:
    back = "/login" + (f"?next={quote(next_, safe='/')}" if next_ != "/" else "")
    response = render(replace(ctx, here=back), "login.html", status=status, next=next_, error=error, username=username,
                      expired=expired)
    attach_presession_cookie(request, response)
    return response


@router.get("/login", dependencies=[Depends(public)])
def login_form(request: Request, next: str = "/", expired: int = 0,
               ctx: PageContext = Depends(public_page)) -> Response:
    if ctx.principal is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, ctx, next_=safe_next(next), expired=bool(expired))


@router.post("/login", dependencies=[Depends(public)])
def login_submit(request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/"),
                 ctx: PageContext = Depends(public_page)) -> Response:
    username = username.strip()
    if not username or not password or len(username) > 64 or len(password) > 256:
        return _login_page(request, ctx, next_=safe_next(next), status=422, error=msg.MISSING_CREDENTIALS,
                           username=username[:64])
    try:
        issued = service.login(runtime(request), username, password, client=client_ip(request))
    except (Unauthenticated, TooManyRequests) as exc:
        return _login_page(request, ctx, next_=safe_next(next), status=exc.status, error=exc.message,
                           username=username)
    response = RedirectResponse(safe_next(next), status_code=303)
    set_cookie(request, response, SESSION_COOKIE, issued.token, max_age=issued.expires_in)
    delete_cookie(request, response, csrf.PRESESSION_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, ctx: PageContext = Depends(page("session.me"))) -> Response:
    assert ctx.principal is not None
    service.logout(runtime(request), ctx.principal)
    response = RedirectResponse("/login", status_code=303)
    delete_cookie(request, response, SESSION_COOKIE)
    return response


@router.get("/lang/{code}", dependencies=[Depends(public)])
def switch_language(code: str, request: Request, next: str = "/") -> Response:
    """Sets the language cookie and goes back; a harmless preference, so a plain link (no form)."""
    response = RedirectResponse(safe_next(next, allow_login=True), status_code=303)
    if code in LANGUAGES:
        set_cookie(request, response, LANG_COOKIE, code, max_age=_LANG_COOKIE_AGE, samesite="lax")
    return response
