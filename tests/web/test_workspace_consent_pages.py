"""The consent registry pages (个人/企业授权): counts, masked lists, one subject's history, record, withdraw.

Rules R4.2b and R5.1a; ids are never shown in full, never put in a URL, and never echoed into a page.
"""

from __future__ import annotations

import re

from opdomain.audit.query import AuditFilter, search
from opdomain.identity.service import principal_for
from opdomain.lifecycle import consent
from tests.lifecycle.domain_setup import SCENARIO
from tests.web.test_workspace_support import CONSENTING, as_, token_of, ws  # noqa: F401

OTHER_SCENARIO = "泵阀企业用工服务"


def _act(client, path: str, **fields: str):  # type: ignore[no-untyped-def]
    data = {"subject_type": "enterprise", "scenario": SCENARIO, "operator": "op1", "channel": "counter", **fields}
    return client.post(path, data={**data, "csrf_token": token_of(client, "/consents/record")})


def _lookup(client, subject_id: str, subject_type: str = "enterprise"):  # type: ignore[no-untyped-def]
    return client.post("/consents/history", data={"subject_type": subject_type, "subject_id": subject_id,
                                                   "csrf_token": token_of(client, "/consents")})


def test_the_registry_counts_per_scope_and_never_shows_a_full_id(ws, as_):  # noqa: F811
    page = as_("admin").get("/consents")

    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    summary = re.search(r'data-testid="consent-summary".*?</table>', page.text, re.S).group(0)
    assert SCENARIO in summary and "运营单位一" in summary and f">{CONSENTING}<" in summary
    assert not any(u in page.text for u in ws.usccs)
    shown = re.findall(r'<code data-testid="subject">([^<]+)</code>', page.text)
    assert len(shown) == 50 and all(re.fullmatch(r"[0-9A-Z]{6}\*{8}[0-9A-Z]{4}", s) for s in shown)
    second = as_("admin").get("/consents?page=2")
    assert len(re.findall(r'data-testid="subject"', second.text)) == CONSENTING - 50
    assert "第 2 / 2 页" in second.text


def test_an_operator_admin_sees_only_consents_given_to_its_organization(ws, as_):  # noqa: F811
    consent.record_consent(ws.rt, principal_for(ws.rt, "amr-staff"), subject_type="enterprise",
                           subject_id=ws.usccs[-1], scenario=OTHER_SCENARIO, operator_code="op2")

    own = as_("opadmin").get("/consents").text
    other = as_("opadmin2").get("/consents").text

    assert OTHER_SCENARIO not in own and SCENARIO in own
    assert OTHER_SCENARIO in other and len(re.findall(r'data-testid="subject"', other)) == 1


def test_a_provider_records_and_withdraws_a_consent_without_the_id_coming_back(ws, as_):  # noqa: F811
    client = as_("amr-staff")
    uscc = ws.usccs[CONSENTING]  # one of those who have not consented
    masked = uscc[:6] + "*" * 8 + uscc[-4:]
    assert client.get("/consents/record").status_code == 200

    recorded = _act(client, "/consents/record", subject_id=uscc.lower(), channel="paper", note="窗口收件")
    again = _act(client, "/consents/record", subject_id=uscc)
    withdrawn = _act(client, "/consents/withdraw", subject_id=uscc)

    assert recorded.status_code == 200 and "已登记授权" in recorded.text and masked in recorded.text
    assert uscc not in recorded.text and uscc.lower() not in recorded.text
    assert again.status_code == 409 and "consent.already_given" in again.text
    assert withdrawn.status_code == 200 and "已登记撤回" in withdrawn.text and uscc not in withdrawn.text
    history = _lookup(as_("auditor"), uscc)
    acts = re.search(r'data-testid="consent-history".*?</table>', history.text, re.S).group(0)
    assert acts.count("<tr>") == 3 and "已授权" in acts and "已撤回" in acts and "纸质材料" in acts
    assert masked in history.text and uscc not in history.text
    grants = search(ws.rt.store, AuditFilter(action="consent.grant", actor="amr-staff", limit=5))
    assert uscc not in str([g.details for g in grants])


def test_a_bad_id_is_refused_on_the_page(ws, as_):  # noqa: F811
    bad = ws.usccs[0][:-1] + ("0" if ws.usccs[0][-1] != "0" else "1")

    page = _act(as_("amr-staff"), "/consents/record", subject_id=bad)
    lookup = _lookup(as_("admin"), "330324199001011234", "person")

    assert page.status_code == 422 and "consent.bad_credit_code" in page.text and bad not in page.text
    assert lookup.status_code == 422 and "身份证号码无效" in lookup.text and "330324199001011234" not in lookup.text


def test_consent_forms_need_the_csrf_token(ws, as_):  # noqa: F811
    provider = as_("amr-staff")
    admin = as_("admin")

    record = provider.post("/consents/record", data={"subject_type": "enterprise", "subject_id": ws.usccs[0],
                                                     "scenario": SCENARIO, "operator": "op1"})
    lookup = admin.post("/consents/history", data={"subject_type": "enterprise", "subject_id": ws.usccs[0]})

    assert record.status_code == 403 and lookup.status_code == 403
    assert "表单已过期" in record.text


def test_consent_pages_follow_the_permissions(ws, as_):  # noqa: F811
    assert as_("amr-staff").get("/consents").status_code == 403  # providers record, they do not read
    assert as_("auditor").get("/consents/record").status_code == 403
    assert as_("analyst").get("/consents").status_code == 403
    auditor = as_("auditor").get("/consents").text
    assert 'href="/consents/record"' not in auditor and 'data-testid="consent-lookup"' in auditor


def test_the_registry_speaks_english(ws, as_):  # noqa: F811
    client = as_("admin")
    client.get("/lang/en")

    page = client.get("/consents").text

    assert "Consent" in page and "Consenting now" in page and "Record a consent or withdrawal" in page
