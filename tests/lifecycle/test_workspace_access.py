"""Workspace access (R4.4c, R4.5a): only analysts of the grant's operator, only while the grant is
active and within its term; every refusal audited."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from tests.lifecycle.domain_setup import make_grant, seed_domain

from opdomain.audit.query import AuditFilter, search
from opdomain.errors import Conflict, PermissionDenied
from opdomain.identity.service import principal_for
from opdomain.lifecycle.grants import resume_grant, suspend_grant, workspace_grant
from opdomain.lifecycle.policy import (
    GrantFacts,
    PrincipalFacts,
    StaffFacts,
    can_use_workspace,
    check_workspace_access,
)
from opdomain.runtime import Runtime

COLUMNS = {"hrss.insured_employees": ["gender", "monthly_wage"]}


@pytest.fixture
def grant_rt(rt: Runtime, bengfa: Path) -> Runtime:
    seed_domain(rt, bengfa, tables=("hrss.insured_employees",))
    return rt


def test_analyst_of_the_operator_enters_and_another_operators_analyst_is_refused(grant_rt: Runtime) -> None:
    g = make_grant(grant_rt, columns=COLUMNS)
    assert workspace_grant(grant_rt, principal_for(grant_rt, "analyst"), g.id).id == g.id
    with pytest.raises(PermissionDenied) as err:
        workspace_grant(grant_rt, principal_for(grant_rt, "analyst2"), g.id)
    assert err.value.code == "workspace.other_operator" and err.value.status == 403
    assert err.value.message.zh and err.value.message.en
    refused = search(grant_rt.store, AuditFilter(action="workspace.access", outcome="refused"))
    assert [(r.actor, r.grant_id, r.reason) for r in refused] == [("analyst2", g.id, "workspace.other_operator")]


def test_operator_admin_is_not_an_analyst(grant_rt: Runtime) -> None:
    g = make_grant(grant_rt, columns=COLUMNS)
    with pytest.raises(PermissionDenied) as err:
        workspace_grant(grant_rt, principal_for(grant_rt, "opadmin"), g.id)
    assert err.value.code == "workspace.not_analyst"


def test_suspended_grant_closes_the_workspace_until_resumed(grant_rt: Runtime) -> None:
    g = make_grant(grant_rt, columns=COLUMNS)
    admin, analyst = principal_for(grant_rt, "admin"), principal_for(grant_rt, "analyst")
    assert suspend_grant(grant_rt, admin, g.id, reason="整改期间暂停 R6.8").status == "suspended"
    with pytest.raises(PermissionDenied) as err:
        workspace_grant(grant_rt, analyst, g.id)
    assert err.value.code == "workspace.grant_not_active" and "暂停" in err.value.message.zh
    with pytest.raises(Conflict):
        suspend_grant(grant_rt, admin, g.id, reason="again")
    resume_grant(grant_rt, admin, g.id, reason="整改完成")
    assert workspace_grant(grant_rt, analyst, g.id).status == "active"
    actions = [r.action for r in search(grant_rt.store, AuditFilter(grant_id=g.id, outcome="allowed"))]
    assert "grant.suspend" in actions and "grant.resume" in actions


def test_only_the_authority_suspends(grant_rt: Runtime) -> None:
    g = make_grant(grant_rt, columns=COLUMNS)
    with pytest.raises(PermissionDenied):
        suspend_grant(grant_rt, principal_for(grant_rt, "opadmin"), g.id, reason="x")


def test_expired_and_not_yet_started_grants_are_closed(srt: Runtime, bengfa: Path) -> None:
    seed_domain(srt, bengfa, tables=("hrss.insured_employees",))
    today = date.today()
    past = make_grant(srt, columns=COLUMNS, starts_on=today - timedelta(days=400), ends_on=today - timedelta(days=1))
    future = make_grant(srt, columns=COLUMNS, starts_on=today + timedelta(days=1),
                        ends_on=today + timedelta(days=100))
    analyst = principal_for(srt, "analyst")
    with pytest.raises(PermissionDenied) as err:
        workspace_grant(srt, analyst, past.id)
    assert err.value.code == "workspace.grant_expired" and past.effective_status == "expired"
    with pytest.raises(PermissionDenied) as err:
        workspace_grant(srt, analyst, future.id)
    assert err.value.code == "workspace.grant_not_started"
    assert len(search(srt.store, AuditFilter(action="workspace.access", outcome="refused"))) == 2


CLEARED = {"a1": StaffFacts("a1", real_name_verified_on=date(2024, 1, 1), exam_passed_on=date(2024, 1, 2),
                            exam_score=90, confidentiality_signed_on=date(2024, 1, 3))}


def test_access_rule_on_plain_values() -> None:
    grant = GrantFacts("g", "op1", "active", date(2025, 1, 1), date(2025, 12, 31), CLEARED)
    analyst = PrincipalFacts("analyst", "op1", "a1")
    assert can_use_workspace(grant, analyst, date(2025, 1, 1))
    assert can_use_workspace(grant, analyst, date(2025, 12, 31))
    assert not can_use_workspace(grant, analyst, date(2026, 1, 1))
    assert not can_use_workspace(grant, analyst, date(2024, 12, 31))
    assert not can_use_workspace(grant, PrincipalFacts("analyst", "op2"), date(2025, 6, 1))
    for status in ("suspended", "sealed", "expired", "cancelled", "revoked"):
        with pytest.raises(PermissionDenied):
            check_workspace_access(GrantFacts("g", "op1", status, date(2025, 1, 1), date(2025, 12, 31), CLEARED),
                                   analyst, date(2025, 6, 1))
