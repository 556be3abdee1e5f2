"""An analyst's session in a real browser (Debian's chromium via Playwright); screenshots in tests/artifacts/.

The analyst logs in, opens the workspace, builds and browses the dev data, runs a domain aggregate
(sees the result), runs a refused query (sees the reason and its rule in Chinese, then in English),
and finds both in the history. The authority and a provider use the consent registry.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.lifecycle.domain_setup import SCENARIO
from tests.web.test_console_browser import Watch
from tests.web.test_workspace_support import PASSWORD, WorkspaceDomain, serve, ws  # noqa: F401

pytestmark = pytest.mark.browser

AGGREGATE = ("SELECT year, count(*) AS enterprises, avg(sales_revenue) AS avg_revenue\n"
             "FROM stats.sales_profit\nGROUP BY year")
ROW_LEVEL = "SELECT uscc, sales_revenue FROM stats.sales_profit"


@pytest.fixture(scope="module")
def base(ws: WorkspaceDomain) -> Iterator[str]:  # noqa: F811
    with serve(ws.app) as url:
        yield url


@pytest.fixture
def open_page(browser, base):  # type: ignore[no-untyped-def]
    contexts = []

    def _open():  # type: ignore[no-untyped-def]
        context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
        contexts.append(context)
        page = context.new_page()
        watch = Watch(base)
        watch.attach(page)
        return page, watch

    yield _open
    for context in contexts:
        context.close()


def _login(page, username: str) -> None:  # type: ignore[no-untyped-def]
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD.format(username))
    page.click("form[action='/login'] button[type=submit]")


def test_an_analysts_session_in_the_workspace(ws, base, open_page, artifacts):  # noqa: F811
    grant = ws.grant(consent=("enterprise",))
    page, watch = open_page()

    page.goto(f"{base}/workspaces")
    _login(page, "analyst")
    page.wait_for_url(f"{base}/workspaces")
    assert "工作区" in page.locator(".nav-link.active").inner_text()
    page.screenshot(path=artifacts / "workspace-list-zh.png", full_page=True)

    page.click(f"tr[data-grant='{grant.id}'] [data-testid=enter]")
    page.wait_for_url(f"{base}/workspaces/{grant.id}")
    assert page.locator("[data-testid=granted-columns]").count() == len(grant.datasets)
    page.screenshot(path=artifacts / "workspace-columns-zh.png", full_page=True)

    page.click("[data-tab=dev]")
    page.wait_for_url(f"{base}/workspaces/{grant.id}/dev")
    page.click("[data-testid=build]")
    page.wait_for_url(re.compile(r".*/dev\?built=1$"))
    assert page.locator("[data-testid=dev-rows] tbody tr").count() == 50
    page.click("[data-table='hrss.insured_employees']")
    page.wait_for_url(re.compile(r".*/dev\?table=hrss\.insured_employees$"))
    assert page.locator("[data-testid=dev-rows] tbody tr").count() == 50
    assert "P_" in page.locator("[data-testid=dev-rows]").inner_text()
    page.screenshot(path=artifacts / "workspace-dev-zh.png", full_page=True)

    page.click("[data-tab=sql]")
    page.wait_for_url(f"{base}/workspaces/{grant.id}/sql")
    page.check("input[name=environment][value=domain]")
    page.fill("[data-testid=sql]", AGGREGATE)
    page.click("[data-testid=run]")
    page.locator("[data-testid=result-table]").wait_for()
    cells = page.locator("[data-testid=result-table] tbody tr").first.locator("td").all_inner_texts()
    assert cells[1:3] == ["2022", "100"]  # the 100 consenting enterprises, counted on real data
    assert "k=10（按企业计）" in page.locator("[data-testid=decisions]").inner_text()
    assert page.locator("a[download], [data-testid*=download], [data-testid*=export]").count() == 0
    page.screenshot(path=artifacts / "workspace-sql-result-zh.png", full_page=True)

    page.fill("[data-testid=sql]", ROW_LEVEL)
    page.click("[data-testid=run]")
    box = page.locator("[data-testid=refusal]")
    box.wait_for()
    assert "运营域内的查询结果必须是聚合结果" in page.locator("[data-testid=refusal-reason]").inner_text()
    assert page.locator("[data-testid=refusal-code]").inner_text() == "query.not_aggregated"
    assert page.locator("[data-testid=refusal-rule]").inner_text() == "R1.1a"
    assert "依据规则" in box.inner_text() and "原始数据不出域" in box.inner_text()
    page.screenshot(path=artifacts / "workspace-sql-refused-zh.png", full_page=True)

    page.click("[data-lang=en]")  # back to this query in the editor, in English
    page.wait_for_url(re.compile(rf".*/workspaces/{grant.id}/sql\?load=\w+$"))
    assert page.locator("[data-testid=sql]").input_value() == ROW_LEVEL
    assert page.locator("input[name=environment][value=domain]").is_checked()
    page.click("[data-testid=run]")
    page.locator("[data-testid=refusal]").wait_for()
    reason = page.locator("[data-testid=refusal-reason]").inner_text()
    assert reason.startswith("a governed query must return aggregates")
    assert "Rule" in page.locator("[data-testid=refusal]").inner_text()
    page.screenshot(path=artifacts / "workspace-sql-refused-en.png", full_page=True)

    page.click("[data-tab=history]")
    page.wait_for_url(f"{base}/workspaces/{grant.id}/history")
    rows = page.locator("[data-testid=history] tbody tr")
    statuses = rows.locator("td:nth-child(4)").all_inner_texts()
    codes = rows.locator("td:nth-child(5)").all_inner_texts()
    assert statuses[:3] == ["Refused", "Refused", "OK"] and codes[:2] == ["query.not_aggregated"] * 2
    page.screenshot(path=artifacts / "workspace-history-en.png", full_page=True)
    rows.nth(2).locator("[data-testid=load]").click()
    page.wait_for_url(re.compile(r".*/sql\?load=\w+$"))
    assert page.locator("[data-testid=sql]").input_value() == AGGREGATE
    watch.assert_clean()


def test_the_consent_registry_in_the_browser(ws, base, open_page, artifacts):  # noqa: F811
    page, watch = open_page()
    page.goto(f"{base}/login")
    _login(page, "amr-staff")
    page.wait_for_url(f"{base}/")
    page.click("[data-nav=consent-record]")
    page.wait_for_url(f"{base}/consents/record")
    page.fill("input[name=subject_id]", ws.usccs[-2])
    page.fill("input[name=scenario]", SCENARIO)
    page.select_option("select[name=operator]", "op1")
    page.click("[data-testid=record]")
    page.locator("[data-testid=recorded]").wait_for()
    assert ws.usccs[-2] not in page.content()
    page.screenshot(path=artifacts / "consent-record-zh.png", full_page=True)
    page.click("form.logout button")
    page.wait_for_url(f"{base}/login")

    _login(page, "admin")
    page.wait_for_url(f"{base}/")
    page.click("[data-nav=consents]")
    page.wait_for_url(f"{base}/consents")
    assert page.locator("[data-testid=consents] tbody tr").count() == 50
    page.fill("[data-testid=consent-lookup] input[name=subject_id]", ws.usccs[-2])
    page.click("[data-testid=lookup]")
    page.locator("[data-testid=consent-history]").wait_for()
    assert page.url == f"{base}/consents/history" and ws.usccs[-2] not in page.content()
    page.screenshot(path=artifacts / "consent-registry-zh.png", full_page=True)
    watch.assert_clean()


def test_the_sql_editor_works_without_javascript(ws, browser, base):  # noqa: F811
    grant = ws.grant()
    context = browser.new_context(locale="zh-CN", java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{base}/login")
        _login(page, "analyst")
        page.wait_for_url(f"{base}/")
        page.goto(f"{base}/workspaces/{grant.id}/sql")
        page.check("input[name=environment][value=domain]")
        page.fill("[data-testid=sql]", "SELECT count(*) AS n FROM tax.annual_tax")
        page.click("[data-testid=run]")
        page.wait_for_url(f"{base}/workspaces/{grant.id}/queries")

        assert page.locator("[data-testid=result-table] tbody td").all_inner_texts() == ["1", "120"]
    finally:
        context.close()
