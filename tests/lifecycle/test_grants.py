"""Grants (授权): creation rules R1.1c (forbidden data), R3.9a (term ≤ 3 years), R1.5a/R1.6a (scenario,
domain area); the per-grant pseudonym key stored only wrapped; who sees which grant."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.lifecycle.domain_setup import BENGFA_COLUMNS, SCENARIO, make_grant, seed_domain

from opdomain.audit.query import AuditFilter, search
from opdomain.catalog.service import mark_forbidden
from opdomain.errors import InvalidInput, NotFound, PermissionDenied
from opdomain.identity.service import principal_for
from opdomain.lifecycle.grants import create_grant, get_grant, list_grants, pseudonym_key
from opdomain.lifecycle.models import Grant
from opdomain.lifecycle.policy import add_years, three_year_term
from opdomain.runtime import Runtime

HRSS_AMR = ("hrss.insured_employees", "amr.enterprise_registry")


@pytest.fixture
def small(rt: Runtime, bengfa: Path) -> Runtime:
    """Both records backends, with two of the scenario's tables imported."""
    seed_domain(rt, bengfa, tables=HRSS_AMR)
    return rt


def _create(rt: Runtime, **overrides):  # type: ignore[no-untyped-def]
    start = date.today()
    args = dict(operator_code="op1", scenario=SCENARIO, domain_area="普惠金融",
                columns={"hrss.insured_employees": ["gender", "monthly_wage"]},
                starts_on=start, ends_on=start + timedelta(days=365), k=10, consent_subjects=("enterprise",))
    args.update(overrides)
    return create_grant(rt, principal_for(rt, "admin"), **args)  # type: ignore[arg-type]


def test_authority_creates_a_grant_and_subject_columns_are_kept_for_counting(small: Runtime) -> None:
    g = _create(small)
    assert g.status == "active" and g.effective_status == "active" and g.k == 10
    assert g.consent_subjects == ("enterprise",)
    shown = g.to_dict()
    assert shown["columns"] == {"hrss.insured_employees": ["gender", "monthly_wage"]}
    # the subject keys were not asked for, but the analysis rule needs them to count subjects
    assert shown["counting_columns"] == {"hrss.insured_employees": ["uscc", "person_id"]}
    assert set(g.columns_of("hrss.insured_employees")) == {"uscc", "person_id", "gender", "monthly_wage"}
    rec = search(small.store, AuditFilter(action="grant.create", outcome="allowed"))
    assert rec and rec[0].grant_id == g.id and rec[0].actor == "admin"


def test_forbidden_dataset_cannot_be_granted(small: Runtime) -> None:
    mark_forbidden(small, principal_for(small, "hrss-staff"), "hrss.insured_employees",
                   category="personal_or_trade_secret", reason="个人社保明细")
    with pytest.raises(InvalidInput) as err:
        _create(small)
    assert err.value.code == "grant.forbidden_dataset" and "forbidden" in err.value.message.en
    refused = search(small.store, AuditFilter(action="grant.create", outcome="refused"))
    assert refused and refused[0].reason == "grant.forbidden_dataset"
    with small.store.session() as s:
        assert s.scalars(select(Grant)).all() == []


def test_term_longer_than_three_years_is_refused(small: Runtime) -> None:
    start = date(2024, 2, 29)
    with pytest.raises(InvalidInput) as err:
        _create(small, starts_on=start, ends_on=add_years(start, 3) + timedelta(days=1))
    assert err.value.code == "grant.term_too_long" and "3" in err.value.message.zh
    start, end = three_year_term(date(2024, 2, 29))
    assert end == date(2027, 2, 27)
    assert _create(small, starts_on=start, ends_on=end).ends_on == end


def test_term_must_end_after_it_starts(srt: Runtime, bengfa: Path) -> None:
    seed_domain(srt, bengfa, tables=HRSS_AMR)
    with pytest.raises(InvalidInput) as err:
        _create(srt, starts_on=date(2025, 1, 1), ends_on=date(2025, 1, 1))
    assert err.value.code == "grant.bad_term"


