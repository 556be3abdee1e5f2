"""The authorization lifecycle in the console: announcements, applications and their timeline, the public
notice with objections, grants and agreements, safe people, notifications (SPEC §3, rules 三)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from opdomain.identity.service import principal_for
from opdomain.lifecycle import applications as apps
from opdomain.lifecycle import people
from tests.lifecycle.process_setup import add_experts, announce, apply, walk_to_active
from tests.web.conftest import csrf_of
from tests.web.test_workspace_support import as_, token_of, ws  # noqa: F401

TODAY = date.today()


@pytest.fixture(scope="module")
def lc(ws):  # type: ignore[no-untyped-def] # noqa: F811
    add_experts(ws.rt)
    return {"announcement": announce(ws.rt, TODAY)}


def _forms(html: str) -> set[str]:
    return set(re.findall(r'data-action="(\w+)"', html.split('data-testid="actions"', 1)[1].split("</section>", 1)[0]))


def _post(client: TestClient, page: str, action: str, data: dict | None = None):  # type: ignore[no-untyped-def]
    return client.post(action, data={**(data or {}), "csrf_token": token_of(client, page)})


def test_announcements_are_public_and_the_authority_publishes_one(ws, lc, as_):  # noqa: F811
    anon = TestClient(ws.app, follow_redirects=False)
    page = anon.get("/announcements")
    assert page.status_code == 200 and "2025 年普惠金融领域授权运营公告" in page.text
    assert anon.get(f"/announcements/{lc['announcement']}").status_code == 200
    assert anon.get("/announcements/new").status_code in (303, 307)

    admin = as_("admin")
    r = _post(admin, "/announcements/new", "/announcements",
              {"title": "工业制造领域公告", "domain_areas": "工业制造", "conditions": "",
               "opens_on": TODAY.isoformat(), "closes_on": (TODAY + timedelta(days=20)).isoformat()})
    assert r.status_code == 303 and r.headers["location"].startswith("/announcements/")
    assert "工业制造领域公告" in admin.get(r.headers["location"]).text
    assert as_("opadmin").get("/announcements/new").status_code == 403


def test_posts_without_the_csrf_token_are_refused(ws, lc, as_):  # noqa: F811
    app_id = apply(ws.rt, lc["announcement"], TODAY)
    op = as_("opadmin")
    assert op.post(f"/applications/{app_id}/submit", data={}).status_code == 403
    assert apps.get_application(ws.rt, principal_for(ws.rt, "admin"), app_id).state == "draft"
    anon = TestClient(ws.app, follow_redirects=False)
    assert anon.post(f"/notices/{app_id}/objections", data={"text": "x"}).status_code == 403


def test_the_forms_follow_the_state_and_the_role(ws, lc, as_):  # noqa: F811
    app_id = apply(ws.rt, lc["announcement"], TODAY)
    op, admin = as_("opadmin"), as_("admin")
    page = f"/applications/{app_id}"

    html = op.get(page).text
    assert _forms(html) == {"add_material", "submit", "withdraw"}
    assert "SHA-256" in html and 'data-testid="requirements"' in html and "销售收入指标" in html
    assert _forms(admin.get(page).text) == {"emergency_plan"}  # a draft: nothing for the authority to decide

    r = _post(op, page, f"/applications/{app_id}/submit")
    assert r.status_code == 303
    assert _forms(op.get(page).text) == {"withdraw"}
    assert _forms(admin.get(page).text) == {"begin_pre_review", "emergency_plan"}

    assert _post(admin, page, f"/applications/{app_id}/pre-review").status_code == 303
    assert _forms(admin.get(page).text) == {"request_materials", "pass_pre_review", "reject", "emergency_plan"}
    # the one-time notice: every missing material in one list
    r = _post(admin, page, f"/applications/{app_id}/request-materials",
              {"deadline": (TODAY + timedelta(days=10)).isoformat(), "extra": "other", "note": "请补正"})
    assert r.status_code == 303, r.text
    html = op.get(page).text
    assert 'data-testid="notice"' in html and "<code>other</code>" in html
    assert _forms(html) == {"add_material", "resubmit", "withdraw"}

    # an action the state does not allow is refused by the service, shown with its rule
    r = _post(admin, page, f"/applications/{app_id}/activate")
    assert r.status_code == 409 and "application.bad_transition" in r.text


def test_the_timeline_expert_review_and_the_whole_walk(ws, lc, as_):  # noqa: F811
    app_id = apply(ws.rt, lc["announcement"], TODAY)
    admin_p, op_p = principal_for(ws.rt, "admin"), principal_for(ws.rt, "opadmin")
    apps.submit(ws.rt, op_p, app_id)
    apps.begin_pre_review(ws.rt, admin_p, app_id)
    apps.pass_pre_review(ws.rt, admin_p, app_id, experts=["expert1", "expert2", "expert3"])
    page = f"/applications/{app_id}"

    expert = as_("expert1")
    assert app_id in expert.get("/applications").text
    assert _forms(expert.get(page).text) == {"expert_review"}
    r = _post(expert, page, f"/applications/{app_id}/expert-review",
              {"security": "88", "credit": "90", "technical": "80", "opinion": "同意授权"})
    assert r.status_code == 303, r.text
    assert _forms(expert.get(page).text) == set()
    r = _post(as_("expert2"), page, f"/applications/{app_id}/expert-review",
              {"conflict": "yes", "conflict_note": "曾任该单位顾问"})
    assert r.status_code == 303

    admin = as_("admin")
    html = admin.get(page).text
    timeline = html.split('data-testid="timeline"', 1)[1].split("</table>", 1)[0]
    assert 'data-action="submit"' in timeline and 'data-action="pass_pre_review"' in timeline
    assert "opadmin" in timeline and "admin" in timeline and "已提交申请" in timeline
    assert "已回避" in html and "同意授权" in html


def test_public_notice_works_anonymously_and_an_objection_is_recorded(ws, lc, as_):  # noqa: F811
    app_id = apply(ws.rt, lc["announcement"], TODAY)
    admin_p, op_p = principal_for(ws.rt, "admin"), principal_for(ws.rt, "opadmin")
    apps.submit(ws.rt, op_p, app_id)
    apps.begin_pre_review(ws.rt, admin_p, app_id)
    apps.pass_pre_review(ws.rt, admin_p, app_id, experts=["expert1", "expert2", "expert3"])
    for e in ("expert1", "expert2", "expert3"):
        apps.submit_expert_review(ws.rt, principal_for(ws.rt, e), app_id,
                                  scores={"security": 80, "credit": 85, "technical": 78}, opinion="同意")
    apps.conclude_expert_review(ws.rt, admin_p, app_id, conclusion="同意")
    apps.approve(ws.rt, admin_p, app_id, reasons="终审通过", publicity_days=7)

    with TestClient(ws.app, follow_redirects=False) as anon:
        page = anon.get("/notices")
        assert page.status_code == 200 and f'data-notice="{app_id}"' in page.text
        token = csrf_of(page.text)
        r = anon.post(f"/notices/{app_id}/objections",
                      data={"objector": "", "text": "数据范围过宽", "csrf_token": token})
        assert r.status_code == 303 and r.headers["location"] == f"/notices?filed={app_id}"

    view = apps.get_application(ws.rt, admin_p, app_id)
    assert [(o["objector"], o["text"]) for o in view.objections] == [("匿名", "数据范围过宽")]
    admin = as_("admin")
    html = admin.get(f"/applications/{app_id}").text
    assert "数据范围过宽" in html and 'data-action="answer_objection"' in html
    oid = view.objections[0]["id"]
    r = _post(admin, f"/applications/{app_id}", f"/applications/{app_id}/objections/{oid}/answer",
              {"answer": "数据范围已按最小必要原则确定"})
    assert r.status_code == 303
    assert apps.get_application(ws.rt, admin_p, app_id).objections[0]["answer"]


def test_grant_page_actions_and_the_sealed_agreement(ws, lc, as_):  # noqa: F811
    app_id = apply(ws.rt, lc["announcement"], TODAY)
    grant_id = walk_to_active(ws.rt, app_id, TODAY)
    admin = as_("admin")
    page = f"/grants/{grant_id}"
    html = admin.get(page).text
    assert _forms(html) == {"suspend", "seal", "cancel", "revoke"}
    assert 'data-action="activate"' in html.split('data-testid="timeline"', 1)[1]

    assert _post(admin, page, f"/grants/{grant_id}/suspend", {"reason": ""}).status_code == 422
    r = _post(admin, page, f"/grants/{grant_id}/suspend", {"reason": "整改期间暂停"})
    assert r.status_code == 303
    html = admin.get(page).text
    assert _forms(html) == {"resume", "seal", "cancel", "revoke"} and "整改期间暂停" in html

    view = apps.get_application(ws.rt, principal_for(ws.rt, "admin"), app_id)
    ag = admin.get(f"/agreements/{view.agreement_id}")
    assert ag.status_code == 200 and 'data-testid="verify-ok"' in ag.text
    doc = admin.get(f"/agreements/{view.agreement_id}/agreement.html")
    assert doc.status_code == 200 and "text/html" in doc.headers["content-type"]
    assert "attachment" in admin.get(f"/agreements/{view.agreement_id}/sealed.json").headers["content-disposition"]
    # the operator may read its own agreement but not manage the grant
    op = as_("opadmin")
    assert op.get(f"/agreements/{view.agreement_id}").status_code == 200
    assert 'data-testid="actions"' not in op.get(page).text
    r = op.post(f"/grants/{grant_id}/resume", data={"reason": "x", "csrf_token": token_of(op, page)})
    assert r.status_code == 403


def test_staff_exam_and_notifications(ws, lc, as_):  # noqa: F811
    op = as_("opadmin")
    html = op.get("/staff").text
    assert 'data-user="analyst"' in html and 'data-user="analyst2"' not in html  # own organization only
    assert as_("analyst").get("/staff").status_code == 403

    qid = people.add_question(ws.rt, principal_for(ws.rt, "admin"), text="原始数据可以出域吗？",
                              choices=["可以", "不可以"], answer=1)
    exam = op.get("/exam")
    assert f'name="q-{qid}"' in exam.text
    answers = {f"q-{q}": "1" for q in re.findall(r'name="q-(\d+)"', exam.text)}
    r = op.post("/exam", data={**answers, "csrf_token": csrf_of(exam.text)})
    assert r.status_code == 200 and 'data-testid="exam-passed"' in r.text
    assert people.staff_status(ws.rt, principal_for(ws.rt, "opadmin"), "opadmin")["exam_passed_on"]

    app_id = apply(ws.rt, lc["announcement"], TODAY)
    apps.submit(ws.rt, principal_for(ws.rt, "opadmin"), app_id)
    apps.begin_pre_review(ws.rt, principal_for(ws.rt, "admin"), app_id)
    apps.request_materials(ws.rt, principal_for(ws.rt, "admin"), app_id, deadline=TODAY + timedelta(days=5),
                           extra=["other"])
    page = op.get("/notifications?unread=1")
    ids = re.findall(r'data-notification="(\d+)"', page.text)
    assert ids
    r = op.post(f"/notifications/{ids[0]}/read", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 303
    assert f'data-notification="{ids[0]}"' not in op.get("/notifications?unread=1").text


def test_nav_items_follow_the_permissions(ws, lc, as_):  # noqa: F811
    from tests.web.test_workspace_support import nav_keys

    assert {"applications", "grants", "staff", "notifications"} <= nav_keys(as_("admin").get("/").text)
    keys = nav_keys(as_("expert1").get("/").text)
    assert "applications" in keys and "grants" not in keys and "staff" not in keys
    assert "exam" in nav_keys(as_("analyst").get("/").text)
