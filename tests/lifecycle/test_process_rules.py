"""Bad input to the authorization process: refused with the rule named, audited, nothing half-done."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from tests.lifecycle.domain_setup import seed_domain
from tests.lifecycle.process_setup import REQUIREMENTS, TABLES, add_experts, announce, apply, walk_to_active

from opdomain.audit.log import SYSTEM
from opdomain.audit.query import AuditFilter, search
from opdomain.errors import DomainError, PermissionDenied
from opdomain.identity.service import principal_for
from opdomain.lifecycle import applications as apps
from opdomain.lifecycle import ending, people
from opdomain.lifecycle.grants import load_grant, workspace_grant
from opdomain.lifecycle.notifications import build_email, deliver_pending, list_notifications, smtp_config
from opdomain.lifecycle.policy_process import renewal_deadline
from opdomain.runtime import Runtime

TODAY = date.today()


@pytest.fixture
def prt(srt: Runtime, bengfa: Path) -> Runtime:
    seed_domain(srt, bengfa, tables=TABLES)
    add_experts(srt)
    return srt


def _refusals(rt: Runtime, reason: str) -> int:
    return len([r for r in search(rt.store, AuditFilter(outcome="refused", limit=1000)) if r.reason == reason])


def test_out_of_order_steps_are_refused_and_audited(prt: Runtime) -> None:
    app_id = apply(prt, announce(prt, TODAY), TODAY)
    admin = principal_for(prt, "admin")
    for step in (lambda: apps.activate(prt, admin, app_id), lambda: apps.sign_agreement(prt, admin, app_id),
                 lambda: apps.begin_pre_review(prt, admin, app_id)):
        with pytest.raises(DomainError) as err:
            step()
        assert err.value.code == "application.bad_transition" and err.value.status == 409
        assert "draft" in err.value.message.en and err.value.message.zh
    assert _refusals(prt, "application.bad_transition") == 3
    assert apps.get_application(prt, admin, app_id).state == "draft"


def test_missing_materials_are_notified_once_with_everything_missing(prt: Runtime) -> None:
    app_id = apply(prt, announce(prt, TODAY), TODAY, materials=False)
    op, admin = principal_for(prt, "opadmin"), principal_for(prt, "admin")
    apps.add_material(prt, op, app_id, kind="application_form", filename="form.pdf", data=b"%PDF form")
    apps.submit(prt, op, app_id)
    apps.begin_pre_review(prt, admin, app_id)
    with pytest.raises(DomainError) as err:
        apps.pass_pre_review(prt, admin, app_id, experts=["expert1", "expert2", "expert3"])
    assert err.value.code == "application.materials_missing" and len(err.value.details["missing"]) == 4
    view = apps.request_materials(prt, admin, app_id, deadline=TODAY + timedelta(days=10), today=TODAY)
    assert view.notice_missing == ["audit_report", "financial_report", "security_commitment", "risk_self_assessment"]
    assert any(n.kind == "materials_missing" for n in list_notifications(prt, op))
    apps.resubmit(prt, op, app_id, today=TODAY)
    with pytest.raises(DomainError) as again:
        apps.request_materials(prt, admin, app_id, deadline=TODAY + timedelta(days=10), today=TODAY)
    assert again.value.code == "application.notice_already_given" and again.value.details["rule"] == "R3.3"


def test_resubmission_after_the_deadline_is_refused_and_the_tick_rejects(prt: Runtime) -> None:
    app_id = apply(prt, announce(prt, TODAY), TODAY, materials=False)
    op, admin = principal_for(prt, "opadmin"), principal_for(prt, "admin")
    apps.submit(prt, op, app_id)
    apps.begin_pre_review(prt, admin, app_id)
    apps.request_materials(prt, admin, app_id, deadline=TODAY + timedelta(days=3), today=TODAY)
    with pytest.raises(DomainError) as err:
        apps.resubmit(prt, op, app_id, today=TODAY + timedelta(days=4))
    assert err.value.code == "application.resubmission_late"
    assert ending.tick(prt, TODAY + timedelta(days=4)).lapsed == [app_id]
    assert apps.get_application(prt, admin, app_id).state == "rejected"


def test_an_expert_never_reviews_their_own_companys_application(prt: Runtime) -> None:
    admin = principal_for(prt, "admin")
    people.set_affiliation(prt, admin, "expert1", "op1")
    app_id = apply(prt, announce(prt, TODAY), TODAY)
    apps.submit(prt, principal_for(prt, "opadmin"), app_id)
    apps.begin_pre_review(prt, admin, app_id)
    with pytest.raises(PermissionDenied) as err:
        apps.pass_pre_review(prt, admin, app_id, experts=["expert1", "expert2", "expert3"])
    assert err.value.code == "application.conflict_of_interest" and err.value.details["rule"] == "R3.4"
    view = apps.get_application(prt, admin, app_id)
    assert view.state == "pre_review" and view.experts == []  # nothing half-done


def test_term_over_three_years_forbidden_data_and_missing_purposes_are_refused(prt: Runtime) -> None:
    ann = announce(prt, TODAY)
    with pytest.raises(DomainError) as err:
        apply(prt, ann, TODAY, ends_on=TODAY + timedelta(days=3 * 366))
    assert err.value.code == "grant.term_too_long" and err.value.details["rule"] == "R3.9a"
    no_purpose = [{"dataset": "stats.sales_profit", "columns": {"uscc": "关联", "sales_revenue": " "}}]
    with pytest.raises(DomainError) as err:
        apply(prt, ann, TODAY, requirements=no_purpose)
    assert err.value.code == "application.purpose_required"
    with pytest.raises(DomainError) as err:
        apply(prt, ann, TODAY, scenarios=[])
    assert err.value.code == "application.no_scenario" and err.value.details["rule"] == "R1.5a"
    assert _refusals(prt, "grant.term_too_long") == 1


def test_no_emergency_plan_no_activation_and_publicity_must_be_over(prt: Runtime) -> None:
    app_id = apply(prt, announce(prt, TODAY), TODAY)
    admin, op = principal_for(prt, "admin"), principal_for(prt, "opadmin")
    apps.submit(prt, op, app_id)
    apps.begin_pre_review(prt, admin, app_id)
    apps.pass_pre_review(prt, admin, app_id, experts=["expert1", "expert2", "expert3"])
    apps.submit_expert_review(prt, principal_for(prt, "expert1"), app_id, scores={}, opinion="", conflict=True)
    with pytest.raises(DomainError) as err:
        apps.conclude_expert_review(prt, admin, app_id, conclusion="x")
    assert err.value.code == "application.reviews_outstanding"
    for e in ("expert2", "expert3"):
        apps.submit_expert_review(prt, principal_for(prt, e), app_id, scores={"security": 90, "credit": 90,
                                                                              "technical": 90}, opinion="同意")
    with pytest.raises(DomainError) as err:  # one recused: fewer than three reviews
        apps.conclude_expert_review(prt, admin, app_id, conclusion="x")
    assert err.value.code == "application.too_few_experts"
    prt2_app = apply(prt, announce(prt, TODAY), TODAY)
    apps.submit(prt, op, prt2_app)
    apps.begin_pre_review(prt, admin, prt2_app)
    apps.pass_pre_review(prt, admin, prt2_app, experts=["expert1", "expert2", "expert3"])
    for e in ("expert1", "expert2", "expert3"):
        apps.submit_expert_review(prt, principal_for(prt, e), prt2_app,
                                  scores={"security": 90, "credit": 90, "technical": 90}, opinion="同意")
    apps.conclude_expert_review(prt, admin, prt2_app, conclusion="同意")
    apps.approve(prt, admin, prt2_app, reasons="通过", publicity_days=7, today=TODAY)
    oid = apps.file_objection(prt, prt2_app, objector="市民甲", text="担心数据安全", today=TODAY)
    with pytest.raises(DomainError) as err:
        apps.file_with_government(prt, admin, prt2_app, reference="备1", today=TODAY + timedelta(days=3))
    assert err.value.code == "application.publicity_not_over"
    with pytest.raises(DomainError) as err:
        apps.file_with_government(prt, admin, prt2_app, reference="备1", today=TODAY + timedelta(days=8))
    assert err.value.code == "application.objections_unanswered"
    apps.answer_objection(prt, admin, oid, answer="数据不出域，全程审计")
    apps.file_with_government(prt, admin, prt2_app, reference="备1", today=TODAY + timedelta(days=8))
    apps.sign_agreement(prt, admin, prt2_app)
    with pytest.raises(DomainError) as err:
        apps.activate(prt, admin, prt2_app)
    assert err.value.code == "application.no_emergency_plan" and err.value.details["rule"] == "R6.2b"
    assert apps.get_application(prt, admin, prt2_app).grant_id is None


def test_renewal_window_is_enforced_and_warned_about(prt: Runtime) -> None:
    ann = announce(prt, TODAY)
    grant_id = walk_to_active(prt, apply(prt, ann, TODAY), TODAY)
    g = load_grant(prt, grant_id)
    deadline = renewal_deadline(g.ends_on)
    assert ending.warn_renewals(prt, deadline - timedelta(days=10)) == 1
    assert any(n.kind == "renewal_window" for n in list_notifications(prt, principal_for(prt, "opadmin")))
    kw = {"starts_on": g.ends_on + timedelta(days=1), "ends_on": g.ends_on + timedelta(days=700),
          "renewal_of": grant_id, "materials": False}
    with pytest.raises(DomainError) as err:
        apply(prt, ann, deadline + timedelta(days=1), **kw)  # type: ignore[arg-type]
    assert err.value.code == "application.renewal_too_late" and err.value.details["rule"] == "R3.9b"
    assert load_grant(prt, grant_id).status == "active"
    renewal = apply(prt, ann, deadline, **kw)  # type: ignore[arg-type]
    assert load_grant(prt, grant_id).status == "renewing"
    apps.withdraw(prt, principal_for(prt, "opadmin"), renewal, reason="不再续期")
    assert load_grant(prt, grant_id).status == "active"


def test_safe_people_gate_the_workspace(prt: Runtime) -> None:
    grant_id = walk_to_active(prt, apply(prt, announce(prt, TODAY), TODAY), TODAY)
    from tests.conftest import resident_id

    from opdomain.identity.service import create_user

    create_user(prt, SYSTEM, username="newbie", password="pw-newbie-0123456789", real_name="新人",
                resident_id=resident_id(60), phone="13900000060", role="analyst", organization_code="op1")
    newbie, admin = principal_for(prt, "newbie"), principal_for(prt, "admin")
    codes = []
    for act in (lambda: people.verify_real_name(prt, admin, "newbie"), lambda: None,
                lambda: people.sign_confidentiality(prt, newbie, document="保密协议")):
        with pytest.raises(PermissionDenied) as err:
            workspace_grant(prt, newbie, grant_id)
        codes.append(err.value.code)
        act()
        if len(codes) == 2:
            q = people.add_question(prt, admin, text="原始数据能出域吗？", choices=["能", "不能"], answer=1)
            with pytest.raises(DomainError):
                people.take_exam(prt, newbie, {q: 0})
            assert people.take_exam(prt, newbie, {q: 1})["score"] == 100
    assert codes == ["workspace.real_name_unverified", "workspace.exam_not_passed",
                     "workspace.no_confidentiality_agreement"]
    assert workspace_grant(prt, newbie, grant_id).id == grant_id
    people.record_departure(prt, principal_for(prt, "opadmin"), "newbie")
    with pytest.raises(PermissionDenied) as err:
        workspace_grant(prt, newbie, grant_id)
    assert err.value.code == "workspace.staff_left"


def test_the_public_api_refuses_direct_grants_and_no_email_without_smtp(prt: Runtime) -> None:
    assert smtp_config({}) is None
    assert deliver_pending(prt) == 0
    cfg = smtp_config({"OPDOMAIN_SMTP_HOST": "mail.local", "OPDOMAIN_SMTP_TO": "duty@example.org"})
    assert cfg is not None
    apply(prt, announce(prt, TODAY), TODAY)
    op = principal_for(prt, "opadmin")
    sent: list[object] = []

    class FakeSmtp:
        def __init__(self, *a: object, **k: object) -> None: ...
        def __enter__(self) -> FakeSmtp: return self
        def __exit__(self, *a: object) -> None: ...
        def send_message(self, m: object) -> None: sent.append(m)

    from opdomain.lifecycle.notifications import NotificationView

    n = NotificationView(1, "renewal_window", "续期提醒", "renewal reminder", TODAY, "grant", "g", TODAY, None)  # type: ignore[arg-type]
    mail = build_email(n, cfg)
    assert mail["To"] == "duty@example.org" and "renewal reminder" in mail.get_content()
    assert list_notifications(prt, op) == [] and deliver_pending(prt, config=cfg, smtp_factory=FakeSmtp) == 0
    assert REQUIREMENTS  # the data requirement list used throughout
