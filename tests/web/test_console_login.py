"""Console login: session cookie, throttling, logout, redirects (SPEC §2 safe people, §9 console)."""

from __future__ import annotations

from opdomain.audit.query import AuditFilter, search
from opdomain.identity.api import SESSION_COOKIE
from tests.web.conftest import PASSWORD, csrf_of, login


def _set_cookie_headers(response) -> list[str]:  # type: ignore[no-untyped-def]
    return response.headers.get_list("set-cookie")


def test_login_page_is_chinese_by_default_and_sets_the_form_nonce(client):
    response = client.get("/login")

    assert response.status_code == 200
    assert '<html lang="zh-CN">' in response.text
    assert "用户名" in response.text and "密码" in response.text
    nonce_cookie = next(c for c in _set_cookie_headers(response) if c.startswith("opdomain_csrf="))
    assert "HttpOnly" in nonce_cookie and "SameSite=strict" in nonce_cookie.replace("Strict", "strict")


def test_login_sets_an_httponly_strict_session_cookie_and_redirects_home(client):
    response = login(client, "zhangwei")

    assert response.status_code == 303
    assert response.headers["location"] == "/"
    session = next(c for c in _set_cookie_headers(response) if c.startswith(f"{SESSION_COOKIE}="))
    assert "HttpOnly" in session
    assert "samesite=strict" in session.lower()
    assert "Path=/" in session
    assert "Secure" not in session  # secure_cookies is off in plain-HTTP tests
    home = client.get("/")
    assert home.status_code == 200
    assert "张伟" in home.text and "永嘉县市场监督管理局" in home.text and "数据提供单位人员" in home.text


def test_cookies_are_secure_behind_tls(app, domain, monkeypatch):
    from fastapi.testclient import TestClient

    monkeypatch.setattr(domain.rt.settings, "secure_cookies", True)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        nonce = next(c for c in _set_cookie_headers(client.get("/login")) if c.startswith("opdomain_csrf="))
        response = login(client, "wangqiang")

    session = next(c for c in _set_cookie_headers(response) if c.startswith(f"{SESSION_COOKIE}="))
    assert "Secure" in session and "Secure" in nonce


def test_login_goes_back_to_the_page_asked_for(client):
    first = client.get("/catalog?department=amr")
    assert first.status_code == 303
    assert first.headers["location"] == "/login?next=/catalog%3Fdepartment%3Damr"

    response = login(client, "zhangwei", next_="/catalog?department=amr")

    assert response.headers["location"] == "/catalog?department=amr"


def test_login_never_redirects_off_site(client):
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"):
        client.cookies.clear()
        response = login(client, "zhangwei", next_=target)
        assert response.headers["location"] == "/", target


def test_wrong_password_shows_the_error_on_the_page_and_is_audited(client, domain):
    response = login(client, "chenjing", password="not-the-password")

    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert 'value="chenjing"' in response.text  # the username is kept, the password is not
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    refused = search(domain.rt.store, AuditFilter(actor="chenjing", action="auth.login", outcome="refused"))
    assert refused and refused[0].reason == "auth.bad_credentials"


def test_repeated_failures_are_throttled_even_with_the_right_password(client):
    for _ in range(3):  # login_max_failures = 3 in the test domain
        assert login(client, "throttled", password="wrong-password-1").status_code == 401

    response = login(client, "throttled", password=PASSWORD)

    assert response.status_code == 429
    assert "登录失败次数过多" in response.text
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


def test_empty_credentials_are_answered_on_the_page(client):
    page = client.get("/login")
    response = client.post("/login", data={"username": "", "password": "", "csrf_token": csrf_of(page.text)})

    assert response.status_code == 422
    assert "请输入用户名和密码" in response.text


def test_logged_in_user_visiting_login_goes_home(as_user):
    client = as_user("zhangwei")

    assert client.get("/login").headers["location"] == "/"


def test_logout_revokes_the_session(as_user, domain):
    client = as_user("lina")
    token = client.cookies.get(SESSION_COOKIE)
    home = client.get("/")

    response = client.post("/logout", data={"csrf_token": csrf_of(home.text)})

    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert any(c.startswith(f'{SESSION_COOKIE}=""') or "Max-Age=0" in c for c in _set_cookie_headers(response))
    # the old token is dead on the server, not only forgotten by the browser
    client.cookies.set(SESSION_COOKIE, token)
    assert client.get("/").status_code == 303
    assert client.get("/api/v1/me", headers={"authorization": f"Bearer {token}"}).status_code == 401
    assert search(domain.rt.store, AuditFilter(actor="lina", action="auth.logout"))


def test_expired_or_unknown_session_goes_to_login_with_a_notice(client):
    client.cookies.set(SESSION_COOKIE, "not-a-real-token")

    response = client.get("/catalog")

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/catalog&expired=1"
    notice = client.get(response.headers["location"])
    assert "登录已过期" in notice.text
