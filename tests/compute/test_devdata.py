"""Dev environment data (开发环境, R4.4d; R4.2b): sampled by data subject, masked, pseudonyms consistent
within a grant and different across grants, no original identifier in the copy, joins kept."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pytest

from opdomain.audit.query import AuditFilter, search
from opdomain.catalog.ingest import read_version
from opdomain.compute.devdata import build_dev_data, list_builds, read_dev_tables
from opdomain.errors import PermissionDenied
from opdomain.identity.service import principal_for
from opdomain.lifecycle.consent import record_consents
from opdomain.lifecycle.grants import pseudonym_key
from opdomain.privacy.masking import pseudonym
from opdomain.runtime import Runtime
from tests.lifecycle import domain_setup
from tests.lifecycle.domain_setup import ENTERPRISES, SCENARIO, make_grant, source_column

#: fixtures shared with the lifecycle tests
bengfa, seeded_template, domain = domain_setup.bengfa, domain_setup.seeded_template, domain_setup.domain

WIDE = {  # also the identifying columns, to prove they are masked in the dev copy
    "amr.enterprise_registry": ["uscc", "name", "legal_rep_name", "legal_rep_id", "phone", "address",
                                "registered_capital", "established_on"],
    "hrss.insured_employees": ["uscc", "person_id", "name", "birth_date", "gender", "monthly_wage"],
    "stats.sales_profit": ["uscc", "sales_revenue", "labor_productivity"],
    "eit.mu_efficiency": ["uscc", "honors", "is_above_scale"],
}


def _build(rt: Runtime, columns=None, consent=()):  # type: ignore[no-untyped-def]
    g = make_grant(rt, columns=columns or WIDE, consent=consent)
    build = build_dev_data(rt, principal_for(rt, "analyst"), g.id)
    return g, build, read_dev_tables(rt, g.id)[1]


def test_pseudonyms_are_the_same_across_tables_of_one_grant(domain: Runtime) -> None:
    g, _, dev = _build(domain)
    registry = set(dev["amr.enterprise_registry"].column("uscc").to_pylist())
    assert all(u.startswith("E_") for u in registry)
    assert set(dev["stats.sales_profit"].column("uscc").to_pylist()) == registry
    assert set(dev["hrss.insured_employees"].column("uscc").to_pylist()) <= registry
    assert all(p.startswith("P_") for p in dev["hrss.insured_employees"].column("person_id").to_pylist())
    # the pseudonym is the grant-keyed HMAC of the real credit code
    key = pseudonym_key(domain, g.id)
    real = {pseudonym(str(u), key, "E_")
            for u in read_version(domain, "amr.enterprise_registry").column("uscc").to_pylist()}
    assert registry <= real


def test_pseudonyms_differ_across_grants(domain: Runtime) -> None:
    _, _, dev_a = _build(domain)
    _, _, dev_b = _build(domain)
    a = set(dev_a["amr.enterprise_registry"].column("uscc").to_pylist())
    b = set(dev_b["amr.enterprise_registry"].column("uscc").to_pylist())
    assert a and b and not a & b
    pa_, pb = (set(d["hrss.insured_employees"].column("person_id").to_pylist()) for d in (dev_a, dev_b))
    assert not pa_ & pb


def test_no_original_identifier_value_is_in_the_dev_copy(domain: Runtime, bengfa: Path) -> None:
    _, build, dev = _build(domain)
    originals: set[str] = set()
    for dataset, cols in (("amr.enterprise_registry", ["uscc", "name", "legal_rep_name", "legal_rep_id", "phone",
                                                       "address"]),
                          ("hrss.insured_employees", ["uscc", "person_id", "name"])):
        for c in cols:
            originals |= {str(v) for v in source_column(bengfa, dataset, c)}
    seen = {str(v) for t in dev.values() for c in t.column_names for v in t.column(c).to_pylist()}
    assert not originals & seen
    names = dev["hrss.insured_employees"].column("name").to_pylist()
    assert all("*" in n for n in names)  # 张** — surname kept, given name starred
    phones = dev["amr.enterprise_registry"].column("phone").to_pylist()
    assert all(p[3:7] == "****" for p in phones)
    # and the stored files are ciphertext: no pseudonym can be read from the disk
    blob = b"".join(p.read_bytes() for p in (domain.settings.data_dir / "grants").rglob("*.enc"))
    assert blob and next(iter(dev["amr.enterprise_registry"].column("uscc").to_pylist())).encode() not in blob
    assert build.manifest["tables"]["amr.enterprise_registry"]["masks"]["legal_rep_id"] == "pseudonym"


def test_sampling_keeps_every_row_of_a_sampled_enterprise_so_joins_match(domain: Runtime) -> None:
    g, build, dev = _build(domain)
    expected = max(math.ceil(0.1 * ENTERPRISES), 50)
    assert build.manifest["sample"]["subjects"]["enterprise"] == {
        "population": ENTERPRISES, "sampled": expected, "consent_only": False,
        "tables": sorted(WIDE)}
    key = pseudonym_key(domain, g.id)
    source = read_version(domain, "hrss.insured_employees")
    per_enterprise = Counter(pseudonym(str(u), key, "E_") for u in source.column("uscc").to_pylist())
    sampled = set(dev["amr.enterprise_registry"].column("uscc").to_pylist())
    assert len(sampled) == expected
    dev_counts = Counter(dev["hrss.insured_employees"].column("uscc").to_pylist())
    assert dev_counts == Counter({p: n for p, n in per_enterprise.items() if p in sampled})


def test_values_are_masked_by_grade_and_keep_their_types(domain: Runtime, bengfa: Path) -> None:
    g, _, dev = _build(domain)
    key = pseudonym_key(domain, g.id)
    src = read_version(domain, "hrss.insured_employees").to_pylist()
    by_pseudonym = {pseudonym(r["person_id"], key, "P_"): r for r in src}
    for row in dev["hrss.insured_employees"].to_pylist():
        real = by_pseudonym[row["person_id"]]
        assert row["birth_date"] == real["birth_date"].replace(month=1, day=1)  # L4 date → year
        assert abs(row["monthly_wage"] - real["monthly_wage"]) <= 0.2 * real["monthly_wage"] + 0.01  # L4 ±20 %
        assert row["gender"] == real["gender"]  # L2: clear
    eit = dev["eit.mu_efficiency"]
    assert str(eit.schema.field("honors").type) == "int64"  # integers stay integers
    revenue = dev["stats.sales_profit"].column("sales_revenue").to_pylist()
    assert all(round(v, 2) == v for v in revenue)


def test_rebuild_draws_the_same_sample_and_shreds_the_old_copy(domain: Runtime) -> None:
    g, first, dev1 = _build(domain)
    second = build_dev_data(domain, principal_for(domain, "analyst"), g.id)
    dev2 = read_dev_tables(domain, g.id)[1]
    assert second.id != first.id
    assert set(dev1["amr.enterprise_registry"].column("uscc").to_pylist()) == \
        set(dev2["amr.enterprise_registry"].column("uscc").to_pylist())
    statuses = {b.id: b.status for b in list_builds(domain, g.id)}
    assert statuses == {first.id: "superseded", second.id: "ready"}
    assert not (domain.settings.data_dir / "grants" / g.id / "dev" / first.id).exists()


def test_with_consent_required_only_consenting_enterprises_are_sampled(domain: Runtime, bengfa: Path) -> None:
    usccs = [str(u) for u in source_column(bengfa, "amr.enterprise_registry", "uscc")]
    record_consents(domain, principal_for(domain, "amr-staff"), subject_type="enterprise", subject_ids=usccs[:70],
                    scenario=SCENARIO, operator_code="op1")
    g, build, dev = _build(domain, consent=("enterprise",))
    assert build.manifest["sample"]["subjects"]["enterprise"]["population"] == 70
    key = pseudonym_key(domain, g.id)
    allowed = {pseudonym(u, key, "E_") for u in usccs[:70]}
    assert set(dev["hrss.insured_employees"].column("uscc").to_pylist()) <= allowed


def test_only_the_grants_analysts_build_and_the_build_is_audited(domain: Runtime) -> None:
    g = make_grant(domain, columns=WIDE)
    with pytest.raises(PermissionDenied):
        build_dev_data(domain, principal_for(domain, "analyst2"), g.id)
    with pytest.raises(PermissionDenied):
        build_dev_data(domain, principal_for(domain, "opadmin"), g.id)
    build_dev_data(domain, principal_for(domain, "admin"), g.id)  # the authority may (grant.manage)
    rec = search(domain.store, AuditFilter(action="devdata.build", outcome="allowed"))
    assert rec and rec[0].grant_id == g.id and '"sampled": 50' in rec[0].details
    refused = search(domain.store, AuditFilter(outcome="refused"))
    assert {(r.actor, r.action, r.reason) for r in refused} == {
        ("analyst2", "devdata.build", "workspace.other_operator"),  # another operator's grant
        ("opadmin", "workspace.use", "auth.permission_denied")}  # not an analyst
