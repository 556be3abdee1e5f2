"""The authorization matrix, generated from the app's route list (SPEC §2: deny by default).

Every API route and console page must declare its permission (``require("…")`` or ``public``);
a route without one fails here. Then every role, and an anonymous caller, is sent to every
protected API route and must get exactly what ``identity.roles.PERMISSIONS`` says: 401 for
anonymous, 403 for a role without the permission — and that refusal is audited.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount

from opdomain.audit.query import AuditFilter, search
from opdomain.identity.roles import PERMISSIONS, Role, can
from opdomain.runtime import Runtime
from opdomain.web.app import create_app
from tests.conftest import seed_people

ROLE_USERS = {Role.AUTHORITY_ADMIN: "admin", Role.REVIEWER: "reviewer1", Role.OPERATOR_ADMIN: "opadmin",
              Role.ANALYST: "analyst", Role.AUDITOR: "auditor", Role.EXPERT: "expert1", Role.CONSUMER: "bank",
              Role.PROVIDER: "amr-staff"}
OPEN_MOUNTS = {"static"}  # local assets of the console: public by design


@dataclass(frozen=True)
class RouteInfo:
    path: str
    methods: frozenset[str]
    dependant: Any
    name: str


def iter_routes(app: Any) -> Iterator[RouteInfo | Mount | Any]:
    """Every route of the app, also those FastAPI ≥ 0.16x keeps inside lazily included routers."""
    for r in app.routes:
        if isinstance(r, APIRoute):
            yield RouteInfo(r.path, frozenset(r.methods), r.dependant, r.name)
        elif type(r).__name__ == "_IncludedRouter":
            for ctx in r.effective_route_contexts():
                if getattr(ctx, "starlette_route", None) is not None:
                    yield ctx.starlette_route
                else:
                    yield RouteInfo(ctx.path, frozenset(ctx.methods or ()), ctx.dependant, ctx.name)
        else:
            yield r


def declared_permission(route: RouteInfo) -> str | None:
    def walk(dep) -> Iterator[str]:  # type: ignore[no-untyped-def]
        perm = getattr(dep.call, "permission", None)
        if perm:
            yield perm
        for sub in dep.dependencies:
            yield from walk(sub)

    found = list(walk(route.dependant))
    return found[0] if found else None


@pytest.fixture
def app_and_tokens(srt: Runtime):  # type: ignore[no-untyped-def]
    passwords = seed_people(srt)
    app = create_app(srt)
    client = TestClient(app)
    tokens = {}
    for role, user in ROLE_USERS.items():
        r = client.post("/api/v1/auth/login", json={"username": user, "password": passwords[user]})
        assert r.status_code == 200, r.text
        tokens[role] = r.json()["access_token"]
    return srt, app, client, tokens


def test_every_route_declares_its_permission(srt: Runtime) -> None:
    app = create_app(srt)
    missing = []
    for route in iter_routes(app):
        if isinstance(route, RouteInfo):
            perm = declared_permission(route)
            if perm is None:
                missing.append(f"{sorted(route.methods)} {route.path}")
            elif perm != "public":
                assert perm in PERMISSIONS, f"{route.path} uses undeclared permission {perm}"
        elif isinstance(route, Mount):
            assert route.name in OPEN_MOUNTS, f"mount {route.path} has no permission rule"
        else:
            # openapi.json and the like: FastAPI's own, documented as public
            assert route.path in {"/openapi.json"}, f"unexpected route {route.path}"
    assert not missing, f"routes without a permission: {missing}"


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def test_each_role_gets_exactly_what_the_matrix_says(app_and_tokens) -> None:  # type: ignore[no-untyped-def]
    rt, app, client, tokens = app_and_tokens
    checked = 0
    for route in iter_routes(app):
        if not isinstance(route, RouteInfo) or not route.path.startswith("/api/"):
            continue
        perm = declared_permission(route)
        if perm in (None, "public", "session.me") or perm == "public":
            continue
        method = sorted(route.methods - {"HEAD"})[0]
        path = _fill(route.path)
        anon = client.request(method, path)
        assert anon.status_code == 401, f"anonymous {method} {path}: {anon.status_code}"
        assert anon.json()["error"]["code"].startswith("auth.")
        for role, token in tokens.items():
            r = client.request(method, path, headers={"Authorization": f"Bearer {token}"})
            if can(role, perm):
                assert r.status_code != 403, f"{role} {method} {path} refused: {r.text}"
            else:
                assert r.status_code == 403, f"{role} {method} {path}: {r.status_code} {r.text}"
                body = r.json()["error"]
                assert body["code"] == "auth.permission_denied" and body["message"] and body["message_en"]
            checked += 1
    assert checked >= 8 * 5
    refusals = search(rt.store, AuditFilter(outcome="refused", limit=1000))
    assert any(x.reason == "auth.permission_denied" and x.role == "consumer" for x in refusals)
    assert any(x.reason == "auth.required" and x.role == "anonymous" for x in refusals)


def test_console_pages_redirect_anonymous_to_login(app_and_tokens) -> None:  # type: ignore[no-untyped-def]
    _, app, client, _ = app_and_tokens
    pages = [r for r in iter_routes(app) if isinstance(r, RouteInfo) and not r.path.startswith("/api/")
             and "GET" in r.methods and declared_permission(r) not in ("public", None) and "{" not in r.path]
    for route in pages:
        r = client.get(route.path, follow_redirects=False)
        assert r.status_code in (302, 303, 307, 401), f"{route.path}: {r.status_code}"
