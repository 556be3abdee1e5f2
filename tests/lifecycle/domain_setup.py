"""Helpers shared by the lifecycle and governed-computation tests: a small 泵阀共富贷 domain.

``bengfa`` generates the scenario once per session; ``seed_domain`` creates the organizations and
users and imports the tables as their own departments' staff (the real ingestion path). A seeded
SQLite domain is built once per session (``seeded_template``) and copied for each test that only
needs one (``domain``), which keeps the suite fast; tests about the records store use ``rt`` and seed
both SQLite and PostgreSQL for real.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from tests.conftest import make_runtime, resident_id, seed_people

from opdomain.audit.log import SYSTEM
from opdomain.catalog.ingest import import_dataset
from opdomain.identity.service import create_organization, create_user, principal_for
from opdomain.lifecycle.grants import GrantView, create_grant
from opdomain.runtime import Runtime
from opdomain.scenarios.descriptors import DEPARTMENTS
from opdomain.scenarios.generate import generate

SCENARIO = "泵阀共富贷融资能力评价"
ENTERPRISES = 120

#: the columns the rating needs (SCENARIO.md): subject keys, indicator inputs; no names, phones or IDs
BENGFA_COLUMNS: dict[str, list[str]] = {
    "amr.enterprise_registry": ["uscc", "registered_capital", "established_on", "is_joint_stock"],
    "amr.certifications": ["uscc", "cert_type", "issued_on"],
    "tax.annual_tax": ["uscc", "year", "total_tax", "tax_credit_grade"],
    "eit.mu_efficiency": ["uscc", "year", "tax_per_mu", "value_added_per_mu", "is_above_scale", "honors"],
    "stats.sales_profit": ["uscc", "year", "sales_revenue", "total_profit", "labor_productivity"],
    "eco.green_lowcarbon": ["uscc", "year", "value_added_per_energy", "env_credit_color"],
    "sci.innovation": ["uscc", "year", "rd_expense", "invention_patents"],
    "hrss.insured_employees": ["uscc", "person_id", "gender", "monthly_wage", "birth_date"],
    "fin.shareholding_reform": ["uscc", "stage"],
}


@pytest.fixture(scope="session")
def bengfa(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated 泵阀共富贷 scenario (120 enterprises), shared read-only."""
    out = tmp_path_factory.mktemp("bengfa")
    generate(out, enterprises=ENTERPRISES, seed=11)
    return out


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory, bengfa: Path) -> Path:
    """A SQLite domain with people and all nine tables imported, built once; copy it, never use it."""
    home = tmp_path_factory.mktemp("template") / "home"
    runtime = make_runtime(home, "sqlite")
    try:
        seed_domain(runtime, bengfa)
    finally:
        runtime.close()
    return home


@pytest.fixture
def domain(tmp_path: Path, seeded_template: Path) -> Iterator[Runtime]:
    """A fresh copy of the seeded SQLite domain."""
    home = tmp_path / "home"
    shutil.copytree(seeded_template, home)
    runtime = make_runtime(home, "sqlite")
    try:
        yield runtime
    finally:
        runtime.close()


def seed_domain(rt: Runtime, scenario: Path | None, *, tables: tuple[str, ...] | None = None) -> dict[str, str]:
    """Organizations and users (all eight departments, a second operator with its analyst), and the
    scenario's tables imported by their own departments' staff. Returns username → password."""
    pw = seed_people(rt, departments=tuple(DEPARTMENTS))
    create_organization(rt, SYSTEM, kind="operator", code="op2", name="运营单位二")
    pw["analyst2"] = "pw-analyst2-0123456789"
    create_user(rt, SYSTEM, username="analyst2", password=pw["analyst2"], real_name="测试分析二",
                resident_id=resident_id(40), phone="13900000040", role="analyst", organization_code="op2")
    pw["opadmin2"] = "pw-opadmin2-0123456789"
    create_user(rt, SYSTEM, username="opadmin2", password=pw["opadmin2"], real_name="测试管理二",
                resident_id=resident_id(41), phone="13900000041", role="operator_admin", organization_code="op2")
    # safe people (R4.1, R4.4b): the analysts are verified, examined and bound by confidentiality
    from opdomain.lifecycle.people import bootstrap_cleared

    for analyst in ("analyst", "analyst2"):
        bootstrap_cleared(rt, SYSTEM, analyst)
    if scenario is None:
        return pw
    for desc in sorted(scenario.glob("*/*.resource.json")):
        meta = json.loads(desc.read_text(encoding="utf-8"))
        if tables is not None and meta["name"] not in tables:
            continue
        import_dataset(rt, principal_for(rt, f"{meta['department']}-staff"), desc)
    return pw


def make_grant(rt: Runtime, *, operator: str = "op1", columns: dict[str, list[str]] | None = None,
               consent: tuple[str, ...] = (), k: int = 10, starts_on: date | None = None,
               ends_on: date | None = None) -> GrantView:
    """A grant through the bootstrap path (``create_grant`` without an application): a fixture for the
    tests of later capabilities; the authorization process itself is tested in test_process_*.py."""
    start = starts_on or date.today() - timedelta(days=1)
    return create_grant(rt, principal_for(rt, "admin"), operator_code=operator, scenario=SCENARIO,
                        domain_area="普惠金融", columns=columns or BENGFA_COLUMNS, starts_on=start,
                        ends_on=ends_on or start + timedelta(days=700), k=k, consent_subjects=consent)


def source_column(scenario: Path, dataset: str, column: str) -> list[object]:
    dept, table = dataset.split(".")
    return pq.read_table(scenario / dept / f"{table}.parquet", columns=[column]).column(column).to_pylist()
