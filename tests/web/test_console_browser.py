"""The console in a real browser (Debian's chromium via Playwright); screenshots in tests/artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.browser


class Watch:
    """Records what a page does that it should not: load from outside, break the CSP, throw."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.foreign: list[str] = []
        self.errors: list[str] = []

    def attach(self, page) -> None:  # type: ignore[no-untyped-def]
        page.on("request", lambda r: None if r.url.startswith((self.base, "data:")) else self.foreign.append(r.url))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def assert_clean(self) -> None:
        assert not self.foreign, f"requests left the domain: {self.foreign}"
        # 4xx answers of deliberate refusals are expected; script or CSP errors are not
        problems = [e for e in self.errors if "status of 4" not in e]
        assert not problems, problems


@pytest.fixture
def page_for(browser, live_server) -> Iterator:  # type: ignore[no-untyped-def]
    contexts = []

    def _open(**options):  # type: ignore[no-untyped-def]
        context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900}, **options)
        contexts.append(context)
        page = context.new_page()
        watch = Watch(live_server)
        watch.attach(page)
        return page, watch

    yield _open
    for context in contexts:
        context.close()


def _login(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")


def expected_nav(role: str, lang: str) -> list[str]:
    """The nav a role must see: every registered page whose permission it holds, in order."""
    from opdomain.identity.roles import can
    from opdomain.web.console import i18n, labels

    return [i18n.translate(lang, item.title) for item in labels.NAV if can(role, item.permission)]


def test_provider_logs_in_browses_the_catalog_uploads_and_switches_language(page_for, live_server, artifacts, domain):
    page, watch = page_for()

    page.goto(f"{live_server}/catalog")
    assert "/login?next=/catalog" in page.url
    page.screenshot(path=artifacts / "console-login-zh.png")
    _login(page, live_server, "zhangwei")
    page.wait_for_url(f"{live_server}/catalog")
    assert page.locator("[data-testid=user]").inner_text().startswith("张")
    assert page.locator(".nav-link").all_inner_texts() == expected_nav("provider", "zh-CN")
    assert page.locator(".nav-link").all_inner_texts()[:3] == ["首页", "数据目录", "数据导入"]
    assert page.locator("[data-testid=datasets] tbody tr").count() >= 3
    assert page.locator(".badge-forbidden").count() == 1
    page.screenshot(path=artifacts / "console-catalog-zh.png", full_page=True)

    page.click("text=企业登记信息")
    page.wait_for_url(re.compile(r".*/catalog/amr\.enterprise_registry$"))
    assert page.locator("[data-testid=columns] tbody tr").count() == 6
    page.screenshot(path=artifacts / "console-dataset-zh.png", full_page=True)

    page.goto(f"{live_server}/catalog/psb.criminal_records")
    assert page.locator("[data-testid=forbidden]").is_visible()
    page.screenshot(path=artifacts / "console-dataset-forbidden-zh.png", full_page=True)

    page.goto(f"{live_server}/imports")
    descriptor, data = domain.registry_upload()
    page.set_input_files("input[name=descriptor]", str(descriptor))
    page.set_input_files("input[name=data]", str(data))
    assert page.locator(".file-name.chosen").count() == 2
    page.screenshot(path=artifacts / "console-imports-upload-zh.png", full_page=True)
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/imports/[0-9a-f]{32}$"))
    assert "已入库" in page.locator(".page-head").inner_text()
    page.screenshot(path=artifacts / "console-import-landed-zh.png", full_page=True)

    page.goto(f"{live_server}/imports")
    descriptor, data = domain.registry_upload(bad=True)
    page.set_input_files("input[name=descriptor]", str(descriptor))
    page.set_input_files("input[name=data]", str(data))
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/imports/[0-9a-f]{32}$"))
    assert page.locator("[data-testid=issues] tbody tr").count() >= 1
    page.screenshot(path=artifacts / "console-import-rejected-zh.png", full_page=True)

    page.goto(f"{live_server}/catalog")
    page.click("[data-lang=en]")
    page.wait_for_url(f"{live_server}/catalog")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator(".nav-link").all_inner_texts() == expected_nav("provider", "en")
    assert page.locator(".nav-link").all_inner_texts()[:3] == ["Home", "Catalog", "Imports"]
    assert "Provider staff" in page.locator("[data-testid=user]").inner_text()
    page.screenshot(path=artifacts / "console-catalog-en.png", full_page=True)
    page.goto(f"{live_server}/catalog/amr.enterprise_registry")
    page.screenshot(path=artifacts / "console-dataset-en.png", full_page=True)

    page.goto(f"{live_server}/audit")
    assert page.locator("[data-testid=error-page]").is_visible()
    assert "Access denied" in page.content()
    page.screenshot(path=artifacts / "console-403-en.png", full_page=True)

    page.click("form.logout button")
    page.wait_for_url(f"{live_server}/login")
    page.screenshot(path=artifacts / "console-login-en.png")
    watch.assert_clean()


def test_auditor_searches_the_audit_log_and_verifies_the_chain(page_for, live_server, artifacts):
    page, watch = page_for()
    page.goto(f"{live_server}/login")
    _login(page, live_server, "lina")
    page.wait_for_url(f"{live_server}/")
    page.screenshot(path=artifacts / "console-home-auditor-zh.png", full_page=True)

    page.click("[data-nav=audit]")
    page.wait_for_url(f"{live_server}/audit")
    page.fill("input[name=actor]", "zhangwei")
    page.select_option("select[name=outcome]", "allowed")
    page.click("form[role=search] button[type=submit]")
    page.wait_for_url(re.compile(r".*/audit\?.*actor=zhangwei"))  # htmx pushed the search into the URL
    actors = page.locator("[data-testid=audit-results] tbody tr td:nth-child(3)").all_inner_texts()
    assert actors and set(actors) == {"zhangwei"}

    page.click("[data-testid=verify]")
    result = page.locator("[data-testid=verify-result]")
    result.wait_for()
    assert "审计链完整" in result.inner_text()
    page.screenshot(path=artifacts / "console-audit-zh.png", full_page=True)

    page.click("[data-lang=en]")
    page.wait_for_url(re.compile(r".*/audit\?.*actor=zhangwei"))
    page.click("[data-testid=verify]")
    page.locator("[data-testid=verify-result]").wait_for()
    assert "audit chain is intact" in page.locator("[data-testid=verify-result]").inner_text()
    page.screenshot(path=artifacts / "console-audit-en.png", full_page=True)
    watch.assert_clean()


def test_the_console_works_without_javascript(page_for, live_server):
    page, _ = page_for(java_script_enabled=False)
    page.goto(f"{live_server}/login")
    _login(page, live_server, "wangqiang")
    page.wait_for_url(f"{live_server}/")

    page.goto(f"{live_server}/audit")
    page.click("[data-testid=verify]")
    page.wait_for_url(f"{live_server}/audit/verify")

    assert "审计链完整" in page.locator("[data-testid=verify-result]").inner_text()
