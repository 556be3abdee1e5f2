"""Pass 6 — the k threshold enforced by rewriting, not by trusting the SQL (R1.1a, R1.1b)."""

from __future__ import annotations

import dataclasses

import pytest
from sqlglot import exp

from opdomain.compute.analysis_errors import QueryRefused
from opdomain.compute.analysis_functions import check_functions
from opdomain.compute.analysis_k import KReport, enforce_k
from opdomain.compute.analysis_normalise import normalise
from opdomain.compute.analysis_parse import parse_statement
from opdomain.compute.analysis_rules import check_rules
from opdomain.compute.analysis_scope import resolve_scope
from opdomain.compute.policy import GrantPolicy

from .conftest import Governed

H = "hrss.insured_employees"
E = "eit.mu_efficiency"


def rewrite(sql: str, policy: GrantPolicy) -> tuple[exp.Query, KReport]:
    tree = normalise(resolve_scope(parse_statement(sql), policy))
    check_functions(tree)
    check_rules(tree, policy)
    return enforce_k(tree, policy)


def having(tree: exp.Query) -> str:
    return tree.args["having"].this.sql(dialect="duckdb")


def test_a_flat_aggregate_gets_a_having_per_subject_type(policy: GrantPolicy) -> None:
    tree, report = rewrite(f"SELECT gender, count(*) FROM {H} GROUP BY gender", policy)
    text = having(tree)
    assert 'COUNT("insured_employees"."__od_s_person_id") >= 10' in text  # person unique per row: count
    assert 'COUNT(DISTINCT "insured_employees"."__od_s_uscc") >= 10' in text
    assert report.subject_types == {"person", "enterprise"}


def test_the_analysts_having_is_kept_and_the_check_is_anded(policy: GrantPolicy) -> None:
    tree, _ = rewrite(f"SELECT gender, count(*) FROM {H} GROUP BY gender HAVING count(*) > 1 OR gender = '男'", policy)
    text = having(tree)
    assert text.startswith("(COUNT(*) > 1 OR")
    assert ") AND COUNT(" in text


def test_the_projection_and_order_are_untouched(policy: GrantPolicy) -> None:
    tree, _ = rewrite(f"SELECT gender, count(*) AS n FROM {H} GROUP BY gender ORDER BY n DESC LIMIT 1", policy)
    assert isinstance(tree, exp.Select)
    assert [p.alias_or_name for p in tree.expressions] == ["gender", "n"]
    assert tree.args["limit"] is not None


def test_an_inner_join_on_unmasked_subject_columns_counts_the_subject_once(policy: GrantPolicy) -> None:
    tree, _ = rewrite(f"SELECT e.honors, count(*) FROM {H} h JOIN {E} e ON h.uscc = e.uscc GROUP BY 1", policy)
    assert having(tree).count("__od_s_uscc") == 1


def test_a_left_join_counts_each_side(policy: GrantPolicy) -> None:
    tree, _ = rewrite(f"SELECT e.honors, count(*) FROM {E} e LEFT JOIN {H} h ON h.uscc = e.uscc GROUP BY 1", policy)
    text = having(tree)
    assert '"e"."__od_s_uscc"' in text and '"h"."__od_s_uscc"' in text


def test_a_join_that_can_repeat_rows_falls_back_to_distinct(policy: GrantPolicy) -> None:
    tree, _ = rewrite(f"SELECT a.gender, count(*) FROM {H} a JOIN {H} b ON a.uscc = b.uscc GROUP BY 1", policy)
    text = having(tree)
    assert 'COUNT(DISTINCT "a"."__od_s_person_id")' in text
    assert 'COUNT(DISTINCT "b"."__od_s_person_id")' in text


def test_joining_a_unique_key_keeps_the_cheap_count(policy: GrantPolicy) -> None:
    tree, _ = rewrite(f"SELECT e.honors, count(*) FROM {H} h JOIN {E} e ON h.uscc = e.uscc GROUP BY 1", policy)
    assert 'COUNT("h"."__od_s_person_id") >= 10' in having(tree)


