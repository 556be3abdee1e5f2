"""Pass 5 — the aggregation rule's static checks (R1.1a, R1.1b, R4.2b)."""

from __future__ import annotations

import pytest

from opdomain.compute.analysis_errors import QueryRefused
from opdomain.compute.analysis_functions import check_functions
from opdomain.compute.analysis_normalise import normalise
from opdomain.compute.analysis_parse import parse_statement
from opdomain.compute.analysis_rules import RulesReport, check_rules
from opdomain.compute.analysis_scope import resolve_scope
from opdomain.compute.policy import GrantPolicy

H = "hrss.insured_employees"
E = "eit.mu_efficiency"
S = "stats.sales_profit"
R = "amr.enterprise_registry"


def rules(sql: str, policy: GrantPolicy) -> RulesReport:
    tree = resolve_scope(parse_statement(sql), policy)
    check_functions(tree)
    return check_rules(normalise(tree), policy)


def refusal(sql: str, policy: GrantPolicy) -> QueryRefused:
    with pytest.raises(QueryRefused) as info:
        rules(sql, policy)
    return info.value


# -- identifiers and L4 columns in the output ----------------------------------------------------
@pytest.mark.parametrize("sql, code, column", [
    (f"SELECT person_id, count(*) FROM {H} GROUP BY 1", "query.identifier_in_output", "person_id"),
    (f"SELECT left(person_id, 6) AS region, count(*) FROM {H} GROUP BY 1", "query.identifier_in_output", "person_id"),
    (f"SELECT substr(person_id, 7, 4) AS y, count(*) FROM {H} GROUP BY 1", "query.identifier_in_output", "person_id"),
    (f"SELECT CAST(person_id AS BIGINT) % 2 AS odd, count(*) FROM {H} GROUP BY 1", "query.identifier_in_output",
     "person_id"),
    (f"SELECT name || '' AS n, count(*) FROM {H} GROUP BY 1", "query.identifier_in_output", "name"),
    (f"SELECT count(*) FROM {H} GROUP BY person_id", "query.identifier_in_output", "person_id"),
    (f"SELECT uscc, count(*) FROM {H} GROUP BY uscc", "query.identifier_in_output", "uscc"),
    (f"SELECT phone, count(*) FROM {R} GROUP BY phone", "query.identifier_in_output", "phone"),
    (f"SELECT birth_date, count(*) FROM {H} GROUP BY 1", "query.sensitive_in_output", "birth_date"),
    (f"SELECT year(birth_date) AS y, count(*) FROM {H} GROUP BY 1", "query.sensitive_in_output", "birth_date"),
    (f"SELECT monthly_wage > 10000 AS rich, count(*) FROM {H} GROUP BY 1", "query.sensitive_in_output",
     "monthly_wage"),
    (f"SELECT CASE WHEN monthly_wage > 9000 THEN 'h' ELSE 'l' END AS band, count(*) FROM {H} GROUP BY 1",
     "query.sensitive_in_output", "monthly_wage"),
    (f"SELECT gender, count(*) FROM {H} GROUP BY gender ORDER BY max(insured_since), min(birth_date)",
     "query.member_revealing_aggregate", "birth_date"),
    (f"SELECT uscc, n FROM (SELECT uscc, count(*) AS n FROM {H} GROUP BY uscc) t", "query.identifier_in_output",
     "uscc"),
])
def test_identifiers_and_l4_never_reach_the_output(sql: str, code: str, column: str, policy: GrantPolicy) -> None:
    error = refusal(sql, policy)
    assert error.code == code
    assert error.details["column"].endswith("." + column)
    assert error.details["rule"] == "R1.1b"


# -- identifier filters ------------------------------------------------------------------------
@pytest.mark.parametrize("where", [
    "person_id = '330324197001010000'",
    "person_id LIKE '330324%'",
    "person_id IN ('a', 'b')",
    "person_id BETWEEN 'a' AND 'b'",
    "substr(person_id, 7, 4) = '1980'",
    "person_id <> 'x' OR gender = '男'",
    "name = '员工1'",
    "uscc = '91330324MA0000001X'",
    "uscc = person_id",
])
def test_filters_on_identifiers_are_refused(where: str, policy: GrantPolicy) -> None:
    error = refusal(f"SELECT gender, count(*) FROM {H} WHERE {where} GROUP BY gender", policy)
    assert error.code == "query.identifier_filter"


@pytest.mark.parametrize("sql", [
    f"SELECT gender, count(*) FILTER (WHERE person_id = 'x') FROM {H} GROUP BY gender",
    f"SELECT gender, sum(CASE WHEN person_id = 'x' THEN monthly_wage END) FROM {H} GROUP BY gender",
    f"SELECT gender, count(*) FROM {H} GROUP BY gender HAVING max(uscc) = 'x'",
    f"SELECT e.honors, count(*) FROM {H} h JOIN {E} e ON h.uscc = e.uscc AND h.person_id = 'x' GROUP BY 1",
])
def test_identifier_filters_in_filter_case_having_and_on_are_refused(sql: str, policy: GrantPolicy) -> None:
    assert refusal(sql, policy).code in ("query.identifier_filter", "query.member_revealing_aggregate")


