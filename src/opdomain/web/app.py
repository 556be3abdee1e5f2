"""Assembles the HTTP application: API routers of every slice, the console, error shape.

Errors follow SPEC §9: ``{"error": {"code", "message", "message_en"}}`` with the right status.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from opdomain import __version__
from opdomain.audit.log import request_id_var
from opdomain.errors import DomainError
from opdomain.identity.api import public
from opdomain.runtime import Runtime

STATIC_DIR = Path(__file__).parent / "static"

_HTTP_MESSAGES = {
    404: ("未找到", "not found"),
    405: ("不支持该请求方法", "method not allowed"),
}


@asynccontextmanager
async def _lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
    """While serving, the lifecycle ticks by itself: grants expire at the end of their term (R3.9d),
    renewal windows are warned about (R3.9b), overdue rectifications lapse."""
    rt: Runtime = app.state.runtime
    task = None
    if rt.settings.lifecycle_tick_seconds > 0:
        task = asyncio.create_task(_tick_forever(rt, rt.settings.lifecycle_tick_seconds))
    try:
        yield
    finally:
        if task is not None:
            task.cancel()


async def _tick_forever(rt: Runtime, every: int) -> None:
    from opdomain.lifecycle.ending import tick

    while True:
        try:
            await asyncio.to_thread(tick, rt)
        except Exception:  # a failed tick is retried next round; the tick audits what it did
            logging.getLogger("opdomain.lifecycle").exception("lifecycle tick failed")
        await asyncio.sleep(every)


def create_app(rt: Runtime) -> FastAPI:
    app = FastAPI(
        title="opdomain 公共数据授权运营域", version=__version__, docs_url=None, redoc_url=None, lifespan=_lifespan
    )
    app.state.runtime = rt

    @app.middleware("http")
    async def request_id(request: Request, call_next):  # type: ignore[no-untyped-def]
        rid = request.headers.get("x-request-id") or secrets.token_hex(8)
        token = request_id_var.set(rid[:64])
        try:
            response = await call_next(request)
        finally:
            request_id_var.reset(token)
        response.headers["x-request-id"] = rid[:64]
        response.headers.setdefault("x-content-type-options", "nosniff")
        response.headers.setdefault("referrer-policy", "no-referrer")
        response.headers.setdefault("x-frame-options", "DENY")
        return response

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(exc.to_dict(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"loc": list(e.get("loc", [])), "msg": e.get("msg", "")} for e in exc.errors()]
        body = {
            "error": {
                "code": "request.invalid",
                "message": "请求格式错误",
                "message_en": "malformed request",
                "details": {"problems": problems},
            }
        }
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        zh, en = _HTTP_MESSAGES.get(exc.status_code, ("请求失败", str(exc.detail)))
        body = {"error": {"code": f"http.{exc.status_code}", "message": zh, "message_en": en}}
        return JSONResponse(body, status_code=exc.status_code)

    @app.get("/healthz", dependencies=[Depends(public)], tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    from opdomain.web.routes import include_all

    include_all(app)
    return app
