"""The analyst's workspace pages (工作区): who enters, granted columns, dev data, the SQL editor, history.

Rules R1.1a (results shown in the domain, never offered for download), R4.4c (every query recorded,
refusals audited), R4.4d (dev data), R4.5a (only the authorized scope).
"""

from __future__ import annotations

import html
import re

from opdomain.audit.query import AuditFilter, search
from opdomain.identity.service import principal_for
from opdomain.lifecycle.grants import suspend_grant
from tests.web.test_workspace_support import as_, nav_keys, token_of, ws  # noqa: F401

AGGREGATE = ("SELECT year, count(*) AS enterprises, avg(sales_revenue) AS avg_revenue "
             "FROM stats.sales_profit GROUP BY year")
ROW_LEVEL = "SELECT uscc, sales_revenue FROM stats.sales_profit"
#: a full credit code (91 + region + organization code + check): never on a page
FULL_CREDIT_CODE = re.compile(r"\b91\d{6}[0-9A-Z]{9}[0-9A-Z]\b")


def _run(client, gid: str, sql: str, environment: str = "domain"):  # type: ignore[no-untyped-def]
    token = token_of(client, f"/workspaces/{gid}/sql")
    return client.post(f"/workspaces/{gid}/queries", data={"sql": sql, "environment": environment, "csrf_token": token})


def _build(client, gid: str):  # type: ignore[no-untyped-def]
    token = token_of(client, f"/workspaces/{gid}/dev")
    return client.post(f"/workspaces/{gid}/dev/build", data={"csrf_token": token})


def _refusals(ws, action: str, actor: str):  # type: ignore[no-untyped-def] # noqa: F811
    return search(ws.rt.store, AuditFilter(actor=actor, action=action, outcome="refused", limit=100))


# -- the list and who enters --------------------------------------------------------------------


def test_analyst_sees_own_grants_with_status_term_k_and_consent(ws, as_):  # noqa: F811
    open_grant = ws.grant(consent=("enterprise",), k=12)
    closed = ws.grant()
    suspend_grant(ws.rt, principal_for(ws.rt, "admin"), closed.id, reason="整改")
    other = ws.grant(operator="op2")

    page = as_("analyst").get("/workspaces")

    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    text = page.text
    row = re.search(rf'<tr data-grant="{open_grant.id}">(.*?)</tr>', text, re.S).group(1)
    assert "有效" in row and f"{open_grant.starts_on.isoformat()} — {open_grant.ends_on.isoformat()}" in row
    assert ">12<" in row and "企业" in row and f'href="/workspaces/{open_grant.id}"' in row
    closed_row = re.search(rf'<tr data-grant="{closed.id}">(.*?)</tr>', text, re.S).group(1)
    assert "暂停" in closed_row and "工作区未开放" in closed_row and "href" not in closed_row
    assert "工作区已关闭" in closed_row  # the service's own reason
    assert other.id not in text  # another operator's grant is not even listed


def test_authority_and_auditor_see_every_grant_read_only(ws, as_):  # noqa: F811
    other = ws.grant(operator="op2")

    for user in ("admin", "auditor"):
        client = as_(user)
        assert other.id in client.get("/workspaces").text
        page = client.get(f"/workspaces/{other.id}")
        assert page.status_code == 200 and 'data-testid="read-only"' in page.text
        assert f"/workspaces/{other.id}/sql" not in page.text  # no editor tab
        assert client.get(f"/workspaces/{other.id}/sql").status_code == 403  # workspace.use: analysts only
        assert 'data-testid="dev-rows"' not in client.get(f"/workspaces/{other.id}/dev").text


def test_another_operators_analyst_is_refused_with_a_403_page_and_audited(ws, as_):  # noqa: F811
    grant = ws.grant()
    before = len(_refusals(ws, "workspace.access", "analyst2"))

    page = as_("analyst2").get(f"/workspaces/{grant.id}")

    assert page.status_code == 403 and "text/html" in page.headers["content-type"]
    assert "workspace.other_operator" in page.text and "该授权不属于本单位" in page.text
    refusals = _refusals(ws, "workspace.access", "analyst2")
    assert len(refusals) == before + 1 and refusals[0].object_id == grant.id


def test_another_operators_admin_cannot_read_the_grant(ws, as_):  # noqa: F811
    grant = ws.grant()

    page = as_("opadmin2").get(f"/workspaces/{grant.id}/history")

    assert page.status_code == 403 and "grant.other_operator" in page.text


def test_entry_is_refused_outside_status_and_term(ws, as_):  # noqa: F811
    suspended = ws.grant()
    suspend_grant(ws.rt, principal_for(ws.rt, "admin"), suspended.id, reason="整改")
    expired = ws.expired_grant()
    client = as_("analyst")

    paused = client.get(f"/workspaces/{suspended.id}/sql")
    ended = client.get(f"/workspaces/{expired.id}")

    assert paused.status_code == 403 and "workspace.grant_not_active" in paused.text
    assert ended.status_code == 403 and "workspace.grant_expired" in ended.text
    assert {r.reason for r in _refusals(ws, "workspace.access", "analyst")} >= {
        "workspace.grant_not_active", "workspace.grant_expired"}


