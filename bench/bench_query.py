"""Governed queries (issue 3): analysis + rewrite time per query (median, p95; aim < 5 ms median) and
a governed aggregate over a 10,000,000-row table as a ratio to the same query on raw DuckDB in the
same run (aim ≤ 1.3×). Both engines hold the same Arrow table, with the same thread count."""

from __future__ import annotations

import statistics
import time
from dataclasses import replace

import duckdb
import numpy as np
import pyarrow as pa

from bench.harness import BenchContext, Figure
from opdomain.compute.analysis import analyze
from opdomain.compute.engine import open_engine
from opdomain.compute.policy import ColumnPolicy, GrantPolicy, TablePolicy

POLICY = GrantPolicy(
    grant_id="bench",
    tables=(
        TablePolicy(
            "hrss.insured_employees",
            (
                ColumnPolicy("uscc", "string", "L2", "credit_code", "enterprise"),
                ColumnPolicy("person_id", "string", "L4", "resident_id", "person"),
                ColumnPolicy("gender", "string", "L2", None, None),
                ColumnPolicy("birth_year", "integer", "L3", None, None),
                ColumnPolicy("monthly_wage", "number", "L4", None, None),
            ),
            subject_unique=frozenset({"person"}),
        ),
        TablePolicy(
            "eit.mu_efficiency",
            (
                ColumnPolicy("uscc", "string", "L2", "credit_code", "enterprise"),
                ColumnPolicy("is_above_scale", "boolean", "L2", None, None),
                ColumnPolicy("tax_per_mu", "number", "L2", None, None),
            ),
            subject_unique=frozenset({"enterprise"}),
        ),
    ),
    k=10,
)

QUERIES = [
    "SELECT gender, count(*) AS n, avg(monthly_wage) AS wage FROM hrss.insured_employees GROUP BY gender",
    "SELECT is_above_scale, count(*) AS n, avg(tax_per_mu) FROM eit.mu_efficiency GROUP BY is_above_scale",
    "SELECT e.is_above_scale, h.gender, count(*) AS n FROM hrss.insured_employees h "
    "JOIN eit.mu_efficiency e ON h.uscc = e.uscc GROUP BY 1, 2",
    "WITH w AS (SELECT uscc, avg(monthly_wage) AS w FROM hrss.insured_employees GROUP BY uscc) "
    "SELECT e.is_above_scale, avg(w.w) FROM w JOIN eit.mu_efficiency e ON e.uscc = w.uscc GROUP BY 1",
    "SELECT birth_year, count(*) FROM hrss.insured_employees WHERE monthly_wage > 8000 GROUP BY birth_year",
    "SELECT count(*) FROM hrss.insured_employees",
]
GOVERNED = QUERIES[0]


def _tables(rows: int) -> dict[str, pa.Table]:
    rng = np.random.default_rng(2023)
    enterprises = max(rows // 20, 50)
    ent = np.char.add("91330324", np.char.zfill(np.arange(enterprises).astype(str), 10))
    hrss = pa.table(
        {
            "uscc": pa.array(ent[rng.integers(0, enterprises, rows)]),
            "person_id": pa.array(np.char.add("330324", np.char.zfill(np.arange(rows).astype(str), 12))),
            "gender": pa.array(np.where(rng.random(rows) < 0.5, "男", "女")),
            "birth_year": pa.array(rng.integers(1960, 2004, rows)),
            "monthly_wage": pa.array(rng.lognormal(8.8, 0.4, rows)),
        }
    )
    eit = pa.table(
        {
            "uscc": pa.array(ent),
            "is_above_scale": pa.array(rng.random(enterprises) < 0.3),
            "tax_per_mu": pa.array(rng.lognormal(10, 1, enterprises)),
        }
    )
    return {"hrss.insured_employees": hrss, "eit.mu_efficiency": eit}


def _median_p95(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    return statistics.median(s), s[min(len(s) - 1, int(len(s) * 0.95))]


def run(ctx: BenchContext) -> list[Figure]:
    rounds = 20 if ctx.quick else 100
    analysis_ms: list[float] = []
    for _ in range(rounds):
        for q in QUERIES:
            t = time.perf_counter()
            analyze(q, POLICY, "domain")
            analysis_ms.append((time.perf_counter() - t) * 1000)
    med, p95 = _median_p95(analysis_ms)

    rows = 1_000_000 if ctx.quick else 10_000_000
    tables = _tables(rows)
    raw = duckdb.connect(config={"threads": 2})
    for name, table in tables.items():
        schema, tbl = name.split(".")
        raw.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        raw.register("t", table)
        raw.execute(f"CREATE TABLE {schema}.{tbl} AS SELECT * FROM t")
        raw.unregister("t")
    t = time.perf_counter()
    engine = open_engine(tables, threads=2, memory_limit="8GB", timeout_s=120)
    load_s = time.perf_counter() - t

    def raw_once() -> float:
        t = time.perf_counter()
        raw.execute(GOVERNED).fetchall()
        return time.perf_counter() - t

    def governed_once() -> float:
        t = time.perf_counter()
        analyzed = analyze(GOVERNED, POLICY, "domain")
        engine.run(analyzed.rewritten_sql, 1000)
        return time.perf_counter() - t

    # the service's path: subject weights precomputed once per dataset version (analysis_fastpath)
    weighted_policy = GrantPolicy(
        grant_id="bench",
        tables=tuple(
            replace(
                t, subject_weighted=frozenset({"enterprise"}) if t.name == "hrss.insured_employees" else frozenset()
            )
            for t in POLICY.tables
        ),
        k=10,
    )
    weighted_engine = open_engine(
        tables, threads=2, memory_limit="8GB", timeout_s=120, subject_weights={"hrss.insured_employees": ["uscc"]}
    )

    def weighted_once() -> float:
        t = time.perf_counter()
        analyzed = analyze(GOVERNED, weighted_policy, "domain")
        weighted_engine.run(analyzed.rewritten_sql, 1000)
        return time.perf_counter() - t

    raw_once(), governed_once(), weighted_once()  # warm up
    reps = 3 if ctx.quick else 7
    raw_s = statistics.median(raw_once() for _ in range(reps))
    gov_s = statistics.median(governed_once() for _ in range(reps))
    weighted_s = statistics.median(weighted_once() for _ in range(reps))
    engine.close()
    weighted_engine.close()
    raw.close()
    return [
        Figure("query analysis + rewrite (median)", "ms", med, target="< 5 ms", notes=f"{len(QUERIES)} queries"),
        Figure("query analysis + rewrite (p95)", "ms", p95),
        Figure(
            f"governed aggregate over {rows:,} rows",
            "s",
            gov_s,
            baseline=raw_s,
            baseline_name="same query, raw DuckDB",
            target="≤ 1.3×",
        ),
        Figure(
            f"governed aggregate over {rows:,} rows, precomputed subject weights",
            "s",
            weighted_s,
            baseline=raw_s,
            baseline_name="same query, raw DuckDB",
            target="≤ 1.3×",
            notes="the query service's path",
        ),
        Figure(f"engine open (load {rows:,} rows, lock down)", "s", load_s, notes="once per grant session"),
    ]
