"""Consent registry (个人/企业授权, R4.2b, R5.1a): grant, withdraw, history; validated identifiers;
audit records name digests, never the identifier."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from tests.conftest import resident_id
from tests.lifecycle.domain_setup import SCENARIO, seed_domain, source_column

from opdomain.audit.query import AuditFilter, search
from opdomain.errors import Conflict, InvalidInput, PermissionDenied
from opdomain.identity.service import principal_for
from opdomain.lifecycle.consent import (
    consent_history,
    consenting_subjects,
    list_consents,
    record_consent,
    record_consents,
    withdraw_consent,
)
from opdomain.runtime import Runtime


@pytest.fixture
def people(rt: Runtime) -> Runtime:
    seed_domain(rt, None)
    return rt


def _usccs(bengfa: Path, n: int) -> list[str]:
    return [str(u) for u in source_column(bengfa, "amr.enterprise_registry", "uscc")[:n]]


def test_consent_then_withdrawal_keeps_the_history(people: Runtime, bengfa: Path) -> None:
    rt, staff = people, principal_for(people, "amr-staff")
    uscc = _usccs(bengfa, 1)[0]
    record_consent(rt, staff, subject_type="enterprise", subject_id=uscc, scenario=SCENARIO, operator_code="op1",
                   channel="online")
    assert consenting_subjects(rt, SCENARIO, "op1", "enterprise") == [uscc]
    withdraw_consent(rt, staff, subject_type="enterprise", subject_id=uscc.lower(), scenario=SCENARIO,
                     operator_code="op1", note="企业申请撤回")
    assert consenting_subjects(rt, SCENARIO, "op1", "enterprise") == []
    history = consent_history(rt, principal_for(rt, "auditor"), subject_type="enterprise", subject_id=uscc)
    assert [(h.action, h.channel, h.recorded_by) for h in history] == [
        ("granted", "online", "amr-staff"), ("withdrawn", "counter", "amr-staff")]
    assert uscc not in history[0].subject_masked and history[0].subject_masked.startswith(uscc[:6])
    with pytest.raises(Conflict) as err:
        withdraw_consent(rt, staff, subject_type="enterprise", subject_id=uscc, scenario=SCENARIO,
                         operator_code="op1")
    assert err.value.code == "consent.not_given"
    record_consent(rt, staff, subject_type="enterprise", subject_id=uscc, scenario=SCENARIO, operator_code="op1")
    with pytest.raises(Conflict) as err:
        record_consent(rt, staff, subject_type="enterprise", subject_id=uscc, scenario=SCENARIO, operator_code="op1")
    assert err.value.code == "consent.already_given"
    assert consenting_subjects(rt, SCENARIO, "op1", "enterprise") == [uscc]


def test_consent_is_scoped_to_scenario_and_operator(people: Runtime, bengfa: Path) -> None:
    rt, staff = people, principal_for(people, "amr-staff")
    uscc = _usccs(bengfa, 1)[0]
    record_consent(rt, staff, subject_type="enterprise", subject_id=uscc, scenario=SCENARIO, operator_code="op1")
    assert consenting_subjects(rt, SCENARIO, "op2", "enterprise") == []
    assert consenting_subjects(rt, "另一个场景", "op1", "enterprise") == []
    assert consenting_subjects(rt, SCENARIO, "op1", "person") == []


def test_a_person_consents_by_resident_id(people: Runtime) -> None:
    rt, staff = people, principal_for(people, "hrss-staff")
    rid = resident_id(77)
    record_consent(rt, staff, subject_type="person", subject_id=rid, scenario=SCENARIO, operator_code="op1",
                   channel="paper")
    assert consenting_subjects(rt, SCENARIO, "op1", "person") == [rid]


@pytest.mark.parametrize(("subject_type", "value", "code"), [
    ("person", "330324198001010000", "consent.bad_resident_id"),
    ("enterprise", "91330324MA2ABCDE1X", "consent.bad_credit_code"),
    ("household", "x", "grant.bad_subject_type"),
])
def test_invalid_identifiers_are_refused_and_the_refusal_names_no_identifier(
        people: Runtime, subject_type: str, value: str, code: str) -> None:
    with pytest.raises(InvalidInput) as err:
        record_consent(people, principal_for(people, "amr-staff"), subject_type=subject_type, subject_id=value,
                       scenario=SCENARIO, operator_code="op1")
    assert err.value.code == code and value not in err.value.message.zh
    refused = search(people.store, AuditFilter(action="consent.grant", outcome="refused"))
    assert refused and refused[0].reason == code and value not in refused[0].details


def test_unknown_channel_and_non_operator_are_refused(people: Runtime, bengfa: Path) -> None:
    staff, uscc = principal_for(people, "amr-staff"), _usccs(bengfa, 1)[0]
    with pytest.raises(InvalidInput):
        record_consent(people, staff, subject_type="enterprise", subject_id=uscc, scenario=SCENARIO,
                       operator_code="op1", channel="wechat")
    with pytest.raises(InvalidInput):
        record_consent(people, staff, subject_type="enterprise", subject_id=uscc, scenario=SCENARIO,
                       operator_code="amr")


def test_audit_names_digests_and_counts_never_the_identifier(people: Runtime, bengfa: Path) -> None:
    rt, staff = people, principal_for(people, "amr-staff")
    ids = _usccs(bengfa, 12)
    record_consent(rt, staff, subject_type="enterprise", subject_id=ids[0], scenario=SCENARIO, operator_code="op1")
    result = record_consents(rt, staff, subject_type="enterprise", subject_ids=ids, scenario=SCENARIO,
                             operator_code="op1")
    assert (result.recorded, result.unchanged) == (11, 1)
    records = search(rt.store, AuditFilter(action="consent.", limit=100))
    assert len(records) == 2
    single, batch = (json.loads(r.details) for r in sorted(records, key=lambda r: r.seq))
    assert single["count"] == 1 and single["subject_digest"] == hashlib.sha256(ids[0].encode()).hexdigest()
    assert batch["count"] == 11 and batch["unchanged"] == 1 and len(batch["digest"]) == 64
    for r in search(rt.store, AuditFilter(limit=1000)):
        assert not any(i in r.details or i in r.object_id or i in r.reason for i in ids)


def test_who_may_record_and_read_consent(people: Runtime, bengfa: Path) -> None:
    rt, uscc = people, _usccs(bengfa, 1)[0]
    for user in ("analyst", "opadmin", "auditor"):
        with pytest.raises(PermissionDenied):
            record_consent(rt, principal_for(rt, user), subject_type="enterprise", subject_id=uscc,
                           scenario=SCENARIO, operator_code="op1")
    record_consent(rt, principal_for(rt, "admin"), subject_type="enterprise", subject_id=uscc, scenario=SCENARIO,
                   operator_code="op1")
    with pytest.raises(PermissionDenied):
        list_consents(rt, principal_for(rt, "analyst"))
    assert len(list_consents(rt, principal_for(rt, "opadmin"))) == 1
    assert list_consents(rt, principal_for(rt, "opadmin2")) == []  # another operator's admin sees none
    assert len(list_consents(rt, principal_for(rt, "auditor"), scenario=SCENARIO)) == 1
