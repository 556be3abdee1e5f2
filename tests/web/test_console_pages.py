"""Console pages: role-based nav, permissions, catalog, imports with quality reports, audit."""

from __future__ import annotations

import re

import pytest

from opdomain.audit.query import AuditFilter, search
from opdomain.identity.roles import can
from opdomain.web.console import _PAGES, labels
from tests.web.conftest import USERS, csrf_of

NAV = {item.key: item.permission for item in labels.NAV}


def _nav_keys(html: str) -> set[str]:
    return set(re.findall(r'data-nav="([\w-]+)"', html))


@pytest.mark.parametrize("username", ["zhangwei", "lina", "wangqiang", "zhaomin", "sunhao"])
def test_nav_shows_exactly_what_the_role_may_do(as_user, username):
    role = USERS[username][1]
    client = as_user(username)

    shown = _nav_keys(client.get("/").text)

    assert shown == {key for key, perm in NAV.items() if can(role, perm)}


def test_header_shows_real_name_role_and_organization(as_user):
    page = as_user("lina").get("/").text

    assert "李娜" in page and "审计监督人员" in page and "浙江正信数据安全评估有限公司" in page


def test_unauthenticated_page_requests_go_to_login_but_the_api_keeps_json(client):
    page = client.get("/audit")
    api = client.get("/api/v1/me")

    assert page.status_code == 303 and page.headers["location"] == "/login?next=/audit"
    assert api.status_code == 401 and api.json()["error"]["code"] == "auth.required"


def test_htmx_requests_are_sent_to_login_by_header(client):
    response = client.get("/audit", headers={"HX-Request": "true"})

    assert response.status_code == 204
    assert response.headers["hx-redirect"] == "/login?next=/audit"


def test_forbidden_page_is_a_403_page_and_audited(as_user, domain):
    client = as_user("zhaomin")

    response = client.get("/imports")

    assert response.status_code == 403
    assert "无权访问" in response.text and "imports.read" in response.text
    assert "text/html" in response.headers["content-type"]
    refused = search(domain.rt.store, AuditFilter(actor="zhaomin", outcome="refused", action="imports.read"))
    assert refused and refused[0].object_id == "GET /imports"


def test_unknown_pages_are_404_pages_and_unknown_api_paths_stay_json(as_user):
    client = as_user("zhangwei")

    page = client.get("/no-such-page")
    dataset = client.get("/catalog/amr.no_such_table")
    api = client.get("/api/v1/no-such-thing")

    assert page.status_code == 404 and "页面不存在" in page.text
    assert dataset.status_code == 404 and "数据集不存在：amr.no_such_table" in dataset.text
    assert api.status_code == 404 and api.json()["error"]["code"] == "http.404"


def test_catalog_lists_departments_datasets_grades_and_the_forbidden_flag(as_user):
    page = as_user("zhaomin").get("/catalog").text

    for name in ("永嘉县市场监督管理局", "国家税务总局永嘉县税务局", "永嘉县公安局"):
        assert name in page
    assert "amr.enterprise_registry" in page and "tax.tax_credit_rating" in page
    assert 'class="grade grade-l4"' in page and 'class="grade grade-l3"' in page
    assert page.count("badge badge-forbidden") == 1
    assert "禁止开放" in page


def test_catalog_filters_by_department_keyword_and_grade(as_user):
    client = as_user("zhaomin")

    by_department = client.get("/catalog?department=tax").text
    by_keyword = client.get("/catalog?q=法定代表人").text
    by_grade = client.get("/catalog?grade=L3").text

    assert "tax.tax_credit_rating" in by_department and "amr.enterprise_registry" not in by_department
    assert "amr.enterprise_registry" in by_keyword and "tax.tax_credit_rating" not in by_keyword
    assert "amr.enterprise_registry" in by_grade and "psb.criminal_records" not in by_grade