def test_masked_subject_columns_are_not_merged(policy: GrantPolicy) -> None:
    masked = dataclasses.replace(policy, tables=tuple(
        dataclasses.replace(t, columns=tuple(
            dataclasses.replace(c, mask_expr="md5({col})") if c.name == "uscc" else c for c in t.columns))
        for t in policy.tables))
    tree, _ = rewrite(f"SELECT e.honors, count(*) FROM {H} h JOIN {E} e ON h.uscc = e.uscc GROUP BY 1", masked)
    assert having(tree).count("__od_s_uscc") == 2


def test_an_inner_aggregation_carries_subject_sets(policy: GrantPolicy) -> None:
    tree, _ = rewrite(
        f"SELECT e.honors, avg(t.n) FROM (SELECT uscc, count(*) AS n FROM {H} GROUP BY uscc) t "
        f"JOIN {E} e ON t.uscc = e.uscc GROUP BY 1", policy)
    inner = tree.find(exp.Subquery)
    assert inner is not None
    inner_sql = inner.this.sql(dialect="duckdb")
    assert 'ANY_VALUE("insured_employees"."__od_s_uscc")' in inner_sql  # the group key: one enterprise per row
    assert 'LIST_DISTINCT(LIST("insured_employees"."__od_s_person_id"))' in inner_sql
    text = having(tree)
    assert "LEN(LIST_DISTINCT(FLATTEN(LIST(" in text


def test_a_final_select_over_aggregated_rows_filters_on_set_sizes(policy: GrantPolicy) -> None:
    tree, _ = rewrite(f"SELECT g, n FROM (SELECT gender AS g, count(*) AS n FROM {H} GROUP BY gender) t", policy)
    assert "LEN(" in tree.args["where"].sql(dialect="duckdb")


def test_a_scalar_subquery_gets_its_own_check(policy: GrantPolicy) -> None:
    tree, _ = rewrite(
        f"SELECT gender, count(*) FROM {H} WHERE monthly_wage > (SELECT avg(monthly_wage) FROM {H}) GROUP BY 1",
        policy)
    sub = tree.find(exp.Subquery)
    assert sub is not None and sub.this.args.get("having") is not None


def test_the_input_tree_is_not_changed(policy: GrantPolicy) -> None:
    tree = normalise(resolve_scope(parse_statement(f"SELECT gender, count(*) FROM {H} GROUP BY 1"), policy))
    before = tree.sql()
    enforce_k(tree, policy)
    assert tree.sql() == before


# -- run for real --------------------------------------------------------------------------------
def test_small_groups_are_suppressed_and_big_ones_kept(governed: Governed, raw) -> None:  # type: ignore[no-untyped-def]
    sql = f"SELECT honors, count(*) FROM {E} GROUP BY honors ORDER BY honors"
    expected = [r for r in raw.execute(sql).fetchall() if r[1] >= 10]
    small = [r for r in raw.execute(sql).fetchall() if r[1] < 10]
    assert small, "the fixture must have a small group for this test to mean anything"
    assert governed.rows(sql) == expected


def test_enterprise_count_is_checked_not_only_the_person_count(governed: Governed, raw) -> None:  # type: ignore[no-untyped-def]
    # the biggest firm alone has 60 employees: plenty of persons, one enterprise
    sql = f"SELECT uscc = '91330324MA0000000X' AS big, count(*) FROM {H} GROUP BY 1"
    with pytest.raises(QueryRefused):
        governed.rows(sql)  # an identifier filter, refused outright
    sql = (f"SELECT e.tax_per_mu > 0 AS any_tax, t.n >= 60 AS huge, count(*) FROM {H} h "
           f"JOIN (SELECT uscc, count(*) AS n FROM {H} GROUP BY uscc) t ON h.uscc = t.uscc "
           f"JOIN {E} e ON e.uscc = h.uscc GROUP BY 1, 2")
    rows = governed.rows(sql)
    assert all(not huge for _tax, huge, _n in rows), rows
