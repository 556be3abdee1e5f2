"""泵阀共富贷 financing-capability rating — the analyst's job (SCENARIO.md, exactly).

Runs inside the job sandbox: reads the grant's tables from ``$OPDOMAIN_IN/<dataset>.parquet``
and writes to ``$OPDOMAIN_OUT``:

- ``scores.parquet``     (internal — never released): uscc, category, the 14 indicator values, total, grade
- ``rating_list.csv``    (releasable, per-subject): uscc, category, grade — one row per enterprise;
  the airlock lets out only the rows of consenting enterprises
- ``grade_distribution.csv`` (releasable, aggregate): category, grade, enterprises
- ``grade_means.csv``    (releasable, aggregate): category, grade, enterprises, mean score and the mean
  of each indicator's value per grade

Scoring: continuous indicators (1, 2, 3, 5, 6, 7, 9, 10, 11, 12) score their percentile rank
within the category — (strictly smaller + 0.5 × equal, itself excluded) / (n − 1), 1.0 when
n = 1; categorical ones (4, 8, 13, 14) their mapping; total = Σ value × weight. Grades: sort by
total descending, ties by uscc ascending; cumulative boundaries round_half_up(n × 0.1, 0.3, 0.5,
0.8) → A, B, C, D, rest E. Can also be imported and called as ``rate(con)`` on a DuckDB
connection holding the same tables (the tests cross-check it against an independent
implementation).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: (number, key, weight, kind) — SCENARIO.md's table; weights sum to 100
INDICATORS: tuple[tuple[int, str, int, str], ...] = (
    (1, "tax_per_mu", 10, "continuous"),
    (2, "value_added_per_mu", 6, "continuous"),
    (3, "total_tax", 8, "continuous"),
    (4, "tax_credit", 8, "categorical"),
    (5, "sales_revenue", 6, "continuous"),
    (6, "total_profit", 8, "continuous"),
    (7, "value_added_per_energy", 6, "continuous"),
    (8, "env_credit", 4, "categorical"),
    (9, "rd_intensity", 8, "continuous"),
    (10, "invention_patents", 6, "continuous"),
    (11, "labor_productivity", 8, "continuous"),
    (12, "insured_employees", 6, "continuous"),
    (13, "honors_certs", 8, "categorical"),
    (14, "reform_stage", 8, "categorical"),
)
assert sum(w for _, _, w, _ in INDICATORS) == 100

TABLES = (
    "amr.certifications",
    "tax.annual_tax",
    "eit.mu_efficiency",
    "stats.sales_profit",
    "eco.green_lowcarbon",
    "sci.innovation",
    "hrss.insured_employees",
    "fin.shareholding_reform",
)

RAW_SQL = """
WITH emp AS (SELECT uscc, count(*) AS n FROM hrss.insured_employees GROUP BY uscc),
cert AS (SELECT uscc, count(*) AS n FROM amr.certifications GROUP BY uscc)
SELECT e.uscc,
       CASE WHEN e.is_above_scale THEN '规上' ELSE '规下' END AS category,
       e.tax_per_mu::DOUBLE AS tax_per_mu,
       e.value_added_per_mu::DOUBLE AS value_added_per_mu,
       t.total_tax::DOUBLE AS total_tax,
       CASE t.tax_credit_grade WHEN 'A' THEN 1.0 WHEN 'B' THEN 0.8 WHEN 'M' THEN 0.6 WHEN 'C' THEN 0.3
            ELSE 0.0 END AS tax_credit,
       s.sales_revenue::DOUBLE AS sales_revenue,
       s.total_profit::DOUBLE AS total_profit,
       g.value_added_per_energy::DOUBLE AS value_added_per_energy,
       CASE g.env_credit_color WHEN '绿' THEN 1.0 WHEN '蓝' THEN 0.8 WHEN '黄' THEN 0.4 ELSE 0.0 END AS env_credit,
       CASE WHEN s.sales_revenue::DOUBLE = 0 THEN 0.0
            ELSE i.rd_expense::DOUBLE / s.sales_revenue::DOUBLE END AS rd_intensity,
       i.invention_patents::DOUBLE AS invention_patents,
       s.labor_productivity::DOUBLE AS labor_productivity,
       coalesce(emp.n, 0)::DOUBLE AS insured_employees,
       least(e.honors + coalesce(cert.n, 0), 4) / 4.0 AS honors_certs,
       CASE f.stage WHEN '已上市' THEN 1.0 WHEN '已完成股改' THEN 0.8 WHEN '推进中' THEN 0.5 ELSE 0.0 END
           AS reform_stage