def test_dataset_page_shows_columns_with_grades_identifiers_and_subjects(as_user):
    page = as_user("zhaomin").get("/catalog/amr.enterprise_registry").text

    assert "统一社会信用代码" in page and "手机号码" in page and "姓名" in page  # identifier types
    assert 'tag tag-subject">企业' in page
    assert 'class="grade grade-l1"' in page and 'class="grade grade-l2"' in page
    assert "enterprise_registry.csv" in page  # the landed version
    assert 'href="/imports/' not in page  # an analyst may not read import reports


def test_forbidden_dataset_page_explains_why(as_user):
    page = as_user("zhaomin").get("/catalog/psb.criminal_records").text

    assert 'data-testid="forbidden"' in page
    assert "涉及个人信息、商业秘密或保密商务信息" in page
    assert "涉及个人违法犯罪信息，依法不得开放。" in page


def test_provider_sees_only_its_own_department_imports(as_user):
    page = as_user("zhangwei").get("/imports").text

    assert "amr.enterprise_registry" in page
    assert "tax.tax_credit_rating" not in page
    assert 'action="/imports"' in page  # providers get the upload form


def test_auditor_reads_imports_without_an_upload_form(as_user):
    page = as_user("lina").get("/imports").text

    assert "amr.enterprise_registry" in page and "tax.tax_credit_rating" in page
    assert 'action="/imports"' not in page


def test_provider_cannot_open_another_departments_report(as_user, domain):
    from opdomain.catalog import service as catalog
    from opdomain.identity.service import principal_for

    tax_run = catalog.list_imports(domain.rt, principal_for(domain.rt, "liuyang"))[0]

    response = as_user("zhangwei").get(f"/imports/{tax_run.id}")

    assert response.status_code == 403


def _upload(client, descriptor, data):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/imports").text)
    with descriptor.open("rb") as d, data.open("rb") as f:
        return client.post("/imports", data={"csrf_token": token},
                           files={"descriptor": (descriptor.name, d, "application/json"),
                                  "data": (data.name, f, "text/csv")})


def test_upload_lands_a_new_version_and_shows_its_report(as_user, domain):
    client = as_user("zhangwei")
    descriptor, data = domain.registry_upload()

    response = _upload(client, descriptor, data)

    assert response.status_code == 303
    report = client.get(response.headers["location"])
    assert report.status_code == 200
    assert "已入库" in report.text and "没有发现问题" in report.text


def test_rejected_upload_shows_the_row_level_quality_report(as_user, domain):
    client = as_user("zhangwei")
    descriptor, data = domain.registry_upload(bad=True)

    response = _upload(client, descriptor, data)

    assert response.status_code == 303
    report = client.get(response.headers["location"]).text
    assert "已拒绝" in report
    assert 'data-testid="issues"' in report and "credit_code" in report
    assert "统一社会信用代码校验位错误" in report


def test_upload_without_a_data_file_is_answered_on_the_page(as_user, domain):
    client = as_user("zhangwei")
    descriptor, _ = domain.registry_upload()
    token = csrf_of(client.get("/imports").text)

    with descriptor.open("rb") as d:
        response = client.post("/imports", data={"csrf_token": token},
                               files={"descriptor": (descriptor.name, d, "application/json")})

    assert response.status_code == 422
    assert "请同时选择数据集描述文件" in response.text


def test_upload_of_another_departments_dataset_is_refused_on_the_page(as_user, domain):
    client = as_user("liuyang")  # a tax officer uploading amr's dataset
    descriptor, data = domain.registry_upload()

    response = _upload(client, descriptor, data)

    assert response.status_code == 403
    assert 'data-testid="error"' in response.text


def test_only_providers_may_upload(as_user, domain):
    client = as_user("lina")
    token = csrf_of(client.get("/audit").text)
    descriptor, data = domain.registry_upload()

    with descriptor.open("rb") as d, data.open("rb") as f:
        response = client.post("/imports", data={"csrf_token": token},
                               files={"descriptor": ("d.json", d), "data": ("d.csv", f)})

    assert response.status_code == 403