def test_unknown_grant_is_a_404_page(ws, as_):  # noqa: F811
    page = as_("analyst").get("/workspaces/nope")

    assert page.status_code == 404 and "grant.not_found" in page.text


def test_nav_shows_the_workspace_and_consent_items_by_permission(ws, as_):  # noqa: F811
    assert {"workspaces"} <= nav_keys(as_("analyst").get("/").text)
    assert not {"consents", "consent-record"} & nav_keys(as_("analyst").get("/").text)
    assert {"workspaces", "consents"} <= nav_keys(as_("auditor").get("/").text)
    assert "consent-record" not in nav_keys(as_("auditor").get("/").text)
    provider = nav_keys(as_("amr-staff").get("/").text)
    assert "consent-record" in provider and not {"workspaces", "consents"} & provider
    assert not {"workspaces", "consents", "consent-record"} & nav_keys(as_("bank").get("/").text)


# -- granted columns ------------------------------------------------------------------------------


def test_columns_tab_shows_grades_identifiers_subjects_and_both_masks(ws, as_):  # noqa: F811
    grant = ws.grant()

    html = as_("analyst").get(f"/workspaces/{grant.id}").text

    row = re.search(r"<tr>\s*<td><code>person_id</code>.*?</tr>", html, re.S).group(0)
    assert "身份证号" in row and "个人" in row and "假名化（密钥 HMAC）" in row and "仅限聚合内" in row
    wage = re.search(r"<tr>\s*<td><code>monthly_wage</code>.*?</tr>", html, re.S).group(0)
    assert "grade-l4" in wage and "数值扰动（确定性）" in wage
    birth = re.search(r"<tr>\s*<td><code>birth_date</code>.*?</tr>", html, re.S).group(0)
    assert 'data-mask="generalize_date"' in birth
    assert html.count('data-testid="granted-columns"') == len(grant.datasets)


# -- dev data ---------------------------------------------------------------------------------------


def test_dev_data_is_built_by_a_csrf_protected_post_and_browsed(ws, as_):  # noqa: F811
    grant = ws.grant()
    client = as_("analyst")
    assert 'data-testid="no-dev-data"' in client.get(f"/workspaces/{grant.id}/dev").text

    refused = client.post(f"/workspaces/{grant.id}/dev/build", data={})
    built = _build(client, grant.id)

    assert refused.status_code == 403
    assert built.status_code == 303 and built.headers["location"] == f"/workspaces/{grant.id}/dev?built=1"
    page = client.get(built.headers["location"])
    assert "开发环境数据已生成" in page.text
    rows = re.search(r'data-testid="dev-rows".*?</table>', page.text, re.S).group(0)
    assert rows.count("<tr>") == 1 + 50 and "E_" in rows  # the first table's first 50 rows, pseudonyms
    assert not FULL_CREDIT_CODE.search(page.text)
    hrss = client.get(f"/workspaces/{grant.id}/dev?table=hrss.insured_employees").text
    assert "P_" in hrss and 'class="dev-table active" data-table="hrss.insured_employees"' in hrss
    history = client.get(f"/workspaces/{grant.id}/history").text
    assert "SELECT * FROM hrss.insured_employees LIMIT 50" in history  # browsing is a recorded dev query


def test_others_see_the_builds_but_not_the_rows(ws, as_):  # noqa: F811
    grant = ws.grant()
    assert _build(as_("analyst"), grant.id).status_code == 303

    page = as_("opadmin").get(f"/workspaces/{grant.id}/dev").text

    assert 'data-testid="dev-builds"' in page and 'data-testid="dev-rows"' not in page
    assert 'action="/workspaces/' not in page  # no build button either


def test_a_dev_query_before_any_build_shows_the_not_built_refusal(ws, as_):  # noqa: F811
    grant = ws.grant()

    page = _run(as_("analyst"), grant.id, "SELECT * FROM tax.annual_tax", "dev")

    assert page.status_code == 404 and 'data-testid="refusal"' in page.text and "devdata.not_built" in page.text


# -- the SQL editor ---------------------------------------------------------------------------------


def test_a_domain_aggregate_shows_its_result_and_decisions_and_no_way_to_download(ws, as_):  # noqa: F811
    grant = ws.grant(consent=("enterprise",))

    page = _run(as_("analyst"), grant.id, AGGREGATE)

    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    table = re.search(r'data-testid="result-table".*?</table>', page.text, re.S).group(0)
    assert "<td class=\"num\">2022</td>" in table and "<td class=\"num\">100</td>" in table  # 100 consenting
    notes = re.search(r'data-testid="decisions">(.*?)</ul>', page.text, re.S).group(1)
    assert "k=10（按企业计）" in notes and "只使用已授权" in notes
    assert 'data-testid="view-only"' in page.text
    lowered = page.text.lower()
    assert " download" not in lowered and "csv" not in lowered and "clipboard" not in lowered
    assert "blob:" not in lowered and "data:text" not in lowered
    assert FULL_CREDIT_CODE.search(page.text) is None