@pytest.mark.parametrize("sql", [
    f"SELECT e.honors, count(*) FROM {H} h JOIN {E} e ON h.uscc = e.uscc GROUP BY 1",
    f"SELECT e.honors, count(*) FROM {H} h, {E} e WHERE h.uscc = e.uscc GROUP BY 1",
    f"SELECT e.honors, count(*) FROM {H} h JOIN {E} e USING (uscc) GROUP BY 1",
    f"SELECT gender, count(*) FROM {H} WHERE person_id IS NOT NULL AND uscc IS NOT NULL GROUP BY gender",
    f"SELECT gender, count(DISTINCT person_id), count(DISTINCT uscc), approx_count_distinct(uscc) FROM {H} "
    "GROUP BY gender",
    f"SELECT gender, count(*) FROM {H} WHERE uscc IN (SELECT uscc FROM {E} WHERE is_above_scale) GROUP BY gender",
    f"SELECT count(*) FROM {R} r JOIN {H} h ON r.legal_rep_id = h.person_id",
    f"SELECT e.honors, avg(t.n) FROM (SELECT uscc, count(*) AS n FROM {H} GROUP BY uscc) t "
    f"JOIN {E} e ON t.uscc = e.uscc GROUP BY 1",
])
def test_identifier_uses_that_reveal_nothing_are_allowed(sql: str, policy: GrantPolicy) -> None:
    rules(sql, policy)


def test_joining_identifiers_of_different_types_is_refused(policy: GrantPolicy) -> None:
    error = refusal(f"SELECT count(*) FROM {R} r JOIN {H} h ON r.uscc = h.person_id", policy)
    assert error.code == "query.identifier_filter"


def test_identifiers_inside_computations_are_refused(policy: GrantPolicy) -> None:
    error = refusal(f"SELECT gender, count(DISTINCT left(person_id, 6)) FROM {H} GROUP BY gender", policy)
    assert error.code == "query.identifier_expression"
    error = refusal(f"SELECT count(*) FROM (SELECT left(person_id, 6) AS r FROM {H}) t", policy)
    assert error.code == "query.identifier_expression"


def test_filters_on_l4_values_are_allowed(policy: GrantPolicy) -> None:
    rules(f"SELECT gender, count(*) FROM {H} WHERE monthly_wage > 10000 AND birth_date < DATE '1990-01-01' "
          "GROUP BY gender", policy)


# -- aggregates that return a member's value ---------------------------------------------------
@pytest.mark.parametrize("agg", [
    "string_agg(gender, ',')", "list(gender)", "array_agg(gender)", "first(gender)", "last(gender)",
    "any_value(gender)", "arg_max(gender, monthly_wage)", "arg_min(gender, monthly_wage)", "histogram(gender)",
    "arbitrary(gender)",
])
def test_member_returning_aggregates_are_refused(agg: str, policy: GrantPolicy) -> None:
    error = refusal(f"SELECT {agg} FROM {H}", policy)
    assert error.code == "query.member_revealing_aggregate"
    assert "function" in error.details


@pytest.mark.parametrize("agg, column", [
    ("max(monthly_wage)", "monthly_wage"), ("min(birth_date)", "birth_date"), ("median(monthly_wage)", "monthly_wage"),
    ("quantile_cont(monthly_wage, 0.99)", "monthly_wage"), ("mode(monthly_wage)", "monthly_wage"),
    ("max(CAST(monthly_wage AS VARCHAR))", "monthly_wage"), ("bool_or(monthly_wage > 99999)", "monthly_wage"),
    ("max(person_id)", "person_id"), ("max(uscc)", "uscc"),
])
def test_order_statistics_on_l3_l4_or_identifiers_are_refused(agg: str, column: str, policy: GrantPolicy) -> None:
    error = refusal(f"SELECT gender, {agg} FROM {H} GROUP BY gender", policy)
    assert error.code == "query.member_revealing_aggregate"
    assert error.details["column"].endswith("." + column)


def test_order_statistics_on_l3_enterprise_values_are_refused(policy: GrantPolicy) -> None:
    assert refusal(f"SELECT max(sales_revenue) FROM {S}", policy).code == "query.member_revealing_aggregate"


def test_order_statistics_of_inner_aggregates_are_refused(policy: GrantPolicy) -> None:
    error = refusal(f"SELECT max(n) FROM (SELECT uscc, count(*) AS n FROM {H} GROUP BY uscc) t", policy)
    assert error.code == "query.member_revealing_aggregate"


def test_order_statistics_on_l1_l2_are_allowed(policy: GrantPolicy) -> None:
    rules(f"SELECT honors, min(land_mu), max(tax_per_mu), median(value_added) FROM {E} GROUP BY honors", policy)


