"""Errors on console paths become pages; errors on API paths keep SPEC §9's JSON shape.

The app's own handlers (``web/app.py``) stay in charge of ``/api/…``; these wrap them and take
over everything else: an unauthenticated visitor is sent to ``/login`` (and comes back after),
a refusal is a 403 page in the visitor's language, an unknown path a 404 page.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from opdomain.errors import DomainError, Message, Unauthenticated
from opdomain.identity.api import SESSION_COOKIE
from opdomain.web.console.guard import context_for, delete_cookie, here, safe_next
from opdomain.web.console.i18n import N_, translate
from opdomain.web.console.render import is_htmx, render

#: paths that belong to the JSON API and the operations endpoints, not to the console
API_PREFIXES = ("/api/", "/openapi.json", "/healthz", "/docs", "/redoc")

_TITLES = {
    400: N_("请求有误"),
    401: N_("请先登录"),
    403: N_("无权访问"),
    404: N_("页面不存在"),
    405: N_("不支持该请求方法"),
    409: N_("操作冲突"),
    422: N_("提交的内容有误"),
    429: N_("请求过于频繁"),
}
_GENERIC_TITLE = N_("请求失败")
_NOT_FOUND = N_("您访问的页面不存在或已被移除。")
_METHOD = N_("该地址不支持此请求方法。")
_INVALID = N_("提交的内容格式不正确，请检查后重试。")


def is_console(request: Request) -> bool:
    return not request.url.path.startswith(API_PREFIXES)


def _bilingual(zh: str) -> Message:
    return Message(zh, translate("en", zh))


def error_page(request: Request, status: int, message: Message, code: str = "") -> Response:
    ctx = context_for(request, getattr(request.state, "principal", None))
    response = render(ctx, "error.html", status=status, status_code=status,
                      title=_TITLES.get(status, _GENERIC_TITLE), message=message, code=code)
    if is_htmx(request):  # the fragment htmx asked for is not in an error page: show the whole message
        response.headers.update({"HX-Retarget": "#main", "HX-Reselect": "#main", "HX-Reswap": "outerHTML"})
    return response


def to_login(request: Request, exc: Unauthenticated) -> Response:
    """Sends the visitor to the login page, and back to this page (a GET) afterwards."""
    target = "/login"
    back = safe_next(here(request), default="") if request.method == "GET" else ""
    params = []
    if back and back != "/":
        params.append(f"next={quote(back, safe='/')}")
    if exc.code != "auth.required":
        params.append("expired=1")
    if params:
        target += "?" + "&".join(params)
    response: Response
    if is_htmx(request):  # htmx would swap the login page into a fragment; make it navigate instead
        response = Response(status_code=204, headers={"HX-Redirect": target})
    else:
        response = RedirectResponse(target, status_code=303)
    if request.cookies.get(SESSION_COOKIE):
        delete_cookie(request, response, SESSION_COOKIE)
    return response


async def _delegate(handler: Callable[..., Any], request: Request, exc: Exception) -> Response:
    """Calls the app's own handler (sync or async) for a non-console path."""
    result = handler(request, exc)
    if inspect.isawaitable(result):
        result = await result
    return result  # type: ignore[no-any-return]


def install(app: FastAPI) -> None:
    api_domain = app.exception_handlers.get(DomainError)
    api_http = app.exception_handlers.get(StarletteHTTPException)
    api_validation = app.exception_handlers.get(RequestValidationError)

    async def domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        if not is_console(request):
            if api_domain is not None:
                return await _delegate(api_domain, request, exc)
            return JSONResponse(exc.to_dict(), status_code=exc.status)
        if isinstance(exc, Unauthenticated):
            return to_login(request, exc)
        return error_page(request, exc.status, exc.message, exc.code)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if not is_console(request) and api_http is not None:
            return await _delegate(api_http, request, exc)
        text = {404: _NOT_FOUND, 405: _METHOD}.get(exc.status_code, _GENERIC_TITLE)
        return error_page(request, exc.status_code, _bilingual(text), f"http.{exc.status_code}")

    async def validation_error(request: Request, exc: Exception) -> Response:
        if not is_console(request) and api_validation is not None:
            return await _delegate(api_validation, request, exc)
        return error_page(request, 422, _bilingual(_INVALID), "request.invalid")

    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
