"""A reviewer's session in a real browser (Debian's chromium via Playwright); screenshots in tests/artifacts/.

The reviewer opens a submitted release request from the list, sees each file's automated findings, votes on
every file with a comment and submits the independent review; the other reviewer's votes stay hidden.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from opdomain.egress import airlock
from tests.web.test_airlock_pages import FILES, Airlock, make_airlock
from tests.web.test_console_browser import Watch
from tests.web.test_workspace_support import PASSWORD, WorkspaceDomain, serve, ws  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def al(ws: WorkspaceDomain) -> Airlock:  # noqa: F811
    return make_airlock(ws)


@pytest.fixture(scope="module")
def base(ws: WorkspaceDomain, al: Airlock) -> Iterator[str]:  # noqa: F811
    with serve(ws.app) as url:
        yield url


def test_a_reviewer_opens_a_request_sees_the_findings_and_votes(al, base, browser, artifacts):  # noqa: F811
    req = al.request("评级名单（浏览器）")
    airlock.vote(al.ws.rt, al.who("reviewer2"), req["id"], FILES[0], "changes", comment="二号的独立意见")
    context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
    try:
        page = context.new_page()
        watch = Watch(base)
        watch.attach(page)
        page.goto(f"{base}/airlock")
        page.fill("input[name=username]", "reviewer1")
        page.fill("input[name=password]", PASSWORD.format("reviewer1"))
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_url(f"{base}/airlock")
        assert "数据出域审核" in page.locator(".nav-link.active").inner_text()
        page.screenshot(path=artifacts / "airlock-list-zh.png", full_page=True)

        page.click(f"tr[data-request='{req['id']}'] a")
        page.wait_for_url(f"{base}/airlock/{req['id']}")
        rating = page.locator(f"[data-file='{FILES[0]}']")
        assert rating.locator("[data-testid=findings] tbody tr").count() >= 1
        assert "仅保留已授权企业的行" in rating.inner_text()
        assert "二号的独立意见" not in page.content()  # the other reviewer's vote stays hidden
        page.screenshot(path=artifacts / "airlock-request-zh.png", full_page=True)

        for i, name in enumerate(FILES):
            form = page.locator(f"[data-file='{name}'] [data-testid=vote-form]")
            form.locator("input[name=vote][value=approve]").check()
            form.locator("[data-testid=comment]").fill(f"一号：{name} 可以出域")
            form.locator("[data-testid=vote]").click()
            page.wait_for_url(re.compile(r".*\?done=voted$"))
            assert page.locator("[data-testid=notice]").count() == 1
            assert f"一号：{name} 可以出域" in page.locator(f"[data-file='{name}'] [data-testid=votes]").inner_text()
            assert i >= 0
        assert "二号的独立意见" not in page.content()
        page.click("[data-testid=submit-review]")
        page.wait_for_url(re.compile(r".*\?done=reviewed$"))
        assert "您已提交独立审核意见" in page.locator("[data-testid=review-actions]").inner_text()
        page.screenshot(path=artifacts / "airlock-voted-zh.png", full_page=True)

        page.click("[data-lang=en]")
        page.wait_for_url(re.compile(rf".*/airlock/{req['id']}.*"))
        assert "Automated checks" in page.content()
        page.screenshot(path=artifacts / "airlock-voted-en.png", full_page=True)
        watch.assert_clean()
    finally:
        context.close()
