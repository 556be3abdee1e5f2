"""The HTTP API of grants, consent and the workspace; the query route is SPEC §9's fixed contract:
``POST /api/v1/grants/{grant_id}/queries`` → 200 ``{"columns", "rows", ...}`` or the error shape with a
stable code (422 rule, 403 scope or access, 404 unknown grant)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from opdomain.runtime import Runtime
from opdomain.web.app import create_app
from tests.lifecycle import domain_setup
from tests.lifecycle.domain_setup import BENGFA_COLUMNS, SCENARIO, make_grant, source_column

#: fixtures shared with the lifecycle tests
bengfa, seeded_template, domain = domain_setup.bengfa, domain_setup.seeded_template, domain_setup.domain
PASSWORD = "pw-{}-0123456789"  # tests.conftest.seed_people's passwords


class Api:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.client = TestClient(create_app(rt))
        self.tokens: dict[str, str] = {}

    def as_(self, user: str) -> dict[str, str]:
        if user not in self.tokens:
            r = self.client.post("/api/v1/auth/login", json={"username": user, "password": PASSWORD.format(user)})
            assert r.status_code == 200, r.text
            self.tokens[user] = r.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def post(self, user: str, path: str, body: object = None):  # type: ignore[no-untyped-def]
        return self.client.post(f"/api/v1{path}", json=body, headers=self.as_(user))

    def get(self, user: str, path: str, **params: object):  # type: ignore[no-untyped-def]
        return self.client.get(f"/api/v1{path}", params=params, headers=self.as_(user))


@pytest.fixture
def api(domain: Runtime) -> Api:
    return Api(domain)


def _grant_body(**overrides: object) -> dict[str, object]:
    start = date.today()
    body: dict[str, object] = {"operator": "op1", "scenario": SCENARIO, "domain_area": "普惠金融",
                               "columns": BENGFA_COLUMNS, "starts_on": start.isoformat(),
                               "ends_on": (start + timedelta(days=1000)).isoformat(), "k": 10,
                               "consent_subjects": ["enterprise"]}
    body.update(overrides)
    return body


def test_end_to_end_grant_consent_dev_data_and_queries_over_http(api: Api, bengfa: Path) -> None:
    # grants come from the authorization process (tests/lifecycle/test_process_*.py); a fixture grant here
    gid = make_grant(api.rt, columns=BENGFA_COLUMNS, consent=("enterprise",), starts_on=date.today(),
                     ends_on=date.today() + timedelta(days=1000)).id
    grant = api.get("admin", f"/grants/{gid}").json()
    assert grant["status"] == "active" and grant["consent_subjects"] == ["enterprise"]

    usccs = [str(u) for u in source_column(bengfa, "amr.enterprise_registry", "uscc")]
    for u in usccs[:90]:
        r = api.post("amr-staff", "/consents", {"subject_type": "enterprise", "subject_id": u, "scenario": SCENARIO,
                                                "operator": "op1", "channel": "online"})
        assert r.status_code == 201 and r.json()["recorded"] == 1
    listed = api.get("admin", "/consents", scenario=SCENARIO).json()
    assert listed["count"] == 90 and all(usccs[0] != c["subject"] for c in listed["items"])

    built = api.post("analyst", f"/grants/{gid}/dev-data")
    assert built.status_code == 201 and built.json()["sample"]["subjects"]["enterprise"]["population"] == 90
    assert "file" not in str(built.json()["tables"])  # storage paths stay inside the domain

    dev = api.post("analyst", f"/grants/{gid}/queries",
                   {"sql": "SELECT uscc, sales_revenue FROM stats.sales_profit", "environment": "dev"})
    assert dev.status_code == 200 and dev.json()["row_count"] == 50
    real = api.post("analyst", f"/grants/{gid}/queries",
                    {"sql": "SELECT count(*) AS enterprises FROM stats.sales_profit", "environment": "domain"})
    assert real.status_code == 200
    body = real.json()
    assert body["columns"] == ["enterprises"] and body["rows"] == [[90]]
    assert {"row_count", "truncated", "decisions", "query_id"} <= set(body)

    history = api.get("analyst", f"/grants/{gid}/queries").json()
    assert [(q["environment"], q["status"]) for q in history] == [("domain", "ok"), ("dev", "ok")]
    assert history[0]["id"] == body["query_id"]


@pytest.fixture
def gid(api: Api) -> str:
    return make_grant(api.rt, columns=BENGFA_COLUMNS, starts_on=date.today(),
                      ends_on=date.today() + timedelta(days=1000)).id


@pytest.mark.parametrize(("sql", "status", "code"), [
    ("SELECT uscc, sales_revenue FROM stats.sales_profit", 422, "query.not_aggregated"),
    ("SELECT person_id, count(*) FROM hrss.insured_employees GROUP BY 1", 422, "query.identifier_in_output"),
    ("SELECT count(*) FROM amr.enterprise_registry WHERE phone IS NULL", 403, "query.column_not_granted"),
    ("DELETE FROM stats.sales_profit", 422, "query.not_select"),
])
def test_refusals_have_the_error_shape_with_a_stable_code(api: Api, gid: str, sql: str, status: int,
                                                          code: str) -> None:
    r = api.post("analyst", f"/grants/{gid}/queries", {"sql": sql, "environment": "domain"})
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code and err["message"] and err["message_en"] and err["message"] != err["message_en"]


def test_access_refusals_over_http(api: Api, gid: str) -> None:
    body = {"sql": "SELECT count(*) FROM stats.sales_profit", "environment": "domain"}
    other = api.post("analyst2", f"/grants/{gid}/queries", body)
    assert other.status_code == 403 and other.json()["error"]["code"] == "workspace.other_operator"
    admin = api.post("admin", f"/grants/{gid}/queries", body)
    assert admin.status_code == 403 and admin.json()["error"]["code"] == "auth.permission_denied"
    unknown = api.post("analyst", "/grants/nope/queries", body)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "grant.not_found"
    bad_env = api.post("analyst", f"/grants/{gid}/queries", {"sql": "SELECT 1", "environment": "prod"})
    assert bad_env.status_code == 422 and bad_env.json()["error"]["code"] == "request.invalid"
    assert api.get("analyst2", f"/grants/{gid}").status_code == 403
    assert api.get("analyst2", "/grants").json() == []
    assert [g["id"] for g in api.get("analyst", "/grants").json()] == [gid]


def test_grant_creation_over_http_is_refused_in_favour_of_the_lifecycle(api: Api) -> None:
    direct = api.post("admin", "/grants", _grant_body())
    assert direct.status_code == 409 and direct.json()["error"]["code"] == "grant.lifecycle_only"
    assert api.post("opadmin", "/grants", _grant_body()).status_code == 403


def test_schema_shows_grades_masks_and_what_may_be_output(api: Api, gid: str) -> None:
    schema = api.get("analyst", f"/grants/{gid}/schema").json()
    cols = {(t["name"], c["name"]): c for t in schema["tables"] for c in t["columns"]}
    assert cols[("hrss.insured_employees", "person_id")]["dev_mask"] == "pseudonym"
    assert cols[("hrss.insured_employees", "person_id")]["outputable"] is False
    assert cols[("hrss.insured_employees", "birth_date")]["domain_mask"] == "generalize_date"
    assert cols[("stats.sales_profit", "sales_revenue")]["dev_mask"] == "perturb_number"
    assert cols[("stats.sales_profit", "sales_revenue")]["domain_mask"] == "clear"
    assert schema["k"] == 10


def test_suspend_and_resume_over_http(api: Api, gid: str) -> None:
    assert api.post("admin", f"/grants/{gid}/suspend", {"reason": "整改"}).json()["status"] == "suspended"
    r = api.post("analyst", f"/grants/{gid}/queries", {"sql": "SELECT count(*) FROM tax.annual_tax",
                                                       "environment": "domain"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "workspace.grant_not_active"
    assert api.post("admin", f"/grants/{gid}/resume", {"reason": "完成"}).json()["status"] == "active"
    again = api.post("admin", f"/grants/{gid}/resume", {"reason": "again"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "grant.bad_transition"


def test_consent_withdraw_and_history_over_http(api: Api, bengfa: Path) -> None:
    u = str(source_column(bengfa, "amr.enterprise_registry", "uscc")[0])
    act = {"subject_type": "enterprise", "subject_id": u, "scenario": SCENARIO, "operator": "op1"}
    assert api.post("amr-staff", "/consents", act).status_code == 201
    assert api.post("amr-staff", "/consents/withdraw", act).status_code == 200
    history = api.post("auditor", "/consents/history", {"subject_type": "enterprise", "subject_id": u})
    assert [h["action"] for h in history.json()] == ["granted", "withdrawn"]
    assert api.post("analyst", "/consents", act).status_code == 403
    bad = api.post("amr-staff", "/consents", {**act, "subject_id": "91330324MA2ABCDE1X"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "consent.bad_credit_code"
