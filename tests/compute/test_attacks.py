"""A curious analyst attacks the aggregation rule; every attack is refused or its rows suppressed.

Rules R1.1a (raw data never leaves the domain), R1.1b (personal information and trade secrets),
R4.2b (desensitized or consented only), R4.4c (raw data invisible to processing staff). Every case
runs for real in the locked engine on the fixture data (tests/compute/conftest.py): ``code`` cases
must be refused with that stable code before anything runs; ``suppressed`` cases run and must return
no row that the k rule would not allow.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from opdomain.compute.analysis_differencing import HistoryEntry, check_differencing, history_entry
from opdomain.compute.analysis_errors import QueryRefused

from .conftest import Governed

H = "hrss.insured_employees"
E = "eit.mu_efficiency"
S = "stats.sales_profit"
R = "amr.enterprise_registry"
SUPPRESSED = "suppressed"
HARMLESS = "harmless"  # runs; nothing to suppress


@dataclass(frozen=True)
class Attack:
    name: str
    sql: str
    expect: str  # a refusal code, or SUPPRESSED (the query runs and returns no row)


ATTACKS = [
    # -- raw rows --------------------------------------------------------------------------------
    Attack("all rows", f"SELECT * FROM {H}", "query.not_aggregated"),
    Attack("one column of rows", f"SELECT monthly_wage FROM {H}", "query.not_aggregated"),
    Attack("rows through a CTE", f"WITH x AS (SELECT * FROM {H}) SELECT gender, monthly_wage FROM x",
           "query.not_aggregated"),
    Attack("rows joined to an aggregate",
           f"SELECT t.n, s.total_profit FROM (SELECT count(*) AS n FROM {H}) t, {S} s", "query.not_aggregated"),
    Attack("per-enterprise values out of a subquery",
           f"SELECT n FROM (SELECT uscc, count(*) AS n FROM {H} GROUP BY uscc) t", "query.not_aggregated"),
    Attack("DISTINCT of an L4 column", f"SELECT DISTINCT monthly_wage FROM {H}", "query.sensitive_in_output"),
    Attack("DISTINCT of names", f"SELECT DISTINCT name FROM {R}", SUPPRESSED),
    Attack("group by an enterprise's L2 value", f"SELECT tax_per_mu, count(*) FROM {E} GROUP BY 1", SUPPRESSED),
    Attack("group by an enterprise's L3 value", f"SELECT total_profit, count(*) FROM {S} GROUP BY 1", SUPPRESSED),
    # -- identifiers -------------------------------------------------------------------------------
    Attack("identifier as group", f"SELECT person_id, count(*) FROM {H} GROUP BY 1", "query.identifier_in_output"),
    Attack("enterprise code as group", f"SELECT uscc, avg(monthly_wage) FROM {H} GROUP BY 1",
           "query.identifier_in_output"),
    Attack("region prefix of resident ids", f"SELECT left(person_id, 6), count(*) FROM {H} GROUP BY 1",
           "query.identifier_in_output"),
    Attack("birth year out of resident ids", f"SELECT substr(person_id, 7, 4) AS y, count(*) FROM {H} GROUP BY 1",
           "query.identifier_in_output"),
    Attack("identifier cast to a number", f"SELECT CAST(right(person_id, 1) AS INT) % 2, count(*) FROM {H} GROUP BY 1",
           "query.identifier_in_output"),
    Attack("upper-cased names", f"SELECT upper(name), count(*) FROM {H} GROUP BY 1", "query.identifier_in_output"),
    Attack("legal representative's phone", f"SELECT phone, count(*) FROM {R} GROUP BY 1",
           "query.identifier_in_output"),
    Attack("one person by id", f"SELECT avg(monthly_wage) FROM {H} WHERE person_id = '330324197001010000'",
           "query.identifier_filter"),
    Attack("one person by name", f"SELECT avg(monthly_wage) FROM {H} WHERE name = '员工0'", "query.identifier_filter"),
    Attack("id range", f"SELECT avg(monthly_wage) FROM {H} WHERE person_id BETWEEN '3303241970' AND '3303241971'",
           "query.identifier_filter"),
    Attack("one enterprise by code", f"SELECT count(*) FROM {H} WHERE uscc = '91330324MA0000000X'",
           "query.identifier_filter"),
    Attack("id test hidden in CASE", f"SELECT sum(CASE WHEN name = '员工0' THEN monthly_wage END) FROM {H}",
           "query.identifier_filter"),
    Attack("id test hidden in FILTER", f"SELECT avg(monthly_wage) FILTER (WHERE person_id LIKE '%0000') FROM {H}",
           "query.identifier_filter"),
    Attack("join on mismatched identifiers", f"SELECT count(*) FROM {R} r JOIN {H} h ON r.uscc = h.person_id",
           "query.identifier_filter"),
    Attack("identifier in a computed count", f"SELECT count(DISTINCT left(person_id, 6)) FROM {H}",
           "query.identifier_expression"),
    # -- small groups ------------------------------------------------------------------------------
    Attack("the top earner by threshold", f"SELECT avg(monthly_wage) FROM {H} WHERE monthly_wage > 200000", SUPPRESSED),
    Attack("one birthday", f"SELECT avg(monthly_wage) FROM {H} WHERE birth_date = DATE '1965-01-01'", SUPPRESSED),
    Attack("one enterprise by an extreme L2 value",
           f"SELECT avg(total_profit) FROM {S} WHERE labor_productivity = (SELECT max(labor_productivity) FROM {S})",
           SUPPRESSED),
    Attack("one enterprise by its L3 value",
           f"SELECT avg(total_profit) FROM {S} WHERE sales_revenue > 58600000",
           SUPPRESSED),
    Attack("one enterprise through IN",
           f"SELECT count(*), avg(monthly_wage) FROM {H} WHERE uscc IN "
           f"(SELECT uscc FROM {E} WHERE tax_per_mu = (SELECT min(tax_per_mu) FROM {E}))", SUPPRESSED),
    Attack("rows repeated by a self join",
           f"SELECT avg(h.monthly_wage), count(*) FROM {H} h JOIN {H} x ON h.uscc = x.uscc "
           "WHERE h.monthly_wage > 200000", SUPPRESSED),
    Attack("rows repeated by a cross join",
           f"SELECT avg(h.monthly_wage), count(*) FROM {H} h, {E} e WHERE h.monthly_wage > 200000", SUPPRESSED),
    Attack("HAVING cannot lower k",
           f"SELECT honors, count(*) FROM {E} GROUP BY honors HAVING count(*) >= 0 OR true", "partial"),
    Attack("a big firm's employees are one enterprise",
           f"SELECT t.n >= 80 AS huge, count(*) FROM {H} h JOIN (SELECT uscc, count(*) AS n FROM {H} GROUP BY uscc) t "
           "ON h.uscc = t.uscc GROUP BY 1", "partial"),
    Attack("sub-population through FILTER",
           f"SELECT count(*), avg(monthly_wage) FILTER (WHERE monthly_wage > 200000) FROM {H}", SUPPRESSED),
    Attack("sub-population through CASE",
           f"SELECT count(*), sum(CASE WHEN monthly_wage > 200000 THEN monthly_wage ELSE 0 END) FROM {H}", SUPPRESSED),
    Attack("sub-population through a boolean cast",
           f"SELECT count(*), sum(monthly_wage * CAST(monthly_wage > 200000 AS INT)) FROM {H}", SUPPRESSED),
    Attack("difference of two aggregates in one query",
           f"SELECT sum(monthly_wage) - sum(monthly_wage) FILTER (WHERE monthly_wage < 200000) FROM {H}", SUPPRESSED),
    Attack("sub-population of NULL profits",
           f"SELECT count(*), avg(CASE WHEN total_profit IS NULL THEN sales_revenue END) FROM {S}", SUPPRESSED),
    # -- aggregates returning a member's value -----------------------------------------------------
    Attack("max wage", f"SELECT max(monthly_wage) FROM {H}", "query.member_revealing_aggregate"),
    Attack("youngest birthday", f"SELECT gender, max(birth_date) FROM {H} GROUP BY 1",
           "query.member_revealing_aggregate"),
    Attack("median wage", f"SELECT median(monthly_wage) FROM {H}", "query.member_revealing_aggregate"),
    Attack("99th percentile", f"SELECT quantile_cont(monthly_wage, 0.99) FROM {H}", "query.member_revealing_aggregate"),
    Attack("most common wage", f"SELECT mode(monthly_wage) FROM {H}", "query.member_revealing_aggregate"),
    Attack("max revenue", f"SELECT max(sales_revenue) FROM {S}", "query.member_revealing_aggregate"),
    Attack("max of a per-enterprise count",
           f"SELECT max(n) FROM (SELECT uscc, count(*) AS n FROM {H} GROUP BY uscc) t",
           "query.member_revealing_aggregate"),
    Attack("name of the top earner", f"SELECT arg_max(name, monthly_wage) FROM {H}",
           "query.member_revealing_aggregate"),
    Attack("all names", f"SELECT string_agg(name, ',') FROM {H}", "query.member_revealing_aggregate"),
    Attack("list of wages", f"SELECT list(monthly_wage) FROM {H}", "query.member_revealing_aggregate"),
    Attack("first wage", f"SELECT first(monthly_wage) FROM {H}", "query.member_revealing_aggregate"),
    Attack("any wage", f"SELECT any_value(monthly_wage) FROM {H}", "query.member_revealing_aggregate"),
    Attack("histogram of wages", f"SELECT histogram(monthly_wage) FROM {H}", "query.member_revealing_aggregate"),
    Attack("does anyone earn more", f"SELECT bool_or(monthly_wage > 200000) FROM {H}",
           "query.member_revealing_aggregate"),
    # -- windows, set operations, grouping sets, inner limits ---------------------------------------
    Attack("rank to the top earner",
           f"SELECT avg(w) FROM (SELECT monthly_wage AS w, rank() OVER (ORDER BY monthly_wage DESC) AS r FROM {H}) t "
           "WHERE r = 1", "query.window_function"),
    Attack("running totals", f"SELECT gender, sum(count(*)) OVER () FROM {H} GROUP BY 1", "query.window_function"),
    Attack("UNION of a small group", f"SELECT count(*) FROM {H} UNION ALL SELECT count(*) FROM {H} WHERE gender = '女'",
           "query.set_operation"),
    Attack("EXCEPT to find the missing", f"SELECT count(*) FROM (SELECT uscc FROM {E} EXCEPT SELECT uscc FROM {S}) t",
           "query.set_operation"),
    Attack("ROLLUP totals minus shown groups", f"SELECT honors, count(*) FROM {E} GROUP BY ROLLUP (honors)",
           "query.grouping_sets"),
    Attack("top row through LIMIT",
           f"SELECT avg(monthly_wage) FROM (SELECT monthly_wage FROM {H} ORDER BY monthly_wage DESC LIMIT 1) t",
           "query.inner_limit"),
    Attack("correlated subquery",
           f"SELECT count(*) FROM {H} h WHERE monthly_wage > "
           f"(SELECT avg(monthly_wage) FROM {H} x WHERE x.uscc = h.uscc)",
           "query.subquery_not_allowed"),
    Attack("EXISTS probe", f"SELECT count(*) FROM {H} h WHERE EXISTS (SELECT 1 FROM {S} s WHERE s.total_profit < 0)",
           "query.subquery_not_allowed"),
    # -- files, metadata, settings -----------------------------------------------------------------
    Attack("read a file", "SELECT * FROM read_csv('/etc/passwd')", "query.function_not_allowed"),
    Attack("read parquet", "SELECT count(*) FROM read_parquet('/work/**/*.parquet')", "query.function_not_allowed"),
    Attack("file by path", "SELECT count(*) FROM '/etc/passwd'", "query.unknown_table"),
    Attack("list files", "SELECT * FROM glob('/*')", "query.function_not_allowed"),
    Attack("read text as a value", "SELECT count(*) FROM hrss.insured_employees WHERE read_text('/etc/passwd') = ''",
           "query.function_not_allowed"),
    Attack("settings table", "SELECT * FROM duckdb_settings()", "query.function_not_allowed"),
    Attack("catalog table", "SELECT * FROM duckdb_tables()", "query.function_not_allowed"),
    Attack("information schema", "SELECT count(*) FROM information_schema.columns", "query.unknown_table"),
    Attack("a setting's value", f"SELECT current_setting('allowed_paths'), count(*) FROM {H}",
           "query.function_not_allowed"),
    Attack("environment", f"SELECT getenv('HOME'), count(*) FROM {H}", "query.function_not_allowed"),
    Attack("version", f"SELECT version(), count(*) FROM {H}", "query.function_not_allowed"),
    Attack("PRAGMA", "PRAGMA database_list", "query.not_select"),
    Attack("SET", "SET enable_external_access = true", "query.not_select"),
    Attack("COPY out", f"COPY (SELECT * FROM {H}) TO '/tmp/leak.csv'", "query.not_select"),
    Attack("ATTACH", "ATTACH '/tmp/leak.duckdb' AS leak", "query.not_select"),
    Attack("INSTALL", "INSTALL httpfs", "query.not_select"),
    Attack("LOAD", "LOAD httpfs", "query.not_select"),
    Attack("CALL", "CALL pragma_version()", "query.not_select"),
    Attack("consent relation", "SELECT count(*) FROM consent_enterprise", "query.unknown_table"),
    Attack("hidden column name", f"SELECT count(__od_s_person_id) FROM {H}", "query.reserved_name"),
    # -- several statements ------------------------------------------------------------------------
    Attack("two statements", f"SELECT count(*) FROM {H}; SELECT * FROM {H}", "query.multiple_statements"),
    Attack("statement after a comment", f"SELECT count(*) FROM {H}; -- x\nCOPY {H} TO '/tmp/x.csv'",
           "query.multiple_statements"),
    Attack("a name through a conversion error", f"SELECT count(*) FROM {R} WHERE CAST(name AS INTEGER) > 0",
           HARMLESS),
    Attack("existence through division by zero",
           f"SELECT count(*) FROM {E} WHERE 1 // CAST(tax_per_mu - tax_per_mu AS INTEGER) > 0", HARMLESS),
    Attack("quote smuggling stays a literal", f"SELECT count(*) FROM {H} WHERE gender = 'x''; DROP TABLE {H}; --'",
           HARMLESS),
]


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_attack(attack: Attack, governed: Governed, raw) -> None:  # type: ignore[no-untyped-def]
    if attack.expect.startswith("query."):
        error = governed.refusal(attack.sql)
        assert error.code == attack.expect
        assert error.details["rule"].startswith("R")
        assert error.message.zh and error.message.en
        return
    rows = governed.rows(attack.sql)
    if attack.expect == HARMLESS:
        assert rows == []
        return
    if attack.expect == SUPPRESSED:
        assert rows == [], f"{attack.name}: {rows}"
        answered = raw.execute(attack.sql).fetchall()
        assert any(v not in (None, 0) for row in answered for v in row), "the raw data does answer the attack"
        return
    # "partial": every row the engine returns is one the raw data says holds ≥ k enterprises
    assert rows, "some groups are large enough"
    assert len(rows) < len(raw.execute(attack.sql).fetchall())


def test_a_fine_grouping_returns_only_groups_of_k_persons_and_k_enterprises(governed: Governed, raw) -> None:  # type: ignore[no-untyped-def]
    sql = (f"SELECT h.gender, h.insured_since, e.honors, count(*) FROM {H} h JOIN {E} e ON h.uscc = e.uscc "
           "GROUP BY ALL")
    counted = {tuple(r[:3]): r[3:] for r in raw.execute(
        f"SELECT h.gender, h.insured_since, e.honors, count(DISTINCT h.person_id), count(DISTINCT h.uscc) "
        f"FROM {H} h JOIN {E} e ON h.uscc = e.uscc GROUP BY ALL").fetchall()}
    rows = governed.rows(sql)
    assert len(rows) < len(counted)
    for row in rows:
        persons, enterprises = counted[tuple(row[:3])]
        assert persons >= 10 and enterprises >= 10
    assert len(rows) == sum(1 for p, e in counted.values() if p >= 10 and e >= 10)


def test_the_rows_of_a_having_attack_are_the_large_groups_only(governed: Governed, raw) -> None:  # type: ignore[no-untyped-def]
    sql = f"SELECT honors, count(*) FROM {E} GROUP BY honors HAVING count(*) >= 0 OR true ORDER BY honors"
    assert governed.rows(sql) == [r for r in raw.execute(sql).fetchall() if r[1] >= 10]


def test_the_big_firm_never_shows_as_its_own_group(governed: Governed) -> None:
    sql = (f"SELECT t.n >= 80 AS huge, count(*) FROM {H} h JOIN (SELECT uscc, count(*) AS n FROM {H} GROUP BY uscc) t "
           "ON h.uscc = t.uscc GROUP BY 1")
    assert [row[0] for row in governed.rows(sql)] == [False]


def test_a_scalar_subquery_over_one_member_yields_null(governed: Governed) -> None:
    sql = f"SELECT count(*), (SELECT avg(monthly_wage) FROM {H} WHERE monthly_wage > 200000) AS top FROM {E}"
    assert governed.rows(sql) == [(50, None)]


def test_non_consenting_enterprises_do_not_exist_for_the_query(tables, policy) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    from opdomain.compute.analysis import analyze
    from opdomain.compute.engine import open_engine

    consenting = tables[E].column("uscc").to_pylist()[10:]
    consent_policy = dataclasses.replace(policy, consent_subjects=frozenset({"enterprise"}))
    analysed = analyze(f"SELECT count(DISTINCT uscc) AS n, count(*) AS m FROM {H}", consent_policy, "domain")
    with open_engine(tables, consent={"enterprise": consenting}) as engine:
        _c, rows, _t = engine.run(analysed.rewritten_sql, 5)
    employees = sum(1 for u in tables[H].column("uscc").to_pylist() if u in set(consenting))
    assert rows == [(40, employees)]


# -- differencing ---------------------------------------------------------------------------------
DIFFERENCING = [
    ("exclude one birthday",
     f"SELECT gender, avg(monthly_wage) FROM {H} GROUP BY gender",
     f"SELECT gender, avg(monthly_wage) FROM {H} WHERE birth_date <> DATE '1965-01-01' GROUP BY gender"),
    ("exclude the top earner by threshold",
     f"SELECT avg(monthly_wage), count(*) FROM {H}",
     f"SELECT avg(monthly_wage), count(*) FROM {H} WHERE monthly_wage < 200000"),
    ("same groups, renamed key",
     f"SELECT gender, sum(monthly_wage) FROM {H} GROUP BY gender",
     f"SELECT lower(gender) AS g, sum(monthly_wage) FROM {H} WHERE monthly_wage < 200000 GROUP BY 1"),
    ("a join used as a filter",
     f"SELECT count(*), sum(monthly_wage) FROM {H}",
     f"SELECT count(*), sum(h.monthly_wage) FROM {H} h JOIN {E} e ON h.uscc = e.uscc "
     f"WHERE e.tax_per_mu <> (SELECT min(tax_per_mu) FROM {E})"),
    ("the difference hidden in a subquery",
     f"SELECT gender, count(*) FROM {H} GROUP BY gender",
     f"SELECT gender, count(*) FROM (SELECT * FROM {H} WHERE insured_since <> DATE '2005-01-01') t GROUP BY gender"),
    ("an enterprise dropped from a per-category average",
     f"SELECT e.is_above_scale, avg(s.total_profit) FROM {S} s JOIN {E} e ON s.uscc = e.uscc GROUP BY 1",
     f"SELECT e.is_above_scale, avg(s.total_profit) FROM {S} s JOIN {E} e ON s.uscc = e.uscc "
     f"WHERE s.labor_productivity <> (SELECT max(labor_productivity) FROM {S}) GROUP BY 1"),
]


@pytest.mark.parametrize("name, first, second", DIFFERENCING, ids=[d[0] for d in DIFFERENCING])
def test_differencing_is_refused(name: str, first: str, second: str, governed: Governed, raw) -> None:  # type: ignore[no-untyped-def]
    earlier = governed.analyze(first)
    assert governed.rows(first), "the first query is answered"
    history: list[HistoryEntry] = [history_entry(earlier, "q-1")]
    later = governed.analyze(second)
    assert governed.rows(second), "alone, the second query passes the k rule"
    with pytest.raises(QueryRefused) as info:
        check_differencing(governed.engine, later, history)
    error = info.value
    assert error.code == "query.differencing"
    assert error.details["previous"] == "q-1"
    assert 1 <= error.details["count"] < 10
    assert error.message.zh and error.message.en


def test_a_query_differing_by_many_subjects_is_answered(governed: Governed) -> None:
    history = [history_entry(governed.analyze(f"SELECT gender, avg(monthly_wage) FROM {H} GROUP BY gender"), "q-1")]
    later = governed.analyze(f"SELECT gender, avg(monthly_wage) FROM {H} WHERE insured_since >= DATE '2012-01-01' "
                             "GROUP BY gender")
    check_differencing(governed.engine, later, history)
