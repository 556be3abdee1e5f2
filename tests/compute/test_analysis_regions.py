"""Regions: FILTER, CASE and NULL sub-populations inside a group must hold 0 or ≥ k subjects (R1.1b)."""

from __future__ import annotations

import pytest
from sqlglot import exp

from opdomain.compute.analysis_parse import parse_statement
from opdomain.compute.analysis_regions import collect_regions, region_checks
from opdomain.compute.analysis_scope import resolve_scope
from opdomain.compute.policy import GrantPolicy

from .conftest import Governed

H = "hrss.insured_employees"
S = "stats.sales_profit"


def regions(sql: str, policy: GrantPolicy) -> list[str]:
    tree = resolve_scope(parse_statement(sql), policy)
    assert isinstance(tree, exp.Select)
    return [r.key for r in collect_regions(tree)]


def test_count_star_has_no_region(policy: GrantPolicy) -> None:
    assert regions(f"SELECT count(*) FROM {H}", policy) == []


def test_an_aggregate_over_a_column_has_its_not_null_region(policy: GrantPolicy) -> None:
    assert regions(f"SELECT avg(monthly_wage) FROM {H}", policy) == [
        'NOT "insured_employees"."monthly_wage" IS NULL']


def test_filter_case_coalesce_nullif_and_count_if_make_regions(policy: GrantPolicy) -> None:
    found = regions(
        f"SELECT count(*) FILTER (WHERE gender = '女'), sum(CASE WHEN monthly_wage > 9000 THEN 1 ELSE 0 END), "
        f"sum(coalesce(monthly_wage, 0)), count(nullif(gender, '男')), count_if(monthly_wage < 4000) FROM {H}",
        policy)
    text = " | ".join(found)
    assert "\"gender\" = '女'" in text
    assert '"monthly_wage" > 9000' in text
    assert '"monthly_wage" IS NULL' in text
    assert "\"gender\" = '男'" in text
    assert '"monthly_wage" < 4000' in text


def test_duplicate_regions_are_counted_once(policy: GrantPolicy) -> None:
    assert len(regions(f"SELECT avg(monthly_wage), sum(monthly_wage), count(monthly_wage) FROM {H}", policy)) == 1


def test_region_checks_cover_each_region_its_complement_and_each_pair(policy: GrantPolicy) -> None:
    tree = resolve_scope(parse_statement(
        f"SELECT count(*) FILTER (WHERE gender = '女'), count(*) FILTER (WHERE monthly_wage > 9000) FROM {H}"), policy)
    assert isinstance(tree, exp.Select)
    found = collect_regions(tree)
    calls: list[exp.Expression | None] = []

    def count(cond: exp.Expression | None) -> exp.Expression:
        calls.append(cond)
        return exp.Literal.number(1)

    checks = region_checks(found, count, 10)
    assert len(found) == 2
    assert len(checks) == 2 * 2 + 1  # region and complement for each, one pair


# -- run for real: the sub-population attacks are suppressed --------------------------------------
@pytest.mark.parametrize("sql", [
    f"SELECT count(*), avg(monthly_wage) FILTER (WHERE monthly_wage > 100000) FROM {H}",
    f"SELECT count(*), sum(CASE WHEN monthly_wage > 100000 THEN monthly_wage ELSE 0 END) FROM {H}",
    f"SELECT sum(monthly_wage), sum(monthly_wage) FILTER (WHERE monthly_wage < 100000) FROM {H}",
    f"SELECT count(*), sum(monthly_wage * CAST(monthly_wage > 100000 AS INTEGER)) FROM {H}",
])
def test_a_sub_population_of_one_is_suppressed(sql: str, governed: Governed) -> None:
    """The one person earning 250,000 sits in a group of 400: the row goes, not the wage."""
    assert governed.rows(sql) == []


@pytest.mark.parametrize("sql", [
    f"SELECT gender, avg(CASE WHEN monthly_wage > 100000 THEN monthly_wage END) FROM {H} GROUP BY gender",
    f"SELECT gender, count_if(monthly_wage > 100000) FROM {H} GROUP BY gender",
    f"SELECT gender, sum(monthly_wage) FILTER (WHERE monthly_wage > 100000) FROM {H} GROUP BY gender",
])
def test_only_the_group_with_the_isolated_member_is_suppressed(sql: str, governed: Governed) -> None:
    # women: nobody above 100,000, an empty region reveals no one; men: one, so the row goes
    assert [row[0] for row in governed.rows(sql)] == ["女"]
    assert all(row[1] in (None, 0) for row in governed.rows(sql))


def test_large_sub_populations_pass(governed: Governed, raw) -> None:  # type: ignore[no-untyped-def]
    # regions of 39..96 persons and 16..28 enterprises per group
    sql = (f"SELECT gender, count(*) FILTER (WHERE monthly_wage > 11000) AS n_high, "
           f"avg(CASE WHEN monthly_wage <= 11000 THEN monthly_wage END) AS low_avg FROM {H} GROUP BY gender "
           "ORDER BY gender")
    assert governed.rows(sql) == raw.execute(sql).fetchall()


def test_few_null_values_do_not_hide_a_group(governed: Governed, raw) -> None:  # type: ignore[no-untyped-def]
    # three enterprises report no profit: the average is over the others, which are many
    sql = f"SELECT count(*) AS n, avg(total_profit) AS p FROM {S}"
    assert governed.rows(sql) == raw.execute(sql).fetchall()


def test_an_average_over_few_non_null_values_is_suppressed(governed: Governed, raw) -> None:  # type: ignore[no-untyped-def]
    third = raw.execute(f"SELECT sales_revenue FROM {S} ORDER BY sales_revenue DESC LIMIT 1 OFFSET 2").fetchone()[0]
    sql = f"SELECT count(*), avg(CASE WHEN sales_revenue >= {third} THEN total_profit END) FROM {S}"
    assert raw.execute(sql).fetchone()[1] is not None  # three enterprises' profits, averaged
    assert governed.rows(sql) == []
