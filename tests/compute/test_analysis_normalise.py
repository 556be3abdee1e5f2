"""Pass 4 — DISTINCT and GROUP BY ALL made explicit aggregations (R1.1b)."""

from __future__ import annotations

import pytest
from sqlglot import exp

from opdomain.compute.analysis_errors import QueryRefused
from opdomain.compute.analysis_normalise import normalise
from opdomain.compute.analysis_parse import parse_statement
from opdomain.compute.analysis_scope import resolve_scope
from opdomain.compute.policy import GrantPolicy


def norm(sql: str, policy: GrantPolicy) -> exp.Query:
    return normalise(resolve_scope(parse_statement(sql), policy))


def test_group_by_all_lists_the_non_aggregate_projections(policy: GrantPolicy) -> None:
    tree = norm("SELECT honors, is_above_scale, count(*) FROM eit.mu_efficiency GROUP BY ALL", policy)
    keys = [k.sql() for k in tree.args["group"].expressions]
    assert keys == ['"mu_efficiency"."honors"', '"mu_efficiency"."is_above_scale"']


def test_distinct_becomes_group_by(policy: GrantPolicy) -> None:
    tree = norm("SELECT DISTINCT gender FROM hrss.insured_employees", policy)
    assert tree.args.get("distinct") is None
    assert [k.sql() for k in tree.args["group"].expressions] == ['"insured_employees"."gender"']


def test_distinct_inside_a_subquery_becomes_group_by(policy: GrantPolicy) -> None:
    tree = norm("SELECT count(*) FROM (SELECT DISTINCT uscc FROM hrss.insured_employees) t", policy)
    inner = tree.find(exp.Subquery)
    assert inner is not None and inner.this.args.get("group") is not None
    assert inner.this.args.get("distinct") is None


def test_distinct_over_aggregated_rows_in_a_subquery_is_refused(policy: GrantPolicy) -> None:
    with pytest.raises(QueryRefused) as info:
        norm("SELECT count(*) FROM (SELECT DISTINCT count(*) AS n FROM hrss.insured_employees GROUP BY uscc) t",
             policy)
    assert info.value.code == "query.unsupported_syntax"


def test_the_input_tree_is_not_changed(policy: GrantPolicy) -> None:
    tree = resolve_scope(parse_statement("SELECT DISTINCT gender FROM hrss.insured_employees"), policy)
    before = tree.sql()
    normalise(tree)
    assert tree.sql() == before


def test_data_dependent_errors_become_nulls(policy: GrantPolicy) -> None:
    """A failing CAST or a division by zero would answer about single rows through the error (R1.1a)."""
    tree = norm("SELECT count(*) FROM amr.enterprise_registry WHERE CAST(name AS INTEGER) > 0", policy)
    assert tree.find(exp.TryCast) is not None
    assert not any(type(c) is exp.Cast for c in tree.find_all(exp.Cast))
    tree = norm("SELECT count(*) FROM eit.mu_efficiency WHERE CAST(land_mu AS BIGINT) // honors > 1 "
                "AND CAST(land_mu AS BIGINT) % honors = 0", policy)
    assert all(isinstance(n.expression, exp.Nullif) for n in tree.find_all(exp.IntDiv, exp.Mod))
