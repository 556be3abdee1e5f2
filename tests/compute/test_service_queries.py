"""Governed queries through the service (R1.1a, R4.2b, R4.4c, R4.5a, R5.1a): real numbers on real data,
the consent filter, k suppression, differencing, access, and the audit and history of every query."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import select

from opdomain.audit.query import AuditFilter, search
from opdomain.catalog.ingest import import_dataset
from opdomain.compute import service
from opdomain.compute.analysis_errors import QueryRefused
from opdomain.compute.devdata import build_dev_data
from opdomain.compute.models import QueryHistoryEntry, QueryRecord
from opdomain.compute.service import list_queries, run_query
from opdomain.errors import InvalidInput, NotFound, PermissionDenied
from opdomain.identity.service import principal_for
from opdomain.lifecycle.consent import record_consents, withdraw_consent
from opdomain.lifecycle.grants import pseudonym_key, suspend_grant
from opdomain.privacy.masking import pseudonym
from opdomain.runtime import Runtime
from tests.lifecycle import domain_setup
from tests.lifecycle.domain_setup import SCENARIO, make_grant, seed_domain, source_column

#: fixtures shared with the lifecycle tests
bengfa, seeded_template, domain = domain_setup.bengfa, domain_setup.seeded_template, domain_setup.domain

BY_SCALE = ("SELECT e.is_above_scale AS above, count(*) AS n, avg(s.sales_revenue) AS mean_revenue "
            "FROM eit.mu_efficiency e JOIN stats.sales_profit s ON e.uscc = s.uscc GROUP BY 1 ORDER BY 1")


def _source(bengfa: Path, sql: str) -> list[tuple[object, ...]]:
    """The reference answer, computed straight from the provider files (outside the product)."""
    con = duckdb.connect()
    for dept, table in (("eit", "mu_efficiency"), ("stats", "sales_profit"), ("tax", "annual_tax")):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {dept}")
        con.execute(f"CREATE TABLE {dept}.{table} AS SELECT * FROM read_parquet('{bengfa / dept / table}.parquet')")
    return con.execute(sql).fetchall()


def test_domain_query_returns_the_real_aggregates(domain: Runtime, bengfa: Path) -> None:
    g = make_grant(domain)
    r = run_query(domain, principal_for(domain, "analyst"), g.id, BY_SCALE, "domain")
    assert r["columns"] == ["above", "n", "mean_revenue"] and not r["truncated"]
    expected = _source(bengfa, BY_SCALE)
    assert [row[:2] for row in r["rows"]] == [list(row[:2]) for row in expected]
    assert [row[2] for row in r["rows"]] == pytest.approx([float(row[2]) for row in expected], rel=1e-9)
    assert r["row_count"] == 2 and any("k=10" in d for d in r["decisions"])


def test_groups_below_k_enterprises_are_suppressed(domain: Runtime, bengfa: Path) -> None:
    g = make_grant(domain)
    sql = "SELECT tax_credit_grade, count(*) AS n FROM tax.annual_tax GROUP BY 1 ORDER BY 1"
    expected = {grade: n for grade, n in _source(bengfa, sql)}
    assert any(n < 10 for n in expected.values())  # the scenario has rare grades: the test can fail
    r = run_query(domain, principal_for(domain, "analyst"), g.id, sql, "domain")
    assert {grade: n for grade, n in r["rows"]} == {grade: n for grade, n in expected.items() if n >= 10}


def test_consent_filter_counts_only_consenting_enterprises_and_a_withdrawal_takes_effect(
        domain: Runtime, bengfa: Path) -> None:
    usccs = [str(u) for u in source_column(bengfa, "stats.sales_profit", "uscc")]
    staff, analyst = principal_for(domain, "amr-staff"), principal_for(domain, "analyst")
    record_consents(domain, staff, subject_type="enterprise", subject_ids=usccs[:100], scenario=SCENARIO,
                    operator_code="op1")
    g = make_grant(domain, consent=("enterprise",))
    count = "SELECT count(*) AS n FROM stats.sales_profit"
    assert run_query(domain, analyst, g.id, count, "domain")["rows"] == [[100]]
    build_dev_data(domain, analyst, g.id)
    dev_before = run_query(domain, analyst, g.id, "SELECT uscc FROM stats.sales_profit", "dev")["rows"]
    key = pseudonym_key(domain, g.id)
    sampled = next(u for u in usccs[:100] if [pseudonym(u, key, "E_")] in dev_before)

    withdraw_consent(domain, staff, subject_type="enterprise", subject_id=sampled, scenario=SCENARIO,
                     operator_code="op1")
    assert run_query(domain, analyst, g.id, count, "domain")["rows"] == [[99]]
    dev_after = run_query(domain, analyst, g.id, "SELECT uscc FROM stats.sales_profit", "dev")["rows"]
    assert len(dev_after) == len(dev_before) - 1 and [pseudonym(sampled, key, "E_")] not in dev_after


def test_identifier_output_is_refused_with_a_reason_and_audited(rt: Runtime, bengfa: Path) -> None:
    seed_domain(rt, bengfa, tables=("hrss.insured_employees",))
    g = make_grant(rt, columns={"hrss.insured_employees": ["uscc", "person_id", "gender", "monthly_wage"]})
    sql = "SELECT person_id, count(*) FROM hrss.insured_employees GROUP BY person_id"
    with pytest.raises(QueryRefused) as err:
        run_query(rt, principal_for(rt, "analyst"), g.id, sql, "domain")
    assert err.value.status == 422 and err.value.code == "query.identifier_in_output"
    assert "person_id" in err.value.message.zh and "person_id" in err.value.message.en
    rec = search(rt.store, AuditFilter(action="query.run", outcome="refused"))[0]
    details = json.loads(rec.details)
    assert rec.reason == "query.identifier_in_output" and rec.grant_id == g.id
    assert details["rule"] == err.value.details["rule"] and len(details["sql_sha256"]) == 64
    assert sql not in rec.details  # the audit names the SQL by its digest
    with rt.store.session() as s:
        row = s.scalars(select(QueryRecord)).one()
    assert (row.status, row.refusal_code, row.sql, row.rows) == ("refused", "query.identifier_in_output", sql, 0)


def test_accepted_query_is_logged_and_audited_without_values(rt: Runtime, bengfa: Path) -> None:
    seed_domain(rt, bengfa, tables=("hrss.insured_employees",))
    g = make_grant(rt, columns={"hrss.insured_employees": ["uscc", "person_id", "gender", "monthly_wage"]})
    sql = "SELECT gender, count(*) AS n, avg(monthly_wage) AS mean_wage FROM hrss.insured_employees GROUP BY 1"
    r = run_query(rt, principal_for(rt, "analyst"), g.id, sql, "domain")
    rec = search(rt.store, AuditFilter(action="query.run", outcome="allowed"))[0]
    details = json.loads(rec.details)
    assert rec.object_id == r["query_id"] and rec.grant_id == g.id and rec.actor == "analyst"
    assert details["rows"] == r["row_count"] and details["tables"] == ["hrss.insured_employees"]
    assert "hrss.insured_employees.monthly_wage" in details["columns"] and details["decisions"]
    for row in r["rows"]:  # no result value in the audit record
        assert str(row[1]) not in rec.details and f"{row[2]}"[:8] not in rec.details
    history = list_queries(rt, principal_for(rt, "analyst"), g.id)
    assert [(q.id, q.status, q.environment, q.rows) for q in history] == [(r["query_id"], "ok", "domain", 2)]
    with rt.store.session() as s:
        entry = json.loads(s.scalars(select(QueryHistoryEntry.entry)).one())
    assert entry["query_id"] == r["query_id"] and entry["tables"] == ["hrss.insured_employees"]


def test_another_operators_analyst_is_refused_and_audited(domain: Runtime) -> None:
    g = make_grant(domain)
    with pytest.raises(PermissionDenied) as err:
        run_query(domain, principal_for(domain, "analyst2"), g.id, BY_SCALE, "domain")
    assert err.value.code == "workspace.other_operator" and err.value.status == 403
    rec = search(domain.store, AuditFilter(action="query.run", outcome="refused"))[0]
    assert (rec.actor, rec.reason, rec.grant_id) == ("analyst2", "workspace.other_operator", g.id)
    with pytest.raises(PermissionDenied):  # an operator admin holds no workspace.use
        run_query(domain, principal_for(domain, "opadmin"), g.id, BY_SCALE, "domain")


def test_suspended_grant_refuses_queries(domain: Runtime) -> None:
    g = make_grant(domain)
    suspend_grant(domain, principal_for(domain, "admin"), g.id, reason="整改")
    with pytest.raises(PermissionDenied) as err:
        run_query(domain, principal_for(domain, "analyst"), g.id, BY_SCALE, "domain")
    assert err.value.code == "workspace.grant_not_active"


def test_repeated_queries_differing_by_a_few_subjects_are_refused(domain: Runtime, bengfa: Path) -> None:
    g = make_grant(domain)
    analyst = principal_for(domain, "analyst")
    join = ("SELECT h.gender, avg(h.monthly_wage) AS w FROM hrss.insured_employees h "
            "JOIN stats.sales_profit s ON h.uscc = s.uscc")
    run_query(domain, analyst, g.id, join + " GROUP BY h.gender", "domain")
    # the same, without the one enterprise of the highest labour productivity: the difference of the two
    # answers would be that enterprise's employees' wages
    top = max(float(v) for v in source_column(bengfa, "stats.sales_profit", "labor_productivity"))
    with pytest.raises(QueryRefused) as err:
        run_query(domain, analyst, g.id, join + f" WHERE s.labor_productivity < {top} GROUP BY h.gender", "domain")
    assert err.value.code == "query.differencing" and err.value.details["subject_type"] == "enterprise"
    statuses = Counter(q.status for q in list_queries(domain, analyst, g.id))
    assert statuses == Counter({"ok": 1, "refused": 1})


def test_dev_queries_show_rows_of_the_masked_copy_only(domain: Runtime) -> None:
    g = make_grant(domain)
    analyst = principal_for(domain, "analyst")
    with pytest.raises(NotFound) as err:
        run_query(domain, analyst, g.id, "SELECT * FROM stats.sales_profit", "dev")
    assert err.value.code == "devdata.not_built"
    build_dev_data(domain, analyst, g.id)
    r = run_query(domain, analyst, g.id, "SELECT uscc, sales_revenue FROM stats.sales_profit", "dev")
    assert r["row_count"] == 50 and all(row[0].startswith("E_") for row in r["rows"])


def test_unknown_environment_and_ungranted_column(domain: Runtime) -> None:
    g = make_grant(domain)
    analyst = principal_for(domain, "analyst")
    with pytest.raises(InvalidInput) as err:
        run_query(domain, analyst, g.id, BY_SCALE, "production")
    assert err.value.code == "query.bad_environment"
    with pytest.raises(QueryRefused) as refused:
        run_query(domain, analyst, g.id, "SELECT count(DISTINCT name) FROM hrss.insured_employees", "domain")
    assert (refused.value.code, refused.value.status) == ("query.column_not_granted", 403)


def test_decrypted_tables_are_cached_per_version(domain: Runtime, bengfa: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    service.TABLE_CACHE.clear()
    calls: list[str] = []
    real = service.read_version

    def counting(rt, dataset):  # type: ignore[no-untyped-def]
        calls.append(dataset)
        return real(rt, dataset)

    monkeypatch.setattr(service, "read_version", counting)
    g = make_grant(domain)
    analyst = principal_for(domain, "analyst")
    first = run_query(domain, analyst, g.id, BY_SCALE, "domain")
    run_query(domain, analyst, g.id, BY_SCALE, "domain")
    assert sorted(calls) == ["eit.mu_efficiency", "stats.sales_profit"]
    import_dataset(domain, principal_for(domain, "stats-staff"), bengfa / "stats" / "sales_profit.resource.json")
    again = run_query(domain, analyst, g.id, BY_SCALE, "domain")  # a new version is read, never a stale one
    assert calls.count("stats.sales_profit") == 2 and again["rows"] == first["rows"]


def test_an_engine_error_on_real_data_does_not_echo_a_value(domain: Runtime) -> None:
    """DuckDB's conversion errors quote the failing value: in the dev copy the analyst sees it (masked
    data helps debugging); on real data casts run as TRY_CAST, so no error can quote a raw value."""
    g = make_grant(domain)
    analyst = principal_for(domain, "analyst")
    sql = "SELECT count(*) AS n, sum(CAST(tax_credit_grade AS INTEGER)) AS s FROM tax.annual_tax"
    build_dev_data(domain, analyst, g.id)
    with pytest.raises(QueryRefused) as dev:
        run_query(domain, analyst, g.id, sql, "dev")
    assert dev.value.code == "query.engine_error" and "Could not convert string" in dev.value.message.en
    real = run_query(domain, analyst, g.id, sql, "domain")
    assert real["columns"] == ["n", "s"] and real["rows"][0][1] is None
    assert not any(grade in str(real) for grade in ("'A'", "'B'", "'M'"))
