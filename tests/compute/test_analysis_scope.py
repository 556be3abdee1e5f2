"""Pass 2 — scope: only the grant's tables and columns, qualified against the granted schema (R4.5a)."""

from __future__ import annotations

import dataclasses

import pytest
from sqlglot import exp

from opdomain.compute.analysis_errors import QueryRefused
from opdomain.compute.analysis_parse import parse_statement
from opdomain.compute.analysis_scope import resolve_scope
from opdomain.compute.policy import GrantPolicy


def scope(sql: str, policy: GrantPolicy) -> exp.Query:
    return resolve_scope(parse_statement(sql), policy)


def refusal(sql: str, policy: GrantPolicy) -> QueryRefused:
    with pytest.raises(QueryRefused) as info:
        scope(sql, policy)
    return info.value


@pytest.mark.parametrize("sql, table", [
    ("SELECT count(*) FROM hrss.secret_salaries", "hrss.secret_salaries"),
    ("SELECT count(*) FROM fin.shareholding_reform", "fin.shareholding_reform"),
    ("SELECT count(*) FROM memory.hrss.insured_employees", "memory.hrss.insured_employees"),
    ("SELECT count(*) FROM system.main.duckdb_settings", "system.main.duckdb_settings"),
    ("SELECT * FROM information_schema.tables", "information_schema.tables"),
    ("SELECT * FROM duckdb_tables", "duckdb_tables"),
    ("SELECT * FROM consent_person", "consent_person"),
    ("SELECT * FROM '/etc/passwd'", "/etc/passwd"),
    ("SELECT * FROM 'data/hrss.parquet'", "data/hrss.parquet"),
])
def test_tables_outside_the_grant_are_refused_with_403(sql: str, table: str, policy: GrantPolicy) -> None:
    error = refusal(sql, policy)
    assert error.code == "query.unknown_table"
    assert error.status == 403
    assert error.details == {"rule": "R4.5a", "table": table}


@pytest.mark.parametrize("sql", [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_parquet('/work/data/*.parquet')",
    "SELECT * FROM glob('/*')",
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM pragma_version()",
    "SELECT * FROM query_table('hrss.insured_employees')",
    "SELECT * FROM range(10)",
])
def test_table_functions_are_refused(sql: str, policy: GrantPolicy) -> None:
    error = refusal(sql, policy)
    assert error.code == "query.function_not_allowed"


@pytest.mark.parametrize("sql, column", [
    ("SELECT secret FROM hrss.insured_employees", "secret"),
    ("SELECT h.bank_card FROM hrss.insured_employees h", "bank_card"),
    ("SELECT count(*) FROM hrss.insured_employees WHERE home_address = 'x'", "home_address"),
])
def test_columns_outside_the_grant_are_refused_with_403(sql: str, column: str, policy: GrantPolicy) -> None:
    error = refusal(sql, policy)
    assert error.code == "query.column_not_granted"
    assert error.status == 403
    assert error.details["column"] == column


def test_a_bare_table_name_resolves_to_the_one_granted_table(policy: GrantPolicy) -> None:
    tree = scope("SELECT count(*) FROM insured_employees", policy)
    table = tree.find(exp.Table)
    assert table is not None and (table.db, table.name) == ("hrss", "insured_employees")


def test_every_column_is_qualified(policy: GrantPolicy) -> None:
    tree = scope(
        "SELECT gender, avg(monthly_wage) FROM hrss.insured_employees h JOIN eit.mu_efficiency USING (uscc) "
        "WHERE honors > 1 GROUP BY gender", policy,
    )
    assert all(col.table for col in tree.find_all(exp.Column))


def test_star_expands_to_granted_columns_only(policy: GrantPolicy) -> None:
    narrowed = dataclasses.replace(policy, tables=tuple(
        dataclasses.replace(t, columns=tuple(c for c in t.columns if c.name != "name"))
        if t.name == "hrss.insured_employees" else t for t in policy.tables
    ))
    tree = scope("SELECT * FROM hrss.insured_employees", narrowed)
    assert isinstance(tree, exp.Select)
    names = [p.alias_or_name for p in tree.expressions]
    assert "name" not in names and "gender" in names
    assert tree.find(exp.Star) is None


def test_star_exclude_is_expanded(policy: GrantPolicy) -> None:
    tree = scope("SELECT * EXCLUDE (person_id) FROM hrss.insured_employees", policy)
    assert isinstance(tree, exp.Select)
    assert "person_id" not in [p.alias_or_name for p in tree.expressions]


def test_columns_expression_is_refused(policy: GrantPolicy) -> None:
    assert refusal("SELECT COLUMNS('.*') FROM hrss.insured_employees", policy).code == "query.function_not_allowed"


def test_order_by_an_output_name_becomes_its_expression(policy: GrantPolicy) -> None:
    tree = scope("SELECT gender, count(*) AS n FROM hrss.insured_employees GROUP BY gender ORDER BY n", policy)
    ordered = tree.args["order"].expressions[0].this
    assert isinstance(ordered, exp.Count)


def test_unnamed_result_columns_get_duckdb_like_names(policy: GrantPolicy) -> None:
    tree = scope("SELECT gender, avg(monthly_wage) FROM hrss.insured_employees GROUP BY gender", policy)
    assert [p.alias_or_name for p in tree.expressions] == ["gender", "avg(monthly_wage)"]


def test_a_cte_may_shadow_a_granted_table_name(policy: GrantPolicy) -> None:
    tree = scope(
        "WITH insured_employees AS (SELECT uscc FROM eit.mu_efficiency) SELECT count(*) FROM insured_employees",
        policy,
    )
    bases = [t for t in tree.find_all(exp.Table) if t.db]
    assert [(t.db, t.name) for t in bases] == [("eit", "mu_efficiency")]
