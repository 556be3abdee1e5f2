"""Legitimate aggregate queries on the scenario still work, with the same numbers as raw DuckDB.

The aggregation rule (R1.1a, R1.1b) must stop disclosure, not analysis: grade distributions, averages
per category, per-enterprise indicators summarised per category — the statistics that may leave the
domain (SCENARIO.md, "What may leave the domain") — come out exactly as the raw data gives them.
"""

from __future__ import annotations

import math

import pytest

from .conftest import Governed

H = "hrss.insured_employees"
E = "eit.mu_efficiency"
S = "stats.sales_profit"
R = "amr.enterprise_registry"

GRADE = ("CASE WHEN e.tax_per_mu >= 60000 THEN 'A' WHEN e.tax_per_mu >= 30000 THEN 'B' ELSE 'C' END")

LEGIT = [
    ("enterprises per category", f"SELECT is_above_scale, count(*) AS n FROM {E} GROUP BY 1 ORDER BY 1"),
    ("averages per category",
     f"SELECT e.is_above_scale, avg(s.sales_revenue) AS revenue, avg(s.total_profit) AS profit, "
     f"avg(e.tax_per_mu) AS tax FROM {S} s JOIN {E} e ON s.uscc = e.uscc GROUP BY 1 ORDER BY 1"),
    ("grade distribution", f"SELECT {GRADE} AS grade, count(*) AS n FROM {E} e GROUP BY 1 ORDER BY 1"),
    ("grade distribution as columns",
     f"SELECT count(*) FILTER (WHERE e.tax_per_mu >= 30000) AS a_or_b, "
     f"count(*) FILTER (WHERE e.tax_per_mu < 30000) AS c, avg(e.tax_per_mu) FILTER (WHERE e.is_above_scale) AS t "
     f"FROM {E} e"),
    ("mean indicator per grade",
     f"SELECT {GRADE} AS grade, avg(s.labor_productivity) AS productivity, avg(e.value_added_per_mu) AS va "
     f"FROM {E} e JOIN {S} s USING (uscc) GROUP BY 1 ORDER BY 1"),
    ("wages per category", f"SELECT e.is_above_scale, count(*) AS employees, round(avg(h.monthly_wage), 2) AS wage, "
     f"stddev(h.monthly_wage) AS sd FROM {H} h JOIN {E} e ON h.uscc = e.uscc GROUP BY 1 ORDER BY 1"),
    ("wages per gender",
     f"SELECT gender, count(*), avg(monthly_wage), sum(monthly_wage) FROM {H} GROUP BY 1 ORDER BY 1"),
    ("employees per enterprise, averaged per category",
     f"WITH per AS (SELECT uscc, count(*) AS employees, avg(monthly_wage) AS wage FROM {H} GROUP BY uscc) "
     f"SELECT e.is_above_scale, avg(per.employees) AS employees, avg(per.wage) AS wage, count(*) AS n "
     f"FROM per JOIN {E} e ON per.uscc = e.uscc GROUP BY 1 ORDER BY 1"),
    ("distribution of firm sizes",
     f"SELECT CASE WHEN n <= 2 THEN 'small' ELSE 'larger' END AS size, count(*) AS firms FROM "
     f"(SELECT uscc, count(*) AS n FROM {H} GROUP BY uscc) t GROUP BY 1 ORDER BY 1"),
    ("distinct people and firms",
     f"SELECT count(DISTINCT person_id) AS people, count(DISTINCT uscc) AS firms FROM {H}"),
    ("above-average earners per gender",
     f"SELECT gender, count(*) AS n FROM {H} WHERE monthly_wage > (SELECT avg(monthly_wage) FROM {H}) "
     "GROUP BY 1 ORDER BY 1"),
    ("employees of above-scale enterprises",
     f"SELECT gender, count(*) AS n FROM {H} WHERE uscc IN (SELECT uscc FROM {E} WHERE is_above_scale) "
     "GROUP BY 1 ORDER BY 1"),
    ("filters on L4 values", f"SELECT gender, count(*) AS n, avg(monthly_wage) AS w FROM {H} "
     "WHERE monthly_wage BETWEEN 5000 AND 15000 AND birth_date >= DATE '1970-01-01' GROUP BY 1 ORDER BY 1"),
    ("joint-stock share", f"SELECT r.is_joint_stock, count(*) AS n, avg(s.sales_revenue) AS revenue FROM {R} r "
     f"JOIN {S} s ON r.uscc = s.uscc GROUP BY 1 ORDER BY 1"),
    ("derived ratio", f"SELECT e.is_above_scale, sum(s.total_profit) / sum(s.sales_revenue) AS margin FROM {S} s "
     f"JOIN {E} e ON s.uscc = e.uscc WHERE s.total_profit IS NOT NULL GROUP BY 1 ORDER BY 1"),
    ("order statistics on L1/L2", f"SELECT is_above_scale, min(land_mu), max(land_mu), median(value_added_per_mu) "
     f"FROM {E} GROUP BY 1 ORDER BY 1"),
    ("top categories", f"SELECT honors, count(*) AS n FROM {E} GROUP BY honors ORDER BY n DESC LIMIT 1"),
    ("distinct categories", f"SELECT DISTINCT is_above_scale FROM {E} ORDER BY 1"),
    ("nested average of averages",
     f"SELECT avg(w) AS w FROM (SELECT e.is_above_scale, avg(h.monthly_wage) AS w FROM {H} h "
     f"JOIN {E} e ON h.uscc = e.uscc GROUP BY 1) t"),
    ("totals over the whole grant", f"SELECT count(*), sum(monthly_wage), avg(monthly_wage) FROM {H}"),
]