def test_audit_search_filters_and_pages(as_user):
    client = as_user("lina")

    first = client.get("/audit").text
    by_actor = client.get("/audit?actor=zhangwei&action=auth.&outcome=allowed").text
    older = re.search(r'href="/audit\?([^"]*before=\d+[^"]*)"', first)

    assert first.count("<tr class=\"outcome-row-") == 50
    rows = re.findall(r"<tr class=\"outcome-row-(\w+)\">.*?<td>(\w+)</td>", by_actor, re.S)
    assert rows and all(actor == "zhangwei" and outcome == "allowed" for outcome, actor in rows)
    assert older, "a full page links to older records"
    next_page = client.get("/audit?" + older.group(1).replace("&amp;", "&")).text
    first_seqs = set(re.findall(r'<td class="num">(\d+)</td>\s*<td class="nowrap">', first))
    next_seqs = set(re.findall(r'<td class="num">(\d+)</td>\s*<td class="nowrap">', next_page))
    assert next_seqs and not first_seqs & next_seqs


def test_audit_search_by_time_reads_beijing_time(as_user):
    client = as_user("lina")

    since_long_ago = client.get("/audit?since=2000-01-01T08:00").text
    until_long_ago = client.get("/audit?until=2000-01-01T08:00").text

    assert "outcome-row-" in since_long_ago
    assert "outcome-row-" not in until_long_ago and "没有符合条件的审计记录" in until_long_ago


def test_htmx_requests_get_error_pages_swapped_into_the_main_area(as_user):
    client = as_user("lina")

    response = client.post("/audit/verify", data={}, headers={"HX-Request": "true"})

    assert response.status_code == 403
    assert response.headers["hx-retarget"] == "#main" and response.headers["hx-reselect"] == "#main"


def test_audit_verify_reports_the_chain_and_is_itself_audited(as_user, domain):
    client = as_user("wangqiang")
    token = csrf_of(client.get("/audit").text)

    response = client.post("/audit/verify", data={"csrf_token": token})

    assert response.status_code == 200
    assert 'data-testid="verify-result"' in response.text and "审计链完整" in response.text
    assert search(domain.rt.store, AuditFilter(actor="wangqiang", action="audit.verify", outcome="allowed"))


def test_pages_carry_a_strict_content_security_policy_and_are_not_cached(as_user):
    response = as_user("zhangwei").get("/catalog")

    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["cache-control"] == "no-store"


def test_static_assets_are_local_and_public(client):
    page = client.get("/login").text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)

    assert assets and all(a.startswith("/") for a in assets)
    for asset in (a for a in assets if a.startswith("/static/")):
        assert client.get(asset).status_code == 200, asset


def test_no_template_or_stylesheet_loads_anything_from_outside():
    from opdomain.web.console.render import STATIC_DIR, TEMPLATES_DIR

    texts = [p.read_text(encoding="utf-8") for p in TEMPLATES_DIR.rglob("*.html")]
    texts += [p.read_text(encoding="utf-8") for p in (STATIC_DIR / "css").rglob("*.css")]
    texts += [p.read_text(encoding="utf-8") for p in (STATIC_DIR / "js").rglob("*.js")]

    for text in texts:
        assert not re.search(r"https?://|//fonts\.|@import|\burl\((?!['\"]?data:)", text)


def test_every_console_route_declares_its_permission():
    def permissions(dependant) -> list[str]:  # type: ignore[no-untyped-def]
        found = [getattr(dependant.call, "permission", None)]
        for sub in dependant.dependencies:
            found += permissions(sub)
        return [p for p in found if p]

    for router in _PAGES:
        for route in router.routes:
            assert permissions(route.dependant), f"{route.path} declares no permission"


def test_text_from_users_and_data_is_escaped_in_every_language():
    from opdomain.web.console import i18n
    from opdomain.web.console.render import env

    template = env.from_string('{{ _("您好，%(name)s", name=name) }}|{{ name }}')
    for lang in ("zh-CN", "en"):
        token = i18n.use_language(lang)
        try:
            html = template.render(name="<script>alert(1)</script>")
        finally:
            i18n.reset_language(token)
        assert "<script>" not in html and "&lt;script&gt;" in html