FROM eit.mu_efficiency e
JOIN tax.annual_tax t USING (uscc)
JOIN stats.sales_profit s USING (uscc)
JOIN eco.green_lowcarbon g USING (uscc)
JOIN sci.innovation i USING (uscc)
JOIN fin.shareholding_reform f USING (uscc)
LEFT JOIN emp USING (uscc)
LEFT JOIN cert USING (uscc)
"""


def _score_sql() -> str:
    parts = []
    for _, key, _, kind in INDICATORS:
        if kind == "continuous":
            parts.append(
                f"CASE WHEN count(*) OVER (PARTITION BY category) = 1 THEN 1.0 ELSE "
                f"((rank() OVER (PARTITION BY category ORDER BY {key}) - 1) "
                f"+ 0.5 * (count(*) OVER (PARTITION BY category, {key}) - 1)) "
                f"/ (count(*) OVER (PARTITION BY category) - 1) END AS v_{key}"
            )
        else:
            parts.append(f"{key} AS v_{key}")
    total = " + ".join(f"v_{key} * {w}" for _, key, w, _ in INDICATORS)
    return f"""
    WITH raw AS ({RAW_SQL}),
    valued AS (SELECT uscc, category, {", ".join(parts)} FROM raw),
    totals AS (SELECT *, {total} AS total FROM valued),
    ranked AS (SELECT *, row_number() OVER (PARTITION BY category ORDER BY total DESC, uscc ASC) AS pos,
                         count(*) OVER (PARTITION BY category) AS n FROM totals)
    -- round_half_up(n × m / 10) in exact integer arithmetic: (2·n·m + 10) // 20
    SELECT * EXCLUDE (pos, n),
           CASE WHEN pos <= (2 * n * 1 + 10) // 20 THEN 'A'
                WHEN pos <= (2 * n * 3 + 10) // 20 THEN 'B'
                WHEN pos <= (2 * n * 5 + 10) // 20 THEN 'C'
                WHEN pos <= (2 * n * 8 + 10) // 20 THEN 'D'
                ELSE 'E' END AS grade
    FROM ranked ORDER BY category, total DESC, uscc
    """


def rate(con) -> None:  # type: ignore[no-untyped-def]
    """Creates table ``scores`` on ``con`` from the scenario's tables (already attached by name)."""
    con.execute(f"CREATE OR REPLACE TABLE scores AS {_score_sql()}")


def main() -> int:
    import duckdb

    src, out = Path(os.environ.get("OPDOMAIN_IN", "/in")), Path(os.environ.get("OPDOMAIN_OUT", "/out"))
    con = duckdb.connect()
    for name in TABLES:
        schema, table = name.split(".")
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        path = str(src / f"{name}.parquet").replace("'", "''")
        con.execute(f"CREATE VIEW {schema}.{table} AS SELECT * FROM read_parquet('{path}')")
    rate(con)
    means = ", ".join(f"avg(v_{key}) AS mean_{key}" for _, key, _, _ in INDICATORS)
    con.execute(f"COPY scores TO '{out / 'scores.parquet'}' (FORMAT parquet)")
    con.execute(
        f"COPY (SELECT uscc, category, grade FROM scores ORDER BY uscc) TO '{out / 'rating_list.csv'}' (HEADER)"
    )
    con.execute(
        f"COPY (SELECT category, grade, count(*) AS enterprises FROM scores GROUP BY ALL ORDER BY ALL) "
        f"TO '{out / 'grade_distribution.csv'}' (HEADER)"
    )
    con.execute(
        f"COPY (SELECT category, grade, count(*) AS enterprises, round(avg(total), 2) AS mean_score, {means} "
        f"FROM scores GROUP BY ALL ORDER BY ALL) TO '{out / 'grade_means.csv'}' (HEADER)"
    )
    n = con.execute("SELECT count(*) FROM scores").fetchall()[0][0]
    print(f"rated {n} enterprises")  # logs carry counts, never values
    return 0


if __name__ == "__main__":
    sys.exit(main())