def _same(a: list[tuple[object, ...]], b: list[tuple[object, ...]]) -> bool:
    if len(a) != len(b):
        return False
    for ra, rb in zip(a, b, strict=True):
        for va, vb in zip(ra, rb, strict=True):
            if isinstance(va, float) and isinstance(vb, float):
                if not math.isclose(va, vb, rel_tol=1e-9, abs_tol=1e-9):
                    return False
            elif va != vb:
                return False
    return True


@pytest.mark.parametrize("name, sql", LEGIT, ids=[n for n, _ in LEGIT])
def test_legitimate_query_matches_raw_duckdb(name: str, sql: str, governed: Governed, raw) -> None:  # type: ignore[no-untyped-def]
    expected = raw.execute(sql).fetchall()
    assert expected, "the raw data answers"
    got = governed.rows(sql)
    assert _same(got, expected), f"{name}\n governed: {got}\n raw:      {expected}"


def test_small_grades_are_dropped_but_the_rest_is_exact(governed: Governed, raw) -> None:  # type: ignore[no-untyped-def]
    """Grade distribution per category: with 50 enterprises some cells are below k and go; the rest is exact."""
    sql = f"SELECT e.is_above_scale, {GRADE} AS grade, count(*) AS n FROM {E} e GROUP BY 1, 2 ORDER BY 1, 2"
    expected = [r for r in raw.execute(sql).fetchall() if r[2] >= 10]
    got = governed.rows(sql)
    assert got == expected
    assert len(got) < len(raw.execute(sql).fetchall())


def test_the_analysis_reports_what_it_decided(governed: Governed) -> None:
    analysed = governed.analyze(f"SELECT e.is_above_scale, avg(h.monthly_wage) AS w FROM {H} h JOIN {E} e "
                                "ON h.uscc = e.uscc GROUP BY 1")
    assert analysed.k == 10
    assert analysed.subject_types == ("enterprise", "person")
    assert analysed.tables == (E, H)
    assert f"{H}.monthly_wage" in analysed.columns and f"{E}.is_above_scale" in analysed.columns
    assert analysed.output_columns == ("is_above_scale", "w")
    assert analysed.key_columns == ("is_above_scale",)
    assert any(d.startswith("k=10 on person") for d in analysed.decisions)
    assert any(d.startswith("masked: ") for d in analysed.decisions)


# -- the dev environment: rows visible, the same scope and function rules --------------------------
def test_dev_shows_rows_and_allows_windows_and_lists(governed: Governed, raw) -> None:  # type: ignore[no-untyped-def]
    sql = (f"SELECT gender, monthly_wage, row_number() OVER (PARTITION BY gender ORDER BY monthly_wage DESC) AS r "
           f"FROM {H} ORDER BY gender, r LIMIT 5")
    assert governed.rows(sql, "dev") == raw.execute(sql).fetchall()
    analysed = governed.analyze(f"SELECT string_agg(gender, ','), max(monthly_wage) FROM {H}", "dev")
    assert analysed.k is None and analysed.environment == "dev"
    assert governed.rows(f"SELECT count(*) FROM {H} UNION ALL SELECT count(*) FROM {E}", "dev") == [
        (raw.execute(f"SELECT count(*) FROM {H}").fetchone()[0],), (50,)]


@pytest.mark.parametrize("sql, code", [
    ("SELECT * FROM read_csv('/etc/passwd')", "query.function_not_allowed"),
    ("PRAGMA database_list", "query.not_select"),
    ("SELECT secret FROM hrss.insured_employees", "query.column_not_granted"),
    ("SELECT * FROM fin.shareholding_reform", "query.unknown_table"),
    ("SELECT 1; SELECT 2", "query.multiple_statements"),
])
def test_dev_keeps_scope_and_allow_list(sql: str, code: str, governed: Governed) -> None:
    assert governed.refusal(sql, "dev").code == code
