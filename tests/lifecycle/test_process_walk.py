"""One application through all nine steps of rules 三 by the real roles, then ended each way (expiry,
cancellation, revocation): access closed, the grant's data unreadable, the audit log intact — on SQLite
and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from tests.lifecycle.domain_setup import seed_domain
from tests.lifecycle.process_setup import TABLES, add_experts, announce, apply, walk_to_active

from opdomain.audit.query import AuditFilter, search
from opdomain.audit.verify import verify_chain
from opdomain.compute.devdata import build_dev_data, read_dev_tables
from opdomain.errors import DomainError, NotFound, PermissionDenied
from opdomain.identity.service import principal_for
from opdomain.lifecycle import agreement, applications, data_requests, ending
from opdomain.lifecycle.grants import load_grant, pseudonym_key, workspace_grant
from opdomain.runtime import Runtime


@pytest.fixture
def prt(rt: Runtime, bengfa: Path) -> Runtime:
    seed_domain(rt, bengfa, tables=TABLES)
    add_experts(rt)
    return rt


@pytest.mark.parametrize("how", ["expire", "cancel", "revoke"])
def test_nine_steps_then_each_way_of_ending(prt: Runtime, how: str) -> None:
    rt, today = prt, date.today()
    app_id = apply(rt, announce(rt, today), today)
    grant_id = walk_to_active(rt, app_id, today)

    # the timeline shows every step, each with its actor
    steps = [(e["action"], e["actor"]) for e in applications.timeline(rt, principal_for(rt, "admin"), "application",
                                                                      app_id)]
    assert [a for a, _ in steps if a not in ("add_material", "expert_review")] == [
        "create", "submit", "begin_pre_review", "pass_pre_review", "conclude_expert_review", "approve", "file",
        "sign_agreement", "file_emergency_plan", "activate"]
    assert ("expert_review", "expert2") in steps and ("submit", "opadmin") in steps

    # the sealed agreement verifies against the authority's contract seal
    view = applications.get_application(rt, principal_for(rt, "admin"), app_id)
    sealed = agreement.sealed_path(rt, view.agreement_id or "").read_bytes()
    assert agreement.verify_sealed(sealed, trusted_public_key=agreement.authority_public_key(rt)).ok

    # 四.(二): the grant opens only what the provider approves
    opadmin, analyst = principal_for(rt, "opadmin"), principal_for(rt, "analyst")
    assert load_grant(rt, grant_id).columns == ()
    req = data_requests.request_data(rt, opadmin, grant_id, dataset="stats.sales_profit",
                                     columns={"uscc": "企业关联键", "sales_revenue": "销售收入指标"})
    with pytest.raises(PermissionDenied):
        data_requests.review_data_request(rt, principal_for(rt, "hrss-staff"), req.id, approve=["uscc"])
    data_requests.review_data_request(rt, principal_for(rt, "stats-staff"), req.id, approve=["uscc", "sales_revenue"])
    grant = workspace_grant(rt, analyst, grant_id)
    assert set(grant.columns_of("stats.sales_profit", visible_only=True)) == {"uscc", "sales_revenue"}
    build_dev_data(rt, analyst, grant_id)
    assert "stats.sales_profit" in read_dev_tables(rt, grant_id)[1]  # decryptable while the grant lives
    grant_dir = rt.settings.data_dir / "grants" / grant_id
    assert any(grant_dir.rglob("*.enc"))

    # end it
    admin = principal_for(rt, "admin")
    if how == "expire":
        with pytest.raises(DomainError) as early:
            ending.expire(rt, grant_id, today=today)
        assert early.value.code == "grant.not_due"
        assert ending.expire_due(rt, grant.ends_on + timedelta(days=1)) == [grant_id]
    elif how == "cancel":
        with pytest.raises(DomainError) as unrequested:
            ending.cancel(rt, admin, grant_id, reason="x")
        assert unrequested.value.code == "grant.cancellation_not_requested"
        ending.request_cancellation(rt, opadmin, grant_id, reason="业务调整，申请提前注销")
        ending.cancel(rt, admin, grant_id, reason="同意提前注销")
    else:
        ending.revoke(rt, admin, grant_id, reason="安全评估不合格")

    # access closed, data unreadable, records and audit kept
    ended = load_grant(rt, grant_id)
    assert ended.status == "destroyed" and ended.ended_as == {"expire": "expired", "cancel": "cancelled",
                                                              "revoke": "revoked"}[how]
    with pytest.raises(PermissionDenied):
        workspace_grant(rt, analyst, grant_id)
    with pytest.raises(NotFound):
        pseudonym_key(rt, grant_id)
    with pytest.raises(NotFound):
        read_dev_tables(rt, grant_id)
    assert not grant_dir.exists()
    with pytest.raises(DomainError):
        data_requests.request_data(rt, opadmin, grant_id, dataset="stats.sales_profit", columns={"year": "年度"})
    actions = [r.action for r in search(rt.store, AuditFilter(grant_id=grant_id, limit=1000))]
    assert {"grant.create", f"grant.{how}", "grant.destroy", "grant.files_removed"} <= set(actions)
    rt.audit.checkpoint_now()
    assert verify_chain(rt.store, rt.audit.signer.public_key()).ok


def test_subscribers_hear_the_end_before_the_data_is_destroyed(prt: Runtime) -> None:
    rt, today = prt, date.today()
    grant_id = walk_to_active(rt, apply(rt, announce(rt, today), today), today)
    heard: list[tuple[str, str, bool]] = []
    rt.subscribe("grant.ended", lambda r, grant_id, reason: heard.append(
        (grant_id, reason, load_grant(r, grant_id).status == "revoked")))
    ending.revoke(rt, principal_for(rt, "admin"), grant_id, reason="违规")
    assert heard == [(grant_id, "revoke", True)]
