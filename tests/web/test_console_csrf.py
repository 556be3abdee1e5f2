"""CSRF protection of every console form; a refusal is a 403 page and an audit record."""

from __future__ import annotations

import stat

from opdomain.audit.query import AuditFilter, search
from opdomain.web.console import csrf
from tests.web.conftest import PASSWORD, csrf_of, login


def _csrf_refusals(domain, actor: str) -> list:  # type: ignore[no-untyped-def]
    return search(domain.rt.store, AuditFilter(actor=actor, action="csrf.check", outcome="refused"))


def test_post_without_token_is_refused_with_a_403_page_and_audited(as_user, domain):
    client = as_user("lina")
    before = len(_csrf_refusals(domain, "lina"))

    response = client.post("/audit/verify", data={})

    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    assert "表单已过期或并非来自本系统" in response.text
    refusals = _csrf_refusals(domain, "lina")
    assert len(refusals) == before + 1
    assert refusals[0].object_id == "POST /audit/verify" and refusals[0].reason == "csrf.invalid"


def test_post_with_a_wrong_token_is_refused(as_user):
    client = as_user("lina")

    response = client.post("/audit/verify", data={"csrf_token": "0" * 64})

    assert response.status_code == 403


def test_token_of_another_session_is_refused(app, client):
    from fastapi.testclient import TestClient

    with TestClient(app, follow_redirects=False) as other:
        assert login(other, "wangqiang").status_code == 303
        foreign = csrf_of(other.get("/").text)
    assert login(client, "lina").status_code == 303

    response = client.post("/audit/verify", data={"csrf_token": foreign})

    assert response.status_code == 403


def test_post_with_the_session_token_is_accepted(as_user):
    client = as_user("lina")
    token = csrf_of(client.get("/audit").text)

    response = client.post("/audit/verify", data={"csrf_token": token})

    assert response.status_code == 200
    assert "审计链完整" in response.text


def test_logout_needs_the_token_too(as_user):
    client = as_user("zhangwei")

    assert client.post("/logout", data={}).status_code == 403
    assert client.get("/").status_code == 200  # still logged in


def test_login_without_the_double_submit_cookie_is_refused_and_audited(client, domain):
    page = client.get("/login")
    token = csrf_of(page.text)
    client.cookies.clear()  # a cross-site form has the token at best, never the cookie
    before = len(_csrf_refusals(domain, "anonymous"))

    response = client.post("/login", data={"username": "zhangwei", "password": PASSWORD, "csrf_token": token})

    assert response.status_code == 403
    assert "opdomain_session" not in response.headers.get("set-cookie", "")
    assert len(_csrf_refusals(domain, "anonymous")) == before + 1


def test_login_with_a_planted_cookie_but_no_matching_token_is_refused(client):
    client.cookies.set(csrf.PRESESSION_COOKIE, "attacker-chosen-nonce")

    response = client.post("/login", data={"username": "zhangwei", "password": PASSWORD,
                                           "csrf_token": "attacker-chosen-nonce"})

    assert response.status_code == 403


def test_tokens_are_hmacs_bound_to_their_session_and_purpose():
    key = b"k" * 32

    assert csrf.session_token(key, "a") != csrf.session_token(key, "b")
    assert csrf.session_token(key, "a") != csrf.presession_token(key, "a")
    assert csrf.session_token(key, "a") != csrf.session_token(b"x" * 32, "a")
    assert csrf.matches(csrf.session_token(key, "a"), csrf.session_token(key, "a"))
    assert not csrf.matches(csrf.session_token(key, "a"), None)
    assert not csrf.matches(csrf.session_token(key, "a"), "")


def test_the_secret_is_created_once_with_owner_only_permissions(tmp_path):
    keys = tmp_path / "keys"

    first = csrf.installation_key(keys)
    csrf._keys.clear()  # a new process reads the same file
    second = csrf.installation_key(keys)

    assert first == second and len(first) == 32
    assert stat.S_IMODE((keys / csrf.KEY_FILE).stat().st_mode) == 0o600
    assert [p.name for p in keys.iterdir()] == [csrf.KEY_FILE]  # no temporary file left behind
