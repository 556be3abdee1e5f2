"""Issue 4: console pages for every step and every role — creating an application, data requests,
early cancellation and renewal, the confidentiality agreement, a provider's view of applications."""

from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from opdomain.catalog.models import Dataset
from opdomain.identity.models import Organization, User
from opdomain.identity.service import principal_for
from opdomain.lifecycle import applications as apps
from opdomain.lifecycle import data_requests, grants, people
from opdomain.web.console.lifecycle_gap_pages import CONFIDENTIALITY_TEXT
from tests.lifecycle.process_setup import SCENARIOS, add_experts, announce, apply, walk_to_active
from tests.web.test_workspace_support import as_, token_of, ws  # noqa: F401

TODAY = date.today()


@pytest.fixture(scope="module")
def lc(ws):  # type: ignore[no-untyped-def] # noqa: F811
    add_experts(ws.rt)
    return {"announcement": announce(ws.rt, TODAY)}


def _post(client: TestClient, page: str, action: str, data: dict | None = None):  # type: ignore[no-untyped-def]
    return client.post(action, data={**(data or {}), "csrf_token": token_of(client, page)})


def _provider_of(ws, dataset: str) -> str:  # type: ignore[no-untyped-def] # noqa: F811
    """The username of a provider of the department that holds ``dataset``."""
    with ws.rt.store.session() as s:
        dept = s.scalar(select(Dataset.department_id).where(Dataset.name == dataset))
        return str(s.scalar(select(User.username).join(Organization, Organization.id == User.organization_id)
                            .where(Organization.id == dept, User.role == "provider")))