def test_a_refused_query_shows_its_code_rule_and_reason_in_both_languages(ws, as_):  # noqa: F811
    grant = ws.grant()
    client = as_("analyst")

    page = _run(client, grant.id, ROW_LEVEL)

    assert page.status_code == 422
    box = re.search(r'data-testid="refusal".*?</dl>', page.text, re.S).group(0)
    assert "query.not_aggregated" in box and "R1.1a" in box and "原始数据不出域" in box
    assert "运营域内的查询结果必须是聚合结果" in box and 'lang="en">a governed query must return aggregates' in box
    assert f"{ROW_LEVEL}</textarea>" in page.text  # the SQL stays in the editor to be fixed
    refused = search(ws.rt.store, AuditFilter(action="query.run", outcome="refused", grant_id=grant.id))
    assert refused and refused[0].reason == "query.not_aggregated"

    client.get("/lang/en")
    english = _run(client, grant.id, ROW_LEVEL)

    reason = re.search(r'data-testid="refusal-reason">(.*?)</p>', english.text, re.S).group(1)
    assert reason.startswith("a governed query must return aggregates") and "Refused" in english.text
    assert "Rule" in english.text and "raw data never leaves the domain" in english.text


def test_a_scope_refusal_is_a_403_with_its_rule(ws, as_):  # noqa: F811
    grant = ws.grant(columns={"stats.sales_profit": ["uscc", "year", "sales_revenue"]})

    page = _run(as_("analyst"), grant.id, "SELECT count(*) FROM stats.sales_profit WHERE total_profit > 0")

    assert page.status_code == 403
    assert "query.column_not_granted" in page.text and 'data-testid="refusal-rule">R4.5a' in page.text


def test_the_language_switch_after_a_run_comes_back_to_the_query(ws, as_):  # noqa: F811
    grant = ws.grant()

    client = as_("analyst")
    page = _run(client, grant.id, ROW_LEVEL)

    link = re.search(r'href="(/lang/en\?next=[^"]+)"', page.text).group(1)
    back = client.get(html.unescape(link)).headers["location"]
    assert back.startswith(f"/workspaces/{grant.id}/sql?load=")
    assert f">{ROW_LEVEL}</textarea>" in client.get(back).text


def test_queries_need_the_csrf_token_and_the_analyst_role(ws, as_):  # noqa: F811
    grant = ws.grant()

    no_token = as_("analyst").post(f"/workspaces/{grant.id}/queries", data={"sql": AGGREGATE, "environment": "domain"})
    admin = as_("opadmin")
    as_admin = admin.post(f"/workspaces/{grant.id}/queries",
                          data={"sql": AGGREGATE, "environment": "domain",
                                "csrf_token": token_of(admin, f"/workspaces/{grant.id}")})

    assert no_token.status_code == 403 and "表单已过期" in no_token.text
    assert as_admin.status_code == 403 and "workspace.use" in as_admin.text


def test_a_workspace_closed_meanwhile_refuses_the_run_with_a_403_page(ws, as_):  # noqa: F811
    grant = ws.grant()
    client = as_("analyst")
    token = token_of(client, f"/workspaces/{grant.id}/sql")
    suspend_grant(ws.rt, principal_for(ws.rt, "admin"), grant.id, reason="整改")

    page = client.post(f"/workspaces/{grant.id}/queries", data={"sql": AGGREGATE, "environment": "domain",
                                                           "csrf_token": token})

    assert page.status_code == 403 and 'data-testid="error-page"' in page.text


# -- history ----------------------------------------------------------------------------------------


def test_history_lists_every_query_and_loads_one_into_the_editor(ws, as_):  # noqa: F811
    grant = ws.grant()
    client = as_("analyst")
    assert _run(client, grant.id, AGGREGATE).status_code == 200
    assert _run(client, grant.id, ROW_LEVEL).status_code == 422

    page = client.get(f"/workspaces/{grant.id}/history")

    rows = re.findall(r'<tr class="outcome-row-(\w+)" data-query="(\w+)">(.*?)</tr>', page.text, re.S)
    assert [r[0] for r in rows] == ["refused", "allowed"]
    assert "query.not_aggregated" in rows[0][2] and "运营域" in rows[0][2] and "analyst" in rows[0][2]
    assert AGGREGATE in rows[1][2]
    editor = client.get(f"/workspaces/{grant.id}/sql?load={rows[1][1]}").text
    assert f">{AGGREGATE}</textarea>" in editor
    assert 'value="domain" checked' in editor


def test_the_authority_reads_the_history_but_cannot_load_queries(ws, as_):  # noqa: F811
    grant = ws.grant()
    assert _run(as_("analyst"), grant.id, AGGREGATE).status_code == 200

    page = as_("admin").get(f"/workspaces/{grant.id}/history").text

    assert AGGREGATE in page and 'data-testid="load"' not in page
