"""Shared fixtures of the governed-query tests: a small synthetic dataset shaped like the scenario.

~50 enterprises and ~400 insured employees (heavy-tailed: many firms with a handful of employees,
a few with many), in ``amr.enterprise_registry``, ``hrss.insured_employees``, ``stats.sales_profit``
and ``eit.mu_efficiency`` (SCENARIO.md), a grant over them with the scenario's grades, and engines
that hold the data: a locked one (:func:`opdomain.compute.engine.open_engine`) and a raw DuckDB
connection used as the reference for expected numbers.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator

import duckdb
import pyarrow as pa
import pytest

from opdomain.compute.analysis import AnalyzedQuery, QueryRefused, analyze
from opdomain.compute.engine import Engine, open_engine
from opdomain.compute.policy import ColumnPolicy, GrantPolicy, TablePolicy

K = 10
PSEUDONYM = "'P_' || substr(md5(CAST({col} AS VARCHAR)), 1, 12)"
N_ENTERPRISES = 50


def _uscc(i: int) -> str:
    return f"91330324MA{i:07d}X"


def _resident_id(i: int) -> str:
    return f"330324{1970 + i % 30}0101{i:04d}"


def build_tables(seed: int = 2023) -> dict[str, pa.Table]:
    rng = random.Random(seed)
    ents = [_uscc(i) for i in range(N_ENTERPRISES)]
    # heavy-tailed sizes: a few large firms, many small ones (1..4 employees)
    sizes = [rng.choice([1, 1, 2, 3, 4, 6]) for _ in ents]
    for big, size in ((0, 80), (1, 60), (2, 45), (3, 30), (4, 25), (5, 20)):
        sizes[big] = size
    registry = {
        "uscc": ents,
        "name": [f"永嘉泵阀{i}号有限公司" for i in range(N_ENTERPRISES)],
        "legal_rep_name": [f"法人{i}" for i in range(N_ENTERPRISES)],
        "legal_rep_id": [_resident_id(5000 + i) for i in range(N_ENTERPRISES)],
        "phone": [f"1380000{i:04d}" for i in range(N_ENTERPRISES)],
        "address": [f"永嘉县瓯北街道{i}号" for i in range(N_ENTERPRISES)],
        "registered_capital": [float(100 + 37 * i) for i in range(N_ENTERPRISES)],
        "established_on": [dt.date(1990 + i % 30, 1 + i % 12, 1) for i in range(N_ENTERPRISES)],
        "is_joint_stock": [i % 5 == 0 for i in range(N_ENTERPRISES)],
    }
    emp: dict[str, list[object]] = {k: [] for k in (
        "uscc", "person_id", "name", "birth_date", "gender", "monthly_wage", "insured_since")}
    n = 0
    for e, size in zip(ents, sizes, strict=True):
        for _ in range(size):
            emp["uscc"].append(e)
            emp["person_id"].append(_resident_id(n))
            emp["name"].append(f"员工{n}")
            emp["birth_date"].append(dt.date(1965 + n % 35, 1 + n % 12, 1 + n % 28))
            emp["gender"].append("男" if rng.random() < 0.6 else "女")
            emp["monthly_wage"].append(float(rng.randrange(3000, 20000, 10)))
            emp["insured_since"].append(dt.date(2005 + n % 17, 1, 1))
            n += 1
    # one very high earner in the biggest firm: the classic target
    emp["monthly_wage"][0] = 250000.0
    emp["gender"][0] = "男"
    revenue = [float(rng.randrange(5_000_000, 60_000_000, 1000)) for _ in ents]
    profit: list[float | None] = [round(r * rng.uniform(-0.05, 0.15), 2) for r in revenue]
    for i in (7, 13, 21):  # a few enterprises report no profit figure
        profit[i] = None
    stats = {
        "uscc": ents,
        "year": [2022] * N_ENTERPRISES,
        "sales_revenue": revenue,
        "total_profit": profit,
        "labor_productivity": [round(revenue[i] / max(sizes[i], 1), 2) for i in range(N_ENTERPRISES)],
    }
    eit = {
        "uscc": ents,
        "year": [2022] * N_ENTERPRISES,
        "land_mu": [float(5 + i % 40) for i in range(N_ENTERPRISES)],
        "value_added": [float(rng.randrange(1_000_000, 20_000_000, 1000)) for _ in ents],
        "tax_per_mu": [float(rng.randrange(1000, 90000, 10)) for _ in ents],
        "value_added_per_mu": [float(rng.randrange(10000, 900000, 10)) for _ in ents],
        "is_above_scale": [r >= 20_000_000 for r in revenue],
        "honors": [rng.choice([0, 0, 1, 1, 2, 3]) for _ in ents],
    }
    return {
        "amr.enterprise_registry": pa.table(registry),
        "hrss.insured_employees": pa.table(emp),
        "stats.sales_profit": pa.table(stats),
        "eit.mu_efficiency": pa.table(eit),
    }


def C(name: str, type_: str, grade: str = "L1", identifier: str | None = None, subject: str | None = None,
      mask: str | None = None) -> ColumnPolicy:
    return ColumnPolicy(name, type_, grade, identifier, subject, mask)


def build_policy(*, k: int = K, consent: frozenset[str] = frozenset()) -> GrantPolicy:
    return GrantPolicy(
        grant_id="bengfa-test",
        k=k,
        consent_subjects=consent,
        tables=(
            TablePolicy("amr.enterprise_registry", (
                C("uscc", "string", "L1", "credit_code", "enterprise"),
                C("name", "string", "L3"),
                C("legal_rep_name", "string", "L4", "person_name"),
                C("legal_rep_id", "string", "L4", "resident_id", mask=PSEUDONYM),
                C("phone", "string", "L4", "mobile"),
                C("address", "string", "L3", "address"),
                C("registered_capital", "number", "L2"),
                C("established_on", "date", "L1"),
                C("is_joint_stock", "boolean", "L1"),
            ), subject_unique=frozenset({"enterprise"})),
            TablePolicy("hrss.insured_employees", (
                C("uscc", "string", "L1", "credit_code", "enterprise"),
                C("person_id", "string", "L4", "resident_id", "person", mask=PSEUDONYM),
                C("name", "string", "L4", "person_name"),
                C("birth_date", "date", "L4"),
                C("gender", "string", "L1"),
                C("monthly_wage", "number", "L4"),
                C("insured_since", "date", "L2"),
            ), subject_unique=frozenset({"person"})),
            TablePolicy("stats.sales_profit", (
                C("uscc", "string", "L1", "credit_code", "enterprise"),
                C("year", "integer", "L1"),
                C("sales_revenue", "number", "L3"),
                C("total_profit", "number", "L3"),
                C("labor_productivity", "number", "L2"),
            ), subject_unique=frozenset({"enterprise"})),
            TablePolicy("eit.mu_efficiency", (
                C("uscc", "string", "L1", "credit_code", "enterprise"),
                C("year", "integer", "L1"),
                C("land_mu", "number", "L2"),
                C("value_added", "number", "L2"),
                C("tax_per_mu", "number", "L2"),
                C("value_added_per_mu", "number", "L2"),
                C("is_above_scale", "boolean", "L1"),
                C("honors", "integer", "L1"),
            ), subject_unique=frozenset({"enterprise"})),
        ),
    )


@pytest.fixture(scope="session")
def tables() -> dict[str, pa.Table]:
    return build_tables()


@pytest.fixture(scope="session")
def policy() -> GrantPolicy:
    return build_policy()


@pytest.fixture(scope="session")
def engine(tables: dict[str, pa.Table]) -> Iterator[Engine]:
    with open_engine(tables, memory_limit="512MB", threads=2, timeout_s=20) as eng:
        yield eng


@pytest.fixture(scope="session")
def raw(tables: dict[str, pa.Table]) -> Iterator[duckdb.DuckDBPyConnection]:
    """An unlocked DuckDB with the same data: the reference the governed answers are compared to."""
    conn = duckdb.connect()
    for name, table in tables.items():
        schema, rel = name.split(".")
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        conn.register("t", table)
        conn.execute(f"CREATE TABLE {schema}.{rel} AS SELECT * FROM t")
        conn.unregister("t")
    yield conn
    conn.close()


class Governed:
    """Analyse and run governed queries against the fixture engine."""

    def __init__(self, engine: Engine, policy: GrantPolicy) -> None:
        self.engine = engine
        self.policy = policy

    def analyze(self, sql: str, environment: str = "domain") -> AnalyzedQuery:
        return analyze(sql, self.policy, environment)  # type: ignore[arg-type]

    def rows(self, sql: str, environment: str = "domain") -> list[tuple[object, ...]]:
        analysed = self.analyze(sql, environment)
        _cols, rows, _cut = self.engine.run(analysed.rewritten_sql, 10_000)
        return rows

    def refusal(self, sql: str, environment: str = "domain") -> QueryRefused:
        with pytest.raises(QueryRefused) as info:
            self.rows(sql, environment)
        return info.value


@pytest.fixture(scope="session")
def governed(engine: Engine, policy: GrantPolicy) -> Governed:
    return Governed(engine, policy)