def _form(lc, **over: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    sc = SCENARIOS[0]
    data = {"announcement_id": lc["announcement"], "name": "控制台创建的场景", "domain_area": sc["domain_area"],
            "goals": sc["goals"], "plan": sc["plan"], "security_measures": sc["security_measures"],
            "dataset_0": "stats.sales_profit", "columns_0": "uscc: 企业关联键\nsales_revenue：销售收入指标",
            "dataset_1": "", "columns_1": "", "dataset_2": "", "columns_2": "",
            "starts_on": TODAY.isoformat(), "ends_on": (TODAY + timedelta(days=364)).isoformat(),
            "pricing_mode": "conditional_free", "fees": "", "k": "10", "consent_subjects": ""}
    data.update(over)
    return data


def test_the_operator_creates_an_application_from_the_console(ws, lc, as_):  # noqa: F811
    op = as_("opadmin")
    assert 'href="/applications/new"' in op.get("/applications").text
    page = op.get("/applications/new")
    assert page.status_code == 200 and lc["announcement"] in page.text and "stats.sales_profit" in page.text
    assert as_("admin").get("/applications/new").status_code == 403
    assert as_("analyst").get("/applications/new").status_code == 403
    before = len(apps.list_applications(ws.rt, principal_for(ws.rt, "opadmin")))
    assert op.post("/applications", data=_form(lc)).status_code == 403  # no CSRF token
    assert len(apps.list_applications(ws.rt, principal_for(ws.rt, "opadmin"))) == before

    r = _post(op, "/applications/new", "/applications", _form(lc, columns_0="uscc: 企业关联键\nyear"))
    assert r.status_code == 422 and 'data-testid="error"' in r.text  # a column without a purpose

    r = _post(op, "/applications/new", "/applications", _form(lc))
    assert r.status_code == 303, r.text
    app_id = r.headers["location"].split("/applications/", 1)[1].split("?", 1)[0]
    view = apps.get_application(ws.rt, principal_for(ws.rt, "admin"), app_id)
    assert view.state == "draft" and view.scenarios[0]["name"] == "控制台创建的场景"
    assert view.requirements == [{"dataset": "stats.sales_profit",
                                  "columns": {"uscc": "企业关联键", "sales_revenue": "销售收入指标"}}]
    html = op.get(r.headers["location"]).text
    assert "控制台创建的场景" in html and "销售收入指标" in html
    assert app_id in op.get("/applications").text


def test_data_requests_created_by_the_operator_and_decided_by_the_provider(ws, lc, as_):  # noqa: F811
    grant_id = walk_to_active(ws.rt, apply(ws.rt, lc["announcement"], TODAY), TODAY)
    op = as_("opadmin")
    html = op.get("/data-requests").text
    assert f'data-grant="{grant_id}"' in html
    assert as_("analyst").get("/data-requests").status_code == 200
    assert as_("bank").get("/data-requests").status_code == 403
    action = f"/grants/{grant_id}/data-requests"
    data = {"dataset": "stats.sales_profit", "columns": "uscc: 企业关联键\nsales_revenue: 销售收入指标"}
    assert op.post(action, data=data).status_code == 403  # no CSRF token
    assert _post(as_("analyst"), "/data-requests", action, data).status_code == 403  # not data_request.create
    r = _post(op, "/data-requests", action, data)
    assert r.status_code == 303, r.text
    r = _post(op, "/data-requests", action, {"dataset": "stats.sales_profit", "columns": "total_profit: 利润指标"})
    assert r.status_code == 303
    r = _post(op, "/data-requests", action, {"dataset": "amr.enterprise_registry", "columns": "uscc: 关联"})
    assert r.status_code == 403 and "data_request.out_of_scope" in r.text  # outside the agreement

    listed = data_requests.list_data_requests(ws.rt, principal_for(ws.rt, "admin"), grant_id=grant_id)
    first = next(x for x in listed if "sales_revenue" in x.columns)
    second = next(x for x in listed if "total_profit" in x.columns)

    provider = as_(_provider_of(ws, "stats.sales_profit"))
    html = provider.get("/data-requests").text
    assert f'data-request="{first.id}"' in html and 'data-action="review_data_request"' in html
    assert 'data-testid="request-forms"' not in html
    review = f"/data-requests/{first.id}/review"
    assert provider.post(review, data={"decision": "approve", "approve": "uscc"}).status_code == 403
    assert _post(op, "/data-requests", review, {"decision": "approve", "approve": "uscc"}).status_code == 403
    other = as_(_provider_of(ws, "hrss.insured_employees"))
    assert f'data-request="{first.id}"' not in other.get("/data-requests").text
    r = _post(provider, "/data-requests", review, {"decision": "approve", "approve": ["uscc", "sales_revenue"],
                                                   "note": ""})
    assert r.status_code == 303, r.text
    g = grants.get_grant(ws.rt, principal_for(ws.rt, "admin"), grant_id)
    assert {("stats.sales_profit", "sales_revenue")} <= {(c.dataset, c.column) for c in g.columns}

    r = _post(provider, "/data-requests", f"/data-requests/{second.id}/review", {"decision": "reject", "note": ""})
    assert r.status_code == 422  # a rejection needs its reason
    r = _post(provider, "/data-requests", f"/data-requests/{second.id}/review",
              {"decision": "reject", "note": "利润指标不属于最小必要范围"})
    assert r.status_code == 303
    decided = {x.id: x for x in data_requests.list_data_requests(ws.rt, principal_for(ws.rt, "admin"))}
    assert decided[first.id].status == "approved" and decided[second.id].status == "rejected"
    assert "利润指标不属于最小必要范围" in op.get("/data-requests").text


def test_the_operator_requests_early_cancellation_and_sees_the_renewal_offer(ws, lc, as_):  # noqa: F811
    grant_id = walk_to_active(ws.rt, apply(ws.rt, lc["announcement"], TODAY), TODAY)
    op = as_("opadmin")
    page = f"/grants/{grant_id}"
    html = op.get(page).text
    section = html.split('data-testid="operator-actions"', 1)[1].split("</section>", 1)[0]
    assert set(re.findall(r'data-action="(\w+)"', section)) == {"request_cancellation", "apply_renewal"}
    assert 'data-testid="operator-actions"' not in as_("admin").get(page).text
    assert 'data-testid="operator-actions"' not in as_("analyst").get(page).text

    action = f"/grants/{grant_id}/cancellation-request"
    assert op.post(action, data={"reason": "业务调整"}).status_code == 403  # no CSRF token
    assert _post(as_("admin"), page, action, {"reason": "x"}).status_code == 403  # not the operator's permission
    assert _post(op, page, action, {"reason": ""}).status_code == 422
    r = _post(op, page, action, {"reason": "业务调整，申请提前注销"})
    assert r.status_code == 303
    timeline = op.get(page).text.split('data-testid="timeline"', 1)[1]
    assert 'data-action="request_cancellation"' in timeline and "业务调整，申请提前注销" in timeline
    # the authority may now cancel (it needed the request)
    assert _post(as_("admin"), page, f"/grants/{grant_id}/cancel", {"reason": "同意注销"}).status_code == 303

    renewal = op.get(f"/applications/new?renewal_of={grant_id}")
    assert renewal.status_code == 200 and f'name="renewal_of" value="{grant_id}"' in renewal.text


def test_the_analyst_signs_the_confidentiality_agreement(ws, lc, as_):  # noqa: F811
    analyst = as_("analyst")
    page = analyst.get("/confidentiality")
    assert page.status_code == 200 and "保密协议" in page.text and 'data-action="sign_confidentiality"' in page.text
    assert as_("admin").get("/confidentiality").status_code == 403
    assert as_("amr-staff").get("/confidentiality").status_code == 403
    assert analyst.post("/confidentiality", data={"agree": "yes"}).status_code == 403  # no CSRF token
    r = _post(analyst, "/confidentiality", "/confidentiality", {})
    assert r.status_code == 422  # the box was not ticked
    r = _post(analyst, "/confidentiality", "/confidentiality", {"agree": "yes"})
    assert r.status_code == 303
    digest = hashlib.sha256(CONFIDENTIALITY_TEXT.encode()).hexdigest()
    status = people.staff_status(ws.rt, principal_for(ws.rt, "opadmin"), "analyst")
    assert status["confidentiality_sha256"] == digest and status["confidentiality_signed_on"] == TODAY.isoformat()
    row = as_("opadmin").get("/staff").text.split('data-user="analyst"', 1)[1].split("</tr>", 1)[0]
    assert TODAY.isoformat() in row
    assert digest in analyst.get("/confidentiality").text


def test_a_provider_sees_the_applications_that_request_its_datasets(ws, lc, as_):  # noqa: F811
    draft = apply(ws.rt, lc["announcement"], TODAY)
    submitted = apply(ws.rt, lc["announcement"], TODAY)
    apps.submit(ws.rt, principal_for(ws.rt, "opadmin"), submitted)
    stats = as_(_provider_of(ws, "stats.sales_profit"))
    html = stats.get("/provider/applications").text
    assert f'data-application="{submitted}"' in html and f'data-application="{draft}"' not in html
    assert "销售收入指标" in html and "参保人数计数" not in html  # only its own datasets' rows
    assert "provider-applications" in set(re.findall(r'data-nav="([\w-]+)"', stats.get("/").text))
    assert stats.get(f"/applications/{submitted}").status_code == 403  # still no application.read
    assert as_("opadmin").get("/provider/applications").status_code == 403
    assert as_("admin").get("/provider/applications").status_code == 403
