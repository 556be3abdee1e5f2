"""The authority opens an application in a real browser and reads its timeline (Debian's chromium via
Playwright, like tests/web/test_workspace_browser.py); screenshots in tests/artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from opdomain.identity.service import principal_for
from opdomain.lifecycle import applications as apps
from tests.lifecycle.process_setup import add_experts, announce, apply
from tests.web.test_console_browser import Watch
from tests.web.test_workspace_support import PASSWORD, WorkspaceDomain, serve, ws  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def base(ws: WorkspaceDomain) -> Iterator[str]:  # noqa: F811
    with serve(ws.app) as url:
        yield url


def test_the_authority_opens_an_application_and_sees_its_timeline(ws, browser, base, artifacts):  # noqa: F811
    today = date.today()
    add_experts(ws.rt)
    app_id = apply(ws.rt, announce(ws.rt, today), today)
    admin, op = principal_for(ws.rt, "admin"), principal_for(ws.rt, "opadmin")
    apps.submit(ws.rt, op, app_id)
    apps.begin_pre_review(ws.rt, admin, app_id)
    apps.pass_pre_review(ws.rt, admin, app_id, experts=["expert1", "expert2", "expert3"])

    context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
    try:
        page = context.new_page()
        watch = Watch(base)
        watch.attach(page)
        page.goto(f"{base}/applications")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", PASSWORD.format("admin"))
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_url(f"{base}/applications")
        assert "授权申请" in page.locator(".nav-link.active").inner_text()
        page.click(f"tr[data-application='{app_id}'] [data-testid=open]")
        page.wait_for_url(f"{base}/applications/{app_id}")

        rows = page.locator("[data-testid=timeline] tbody tr")
        actions = [rows.nth(i).get_attribute("data-action") for i in range(rows.count())]
        assert actions[-3:] == ["submit", "begin_pre_review", "pass_pre_review"]
        assert "opadmin" in rows.nth(actions.index("submit")).inner_text()
        assert "专家审查中" in page.locator("h1").inner_text()
        assert page.locator("[data-testid=actions] form[data-action=conclude_expert_review]").count() == 1
        assert page.locator("[data-testid=actions] form[data-action=submit]").count() == 0
        page.screenshot(path=artifacts / "lifecycle-application-timeline-zh.png", full_page=True)
        watch.assert_clean()
    finally:
        context.close()