@pytest.mark.parametrize(("columns", "code"), [
    ({"hrss.insured_employees": ["gender", "salary"]}, "grant.unknown_column"),
    ({"tax.annual_tax": ["total_tax"]}, "grant.unknown_dataset"),  # not imported here
    ({"hrss.insured_employees": []}, "grant.no_columns"),
    ({}, "grant.no_columns"),
])
def test_unknown_datasets_and_columns_are_refused(srt: Runtime, bengfa: Path, columns, code) -> None:  # type: ignore[no-untyped-def]
    seed_domain(srt, bengfa, tables=HRSS_AMR)
    with pytest.raises(InvalidInput) as err:
        _create(srt, columns=columns)
    assert err.value.code == code
    assert search(srt.store, AuditFilter(action="grant.create", outcome="refused"))[0].reason == code


@pytest.mark.parametrize(("overrides", "code"), [
    ({"k": 1}, "grant.bad_k"),
    ({"domain_area": "房地产"}, "grant.bad_domain_area"),
    ({"scenario": "  "}, "grant.scenario_required"),
    ({"consent_subjects": ("household",)}, "grant.bad_subject_type"),
    ({"operator_code": "amr"}, "grant.not_an_operator"),
])
def test_other_grant_rules(srt: Runtime, bengfa: Path, overrides, code) -> None:  # type: ignore[no-untyped-def]
    seed_domain(srt, bengfa, tables=HRSS_AMR)
    with pytest.raises(InvalidInput) as err:
        _create(srt, **overrides)
    assert err.value.code == code


def test_unknown_operator_is_refused(srt: Runtime, bengfa: Path) -> None:
    seed_domain(srt, bengfa, tables=HRSS_AMR)
    with pytest.raises(NotFound) as err:
        _create(srt, operator_code="nobody")
    assert err.value.code == "grant.unknown_operator"


def test_only_the_authority_creates_grants(srt: Runtime, bengfa: Path) -> None:
    seed_domain(srt, bengfa, tables=HRSS_AMR)
    for user in ("analyst", "opadmin", "hrss-staff", "auditor"):
        with pytest.raises(PermissionDenied):
            create_grant(srt, principal_for(srt, user), operator_code="op1", scenario=SCENARIO,
                         domain_area="普惠金融", columns={"hrss.insured_employees": ["gender"]},
                         starts_on=date.today(), ends_on=date.today() + timedelta(days=30))
    refused = search(srt.store, AuditFilter(action="grant.create", outcome="refused"))
    assert {r.actor for r in refused} == {"analyst", "opadmin", "hrss-staff", "auditor"}


def test_pseudonym_key_is_stored_only_wrapped_and_differs_per_grant(small: Runtime) -> None:
    a, b = _create(small), _create(small)
    key_a, key_b = pseudonym_key(small, a.id), pseudonym_key(small, b.id)
    assert len(key_a) == 64 and key_a != key_b
    with small.store.session() as s:
        wrapped = s.get(Grant, a.id).wrapped_pseudonym_key  # type: ignore[union-attr]
    assert wrapped is not None and bytes.fromhex(key_a) not in wrapped
    # the key appears in no audit record
    assert all(key_a not in r.details for r in search(small.store, AuditFilter(limit=1000)))


def test_operator_staff_see_only_their_own_organizations_grants(srt: Runtime, bengfa: Path) -> None:
    seed_domain(srt, bengfa, tables=HRSS_AMR)
    mine = _create(srt)
    theirs = _create(srt, operator_code="op2")
    assert {g.id for g in list_grants(srt, principal_for(srt, "analyst"))} == {mine.id}
    assert {g.id for g in list_grants(srt, principal_for(srt, "opadmin2"))} == {theirs.id}
    assert {g.id for g in list_grants(srt, principal_for(srt, "auditor"))} == {mine.id, theirs.id}
    with pytest.raises(PermissionDenied) as err:
        get_grant(srt, principal_for(srt, "analyst"), theirs.id)
    assert err.value.code == "grant.other_operator"
    refused = search(srt.store, AuditFilter(action="grant.read", outcome="refused"))
    assert refused and refused[0].actor == "analyst" and refused[0].grant_id == theirs.id
    with pytest.raises(PermissionDenied):  # providers hold no grant.read
        list_grants(srt, principal_for(srt, "amr-staff"))


def test_bengfa_grant_opens_the_rating_columns_but_no_names_phones_or_ids(domain: Runtime) -> None:
    g = make_grant(domain, consent=("enterprise",))
    granted = {(c.dataset, c.column) for c in g.columns}
    assert ("amr.enterprise_registry", "legal_rep_id") not in granted
    assert ("amr.enterprise_registry", "phone") not in granted
    assert ("hrss.insured_employees", "name") not in granted
    assert set(g.datasets) == set(BENGFA_COLUMNS)
