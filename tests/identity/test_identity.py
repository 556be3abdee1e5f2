"""Identity (R4.4b safe people; SPEC §2 deny by default; SPEC §9 login contract)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from opdomain.audit.log import SYSTEM
from opdomain.audit.query import AuditFilter, search
from opdomain.errors import Conflict, InvalidInput, PermissionDenied, TooManyRequests, Unauthenticated
from opdomain.identity import service
from opdomain.identity.models import User
from opdomain.runtime import Runtime
from opdomain.web.app import create_app
from tests.conftest import resident_id, seed_people


def test_login_contract_returns_bearer_token(srt: Runtime) -> None:
    pw = seed_people(srt)
    client = TestClient(create_app(srt))
    r = client.post("/api/v1/auth/login", json={"username": "analyst", "password": pw["analyst"]})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0 and len(body["access_token"]) > 30
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["role"] == "analyst" and me.json()["organization"] == "op1"


def test_wrong_password_gets_the_error_shape_and_is_audited(srt: Runtime) -> None:
    seed_people(srt)
    client = TestClient(create_app(srt))
    r = client.post("/api/v1/auth/login", json={"username": "analyst", "password": "nope"})
    assert r.status_code == 401
    err = r.json()["error"]
    assert err["code"] == "auth.bad_credentials" and err["message"] == "用户名或密码错误" and err["message_en"]
    assert search(srt.store, AuditFilter(action="auth.login", outcome="refused"))


def test_unknown_user_and_wrong_password_look_the_same(srt: Runtime) -> None:
    seed_people(srt)
    client = TestClient(create_app(srt))
    a = client.post("/api/v1/auth/login", json={"username": "ghost", "password": "x"}).json()
    b = client.post("/api/v1/auth/login", json={"username": "analyst", "password": "x"}).json()
    assert a == b


def test_repeated_failures_are_throttled_even_with_the_right_password(srt: Runtime) -> None:
    pw = seed_people(srt)
    for _ in range(srt.settings.login_max_failures):
        with pytest.raises(Unauthenticated):
            service.login(srt, "analyst", "guess")
    with pytest.raises(TooManyRequests):
        service.login(srt, "analyst", pw["analyst"])
    client = TestClient(create_app(srt))
    r = client.post("/api/v1/auth/login", json={"username": "analyst", "password": pw["analyst"]})
    assert r.status_code == 429 and r.json()["error"]["code"] == "auth.throttled"


def test_passwords_are_stored_as_argon2id(srt: Runtime) -> None:
    pw = seed_people(srt)
    with srt.store.session() as s:
        user = s.query(User).filter_by(username="analyst").one()
        assert user.password_hash.startswith("$argon2id$") and pw["analyst"] not in user.password_hash


def test_logout_revokes_the_token(srt: Runtime) -> None:
    pw = seed_people(srt)
    client = TestClient(create_app(srt))
    token = client.post("/api/v1/auth/login", json={"username": "auditor", "password": pw["auditor"]}).json()[
        "access_token"
    ]
    h = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/auth/logout", headers=h).status_code == 204
    r = client.get("/api/v1/me", headers=h)
    assert r.status_code == 401 and r.json()["error"]["code"] == "auth.token_invalid"


def test_forged_token_is_refused(srt: Runtime) -> None:
    seed_people(srt)
    client = TestClient(create_app(srt))
    r = client.get("/api/v1/me", headers={"Authorization": "Bearer forged-token-value"})
    assert r.status_code == 401


def test_users_are_real_named_with_a_valid_resident_id(rt: Runtime) -> None:
    seed_people(rt)
    bad_id = resident_id(40)[:-1] + ("0" if resident_id(40)[-1] != "0" else "1")
    with pytest.raises(InvalidInput) as err:
        service.create_user(
            rt,
            SYSTEM,
            username="x1",
            password="long-enough-pw",
            real_name="某人",
            resident_id=bad_id,
            phone="13900001111",
            role="analyst",
            organization_code="op1",
        )
    assert err.value.code == "user.bad_resident_id"
    with pytest.raises(InvalidInput):
        service.create_user(
            rt,
            SYSTEM,
            username="x2",
            password="long-enough-pw",
            real_name="某人",
            resident_id=resident_id(41),
            phone="12345",
            role="analyst",
            organization_code="op1",
        )


def test_role_must_fit_the_organization(rt: Runtime) -> None:
    seed_people(rt)
    with pytest.raises(InvalidInput) as err:
        service.create_user(
            rt,
            SYSTEM,
            username="x3",
            password="long-enough-pw",
            real_name="某人",
            resident_id=resident_id(42),
            phone="13900001112",
            role="reviewer",
            organization_code="op1",
        )
    assert err.value.code == "user.role_org_mismatch"


def test_usernames_are_unique(rt: Runtime) -> None:
    seed_people(rt)
    with pytest.raises(Conflict):
        service.create_user(
            rt,
            SYSTEM,
            username="analyst",
            password="long-enough-pw",
            real_name="某人",
            resident_id=resident_id(43),
            phone="13900001113",
            role="analyst",
            organization_code="op1",
        )


def test_refused_permission_is_audited(rt: Runtime) -> None:
    seed_people(rt)
    analyst = service.principal_for(rt, "analyst")
    with pytest.raises(PermissionDenied):
        service.authorize(rt, analyst, "audit.read")
    rec = search(rt.store, AuditFilter(actor="analyst", outcome="refused"))[0]
    assert rec.action == "audit.read" and rec.reason == "auth.permission_denied" and rec.role == "analyst"


def test_unknown_permission_is_denied(rt: Runtime) -> None:
    seed_people(rt)
    with pytest.raises(PermissionDenied):
        service.authorize(rt, service.principal_for(rt, "admin"), "no.such.permission")
