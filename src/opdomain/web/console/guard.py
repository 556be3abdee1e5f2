"""Guards of console pages: each declares its permission, like every API route.

``Depends(page("catalog.read"))`` authenticates the session cookie, checks the CSRF token of a
POST, checks the permission (deny by default, refusals audited by ``identity.service.authorize``)
and hands the page a :class:`PageContext`. ``Depends(public_page)`` is the same for pages open
to anonymous visitors (login). Both callables carry ``.permission``, which the authorization
matrix test reads.

Failures are plain domain errors; ``console.errors`` turns them into pages: ``Unauthenticated``
→ redirect to ``/login``, ``PermissionDenied`` (CSRF included) → a 403 page in the visitor's language.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Depends, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from opdomain.errors import PermissionDenied
from opdomain.identity import service
from opdomain.identity.api import SESSION_COOKIE, current_principal, optional_principal, runtime
from opdomain.identity.service import Principal
from opdomain.runtime import Runtime
from opdomain.web.console import csrf
from opdomain.web.console import messages as msg
from opdomain.web.console.i18n import language_of
from opdomain.web.console.render import PageContext

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Visitor:
    """An actor for the audit record of an anonymous visitor's refused request."""

    username: str = "anonymous"
    role: str = "anonymous"
    organization_code: str = ""


class CsrfRefused(PermissionDenied):
    """A state-changing request without a valid CSRF token."""


async def submitted_form(request: Request) -> FormData | None:
    """The form of a POST (parsed once; FastAPI's own ``Form``/``File`` parameters reuse it)."""
    if request.method in SAFE_METHODS:
        return None
    return await request.form()


def here(request: Request) -> str:
    """Where "come back here" links (language switch, login) lead: this page, if a GET can reach it."""
    if request.method not in SAFE_METHODS:
        return "/"  # a page answering a POST sets its own (``dataclasses.replace(ctx, here=…)``)
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def safe_next(value: str | None, default: str = "/", *, allow_login: bool = False) -> str:
    """A local path to go to after login or a language switch; anything else → ``default``.

    Refuses absolute and scheme-relative URLs (``//evil``, ``/\\evil``) so the console is no open redirect.
    """
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    if any(ord(c) < 32 for c in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path == "/logout" or parts.path.startswith("/lang/"):
        return default
    if parts.path == "/login" and not allow_login:
        return default
    return value


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    return auth[7:].strip() if auth.lower().startswith("bearer ") else None


def csrf_key(rt: Runtime) -> bytes:
    return csrf.installation_key(rt.settings.keys_dir)


def session_csrf_token(request: Request) -> str:
    """The synchronizer token of this request's session ('' without a session cookie)."""
    session = request.cookies.get(SESSION_COOKIE)
    return csrf.session_token(csrf_key(runtime(request)), session) if session else ""


def refuse_csrf(request: Request, actor: object) -> None:
    """Audits the refused request in its own transaction and raises the 403."""
    rt = runtime(request)
    rt.audit.record_refusal(actor, "csrf.check", "route",  # type: ignore[arg-type]
                            f"{request.method} {request.url.path}", reason="csrf.invalid",
                            details={"client": client_ip(request)})
    raise CsrfRefused("csrf.invalid", msg.CSRF_INVALID)


def _check_session_csrf(request: Request, principal: Principal, form: FormData) -> None:
    if _bearer(request):
        return  # a bearer header is never sent by a browser on its own: no cross-site forgery possible
    given = form.get(csrf.FIELD) or request.headers.get("x-csrf-token")
    expected = session_csrf_token(request)
    if not expected or not csrf.matches(expected, given if isinstance(given, str) else None):
        refuse_csrf(request, principal)


def context_for(request: Request, principal: Principal | None) -> PageContext:
    return PageContext(principal=principal, lang=language_of(request),
                       csrf_token=session_csrf_token(request) if principal else "",
                       path=request.url.path, here=here(request))


def page(permission: str) -> Callable[..., PageContext]:
    """The guard of a page for logged-in users holding ``permission``."""

    def dependency(request: Request, form: FormData | None = Depends(submitted_form)) -> PageContext:
        principal = current_principal(request)
        if form is not None:
            _check_session_csrf(request, principal, form)
        service.authorize(runtime(request), principal, permission, object_type="page",
                          object_id=f"{request.method} {request.url.path}")
        return context_for(request, principal)

    dependency.permission = permission  # type: ignore[attr-defined]
    dependency.__name__ = f"console_page_{permission.replace('.', '_')}"
    return dependency


def public_page(request: Request, form: FormData | None = Depends(submitted_form)) -> PageContext:
    """The guard of a page open to anonymous visitors; its forms use the double-submit cookie."""
    key = csrf_key(runtime(request))
    nonce = request.cookies.get(csrf.PRESESSION_COOKIE)
    if form is not None:
        given = form.get(csrf.FIELD)
        if not nonce or not csrf.matches(csrf.presession_token(key, nonce), given if isinstance(given, str) else None):
            refuse_csrf(request, Visitor())
    if not nonce:
        nonce = csrf.new_nonce()
        request.state.new_csrf_nonce = nonce
    return PageContext(principal=optional_principal(request), lang=language_of(request),
                       csrf_token=csrf.presession_token(key, nonce), path=request.url.path, here=here(request))


public_page.permission = "public"  # type: ignore[attr-defined]


def set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int | None = None,
               samesite: str = "strict") -> None:
    """Console cookies are HttpOnly, host-only, Path=/, and Secure behind TLS (``secure_cookies``)."""
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True,
                        secure=runtime(request).settings.secure_cookies, samesite=samesite)  # type: ignore[arg-type]


def delete_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(name, path="/", httponly=True, secure=runtime(request).settings.secure_cookies,
                           samesite="strict")


def attach_presession_cookie(request: Request, response: Response) -> None:
    """Sets the login form's nonce cookie if ``public_page`` had to make a new one."""
    nonce = getattr(request.state, "new_csrf_nonce", None)
    if nonce:
        set_cookie(request, response, csrf.PRESESSION_COOKIE, nonce)