# -- shapes -------------------------------------------------------------------------------------
@pytest.mark.parametrize("sql", [
    f"SELECT * FROM {H}",
    f"SELECT gender FROM {H}",
    f"SELECT h.gender FROM {H} h JOIN {E} e ON h.uscc = e.uscc",
    f"SELECT t.gender FROM (SELECT gender FROM {H}) t",
    f"SELECT t.n, e.honors FROM (SELECT uscc, count(*) AS n FROM {H} GROUP BY uscc) t JOIN {E} e ON t.uscc = e.uscc",
    f"WITH x AS (SELECT gender, monthly_wage FROM {H}) SELECT gender FROM x",
])
def test_results_that_are_not_aggregates_are_refused(sql: str, policy: GrantPolicy) -> None:
    assert refusal(sql, policy).code == "query.not_aggregated"


@pytest.mark.parametrize("sql, code", [
    (f"SELECT gender, row_number() OVER () FROM {H} GROUP BY gender", "query.window_function"),
    (f"SELECT gender, count(*), sum(count(*)) OVER () FROM {H} GROUP BY gender", "query.window_function"),
    (f"SELECT count(*) FROM (SELECT gender, rank() OVER (ORDER BY monthly_wage) AS r FROM {H}) t WHERE r = 1",
     "query.window_function"),
    (f"SELECT count(*) FROM {H} UNION ALL SELECT count(*) FROM {E}", "query.set_operation"),
    (f"SELECT count(*) FROM (SELECT gender FROM {H} EXCEPT SELECT gender FROM {H} WHERE monthly_wage > 1) t",
     "query.set_operation"),
    (f"SELECT gender, count(*) FROM {H} GROUP BY ROLLUP (gender)", "query.grouping_sets"),
    (f"SELECT gender, count(*) FROM {H} GROUP BY CUBE (gender)", "query.grouping_sets"),
    (f"SELECT gender, count(*) FROM {H} GROUP BY GROUPING SETS ((gender), ())", "query.grouping_sets"),
    (f"SELECT count(*), avg(monthly_wage) FROM (SELECT * FROM {H} ORDER BY monthly_wage DESC LIMIT 1) t",
     "query.inner_limit"),
    (f"SELECT count(*) FROM (SELECT * FROM {H} OFFSET 5) t", "query.inner_limit"),
    (f"SELECT gender, count(*) FROM {H} h WHERE monthly_wage > (SELECT avg(monthly_wage) FROM {H} h2 "
     "WHERE h2.uscc = h.uscc) GROUP BY gender", "query.subquery_not_allowed"),
    (f"SELECT gender, count(*) FROM {H} h WHERE EXISTS (SELECT 1 FROM {E} e WHERE e.uscc = h.uscc) GROUP BY gender",
     "query.subquery_not_allowed"),
    (f"SELECT gender, count(*) FROM {H} WHERE monthly_wage > (SELECT monthly_wage FROM {H} LIMIT 1) GROUP BY 1",
     "query.subquery_not_allowed"),
    (f"SELECT gender, count(*) FROM {H} WHERE gender IN (SELECT gender FROM {H}) GROUP BY 1",
     "query.subquery_not_allowed"),
    (f"SELECT gender, count(*) FROM {H} WHERE monthly_wage > ANY (SELECT tax_per_mu FROM {E}) GROUP BY 1",
     "query.subquery_not_allowed"),
    (f"SELECT avg(n) FROM (SELECT uscc, count(*) FILTER (WHERE monthly_wage > 20000) AS n FROM {H} GROUP BY uscc) t",
     "query.nested_conditional_aggregate"),
    (f"SELECT avg(s) FROM (SELECT uscc, sum(CASE WHEN gender = '女' THEN monthly_wage END) AS s FROM {H} "
     "GROUP BY uscc) t", "query.nested_conditional_aggregate"),
])
def test_shapes_that_open_a_way_around_are_refused(sql: str, code: str, policy: GrantPolicy) -> None:
    assert refusal(sql, policy).code == code


def test_too_many_aggregate_conditions_are_refused(policy: GrantPolicy) -> None:
    cells = ", ".join(f"count(*) FILTER (WHERE honors = {i})" for i in range(12))
    error = refusal(f"SELECT {cells} FROM {E}", policy)
    assert error.code == "query.too_many_conditions"
    assert error.details["count"] == 12


# -- what the rules report ----------------------------------------------------------------------
def test_the_report_lists_tables_columns_and_output_lineage(policy: GrantPolicy) -> None:
    report = rules(f"SELECT e.is_above_scale, avg(h.monthly_wage) AS w FROM {H} h JOIN {E} e ON h.uscc = e.uscc "
                   "GROUP BY 1", policy)
    assert report.tables == {H, E}
    assert f"{H}.monthly_wage" in report.columns and f"{E}.is_above_scale" in report.columns
    assert report.output["w"].raw == frozenset()
    assert {o.label for o in report.output["is_above_scale"].raw} == {f"{E}.is_above_scale"}
