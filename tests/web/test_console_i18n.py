"""zh-CN first, an English switch, and every console string in the one translation catalog."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir

from opdomain.web.console import i18n
from tests.web.conftest import login

WEB = Path(i18n.__file__).resolve().parents[1]
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _extracted() -> set[str]:
    method_map = [("console/**.py", "python"), ("templates/**.html", "jinja2.ext:babel_extract")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true", "newstyle_gettext": "true"}}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    return {m[2] for m in extract_from_dir(str(WEB), method_map, options, keywords=keywords)
            if isinstance(m[2], str)}


def _english_catalog():  # type: ignore[no-untyped-def]
    return i18n.read_catalog("en")


def test_every_console_string_has_an_english_translation():
    catalog = _english_catalog()
    translated = {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}

    missing = sorted(_extracted() - translated.keys())

    assert not missing, f"add these to {i18n.po_path('en')}: {missing}"


def test_the_catalog_holds_no_stale_entries_and_keeps_placeholders():
    catalog = _english_catalog()
    used = _extracted()

    stale = sorted(m.id for m in catalog if m.id and m.id not in used)
    broken = [m.id for m in catalog if m.id and set(PLACEHOLDER.findall(m.id)) != set(PLACEHOLDER.findall(m.string))]

    assert not stale, f"no longer used, remove: {stale}"
    assert not broken, f"placeholders differ: {broken}"


def test_source_strings_are_chinese():
    assert all(CJK.search(msgid) for msgid in _extracted())


def test_language_switch_sets_a_cookie_and_goes_back(client):
    response = client.get("/lang/en?next=/login")

    assert response.status_code == 303 and response.headers["location"] == "/login"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("opdomain_lang=en") and "HttpOnly" in cookie
    page = client.get("/login")
    assert '<html lang="en">' in page.text
    assert "Username" in page.text and "Log in" in page.text


def test_language_switch_refuses_foreign_targets_and_unknown_languages(client):
    assert client.get("/lang/en?next=https://evil.example").headers["location"] == "/"
    response = client.get("/lang/fr?next=/login")
    assert "set-cookie" not in response.headers


def test_english_login_page_has_no_chinese_outside_the_language_switch(client):
    client.get("/lang/en")

    html = client.get("/login").text
    own_text = re.sub(r'<[^>]+lang="zh-CN"[^>]*>[^<]*</[^>]+>', "", html)

    assert not CJK.search(re.sub(r"<html[^>]*>", "", own_text)), CJK.findall(own_text)


def test_logged_in_pages_follow_the_language(as_user):
    client = as_user("zhangwei")
    client.get("/lang/en")

    page = client.get("/catalog").text

    assert "Catalog" in page and "Imports" in page and "Log out" in page
    assert "Provider staff" in page
    assert "Forbidden to open" in page  # the flag is translated, the dataset's own title is data
    assert "数据目录" not in page


def test_domain_messages_are_shown_in_the_current_language(client):
    client.get("/lang/en")

    response = login(client, "liuyang", password="wrong-password-2")

    assert "wrong username or password" in response.text
    assert "用户名或密码错误" not in response.text


def test_refusal_page_is_in_the_current_language(as_user):
    client = as_user("zhangwei")
    client.get("/lang/en")

    response = client.get("/audit")

    assert response.status_code == 403
    assert "Access denied" in response.text and "permission denied (audit.read)" in response.text


def test_times_are_shown_in_beijing_time():
    from datetime import datetime

    token = i18n.use_language("zh-CN")
    try:
        assert i18n.format_time(datetime(2024, 1, 1, 16, 30)) == "2024-01-02 00:30:00"
    finally:
        i18n.reset_language(token)
    assert i18n.parse_local_time("2024-01-02T00:30").isoformat() == "2024-01-01T16:30:00+00:00"
    assert i18n.parse_local_time("not a time") is None
