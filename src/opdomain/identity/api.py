"""HTTP API of identity: login (SPEC §9 contract), the caller's profile, and the ``require`` guard.

Every route of the product declares its permission with ``Depends(require("…"))`` or its
openness with ``Depends(public)``; the authorization-matrix test fails on a route with neither.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from opdomain.errors import Unauthenticated
from opdomain.identity import messages as msg
from opdomain.identity import service
from opdomain.identity.service import Principal
from opdomain.runtime import Runtime

router = APIRouter(prefix="/api/v1", tags=["identity"])
SESSION_COOKIE = "opdomain_session"


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def _token_from(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    # console pages authenticate with the same opaque token, carried in an HttpOnly cookie
    return request.cookies.get(SESSION_COOKIE)


def current_principal(request: Request) -> Principal:
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    principal = service.authenticate(runtime(request), _token_from(request))
    request.state.principal = principal
    return principal


def require(permission: str) -> Callable[..., Principal]:
    """A dependency that authenticates the caller and checks ``permission`` (deny by default)."""

    def dependency(request: Request) -> Principal:
        try:
            principal = current_principal(request)
        except Unauthenticated as exc:
            # every refusal of a protected action is audited, also an anonymous or stale caller's
            client = request.client.host if request.client else ""
            runtime(request).audit.record_refusal(
                service.Anonymous(client or "anonymous"),
                permission,
                "route",
                f"{request.method} {request.url.path}",
                reason=exc.code,
            )
            raise
        service.authorize(
            runtime(request),
            principal,
            permission,
            object_type="route",
            object_id=f"{request.method} {request.url.path}",
        )
        return principal

    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency


def public() -> None:
    """Marks a route as open to anonymous callers (login, health, public notices)."""


public.permission = "public"  # type: ignore[attr-defined]


def optional_principal(request: Request) -> Principal | None:
    try:
        return current_principal(request)
    except Unauthenticated:
        return None


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class LoginResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int


class Me(BaseModel):
    username: str
    real_name: str
    role: str
    organization: str
    organization_name: str


@router.post("/auth/login", response_model=LoginResponse, dependencies=[Depends(public)])
def login(body: LoginRequest, request: Request) -> LoginResponse:
    client = request.client.host if request.client else ""
    issued = service.login(runtime(request), body.username, body.password, client=client)
    return LoginResponse(access_token=issued.token, expires_in=issued.expires_in)


@router.post("/auth/logout", status_code=204)
def logout(request: Request, principal: Principal = Depends(require("session.me"))) -> None:
    service.logout(runtime(request), principal)


@router.get("/me", response_model=Me)
def me(principal: Principal = Depends(require("session.me"))) -> Me:
    return Me(
        username=principal.username,
        real_name=principal.real_name,
        role=principal.role,
        organization=principal.organization_code,
        organization_name=principal.organization_name,
    )


@router.get("/organizations")
def organizations(request: Request, _: Principal = Depends(require("org.read"))) -> list[dict[str, Any]]:
    return [
        {"code": o.code, "name": o.name, "kind": o.kind, "government": o.government}
        for o in service.list_organizations(runtime(request))
    ]


__all__ = ["router", "require", "public", "current_principal", "runtime", "msg"]
