"""Property tests of the aggregation rule (R1.1a, R1.1b): whatever the data and the grouping, every
row the engine returns was built from at least k distinct persons and k distinct enterprises.

Hypothesis draws a small table (persons possibly repeated, enterprises from a small pool, NULLs), k,
a grouping, a filter, an optional join and an optional inner aggregation; the governed answer is
checked row by row against the true subject counts computed by raw DuckDB.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from opdomain.compute.analysis import QueryRefused, analyze
from opdomain.compute.engine import open_engine
from opdomain.compute.policy import ColumnPolicy, GrantPolicy, TablePolicy

ROW = st.tuples(
    st.integers(0, 40),  # person
    st.integers(0, 12),  # enterprise
    st.integers(0, 3),  # a
    st.integers(0, 2),  # b
    st.one_of(st.none(), st.integers(-50, 500)),  # v
)


def grant(k: int, unique_person: bool, weighted: bool = False) -> GrantPolicy:
    return GrantPolicy("prop", k=k, tables=(
        TablePolicy("t.rows", (
            ColumnPolicy("pid", "string", "L4", "resident_id", "person"),
            ColumnPolicy("eid", "string", "L1", "credit_code", "enterprise"),
            ColumnPolicy("a", "integer", "L1", None, None),
            ColumnPolicy("b", "integer", "L1", None, None),
            ColumnPolicy("v", "number", "L2", None, None),
        ), subject_unique=frozenset({"person"}) if unique_person else frozenset(),
           subject_weighted=frozenset({"person", "enterprise"}) if weighted else frozenset()),
        TablePolicy("t.firms", (
            ColumnPolicy("eid", "string", "L1", "credit_code", "enterprise"),
            ColumnPolicy("c", "integer", "L1", None, None),
        ), subject_unique=frozenset({"enterprise"})),
    ))


def data(rows: list[tuple[int, int, int, int, int | None]], unique_person: bool) -> dict[str, pa.Table]:
    if unique_person:
        seen: set[int] = set()
        rows = [r for r in rows if not (r[0] in seen or seen.add(r[0]))]  # type: ignore[func-returns-value]
    return {
        "t.rows": pa.table({
            "pid": [f"p{r[0]}" for r in rows], "eid": [f"e{r[1]}" for r in rows],
            "a": pa.array([r[2] for r in rows], pa.int64()), "b": pa.array([r[3] for r in rows], pa.int64()),
            "v": pa.array([None if r[4] is None else float(r[4]) for r in rows], pa.float64()),
        }),
        "t.firms": pa.table({"eid": [f"e{i}" for i in range(13)],
                             "c": pa.array([i % 3 for i in range(13)], pa.int64())}),
    }


def raw_connection(tables: dict[str, pa.Table]) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA t")
    for name, table in tables.items():
        conn.register("x", table)
        conn.execute(f"CREATE TABLE {name} AS SELECT * FROM x")
        conn.unregister("x")
    return conn


FILTERS = ["", "WHERE r.v > 100", "WHERE r.v IS NOT NULL", "WHERE r.a <> 1 OR r.b = 2", "WHERE r.v BETWEEN 0 AND 300"]
AGGREGATES = ["count(*)", "sum(r.v)", "avg(r.v)", "count(DISTINCT r.pid)", "count(r.v)",
              "count(*) FILTER (WHERE r.v > 200)", "sum(CASE WHEN r.b = 0 THEN r.v END)"]


@st.composite
def queries(draw: Any) -> tuple[str, str, list[str]]:
    """(governed SQL, SQL of the true subject counts per group, group key names)."""
    keys = draw(st.lists(st.sampled_from(["a", "b", "c"]), unique=True, max_size=2))
    join = "c" in keys or draw(st.booleans())
    nested = draw(st.booleans())
    where = draw(st.sampled_from(FILTERS))
    source = "t.rows r" + (" JOIN t.firms f ON r.eid = f.eid" if join else "")
    key_exprs = [("f.c" if k == "c" else f"r.{k}") for k in keys]
    truth_keys = ", ".join(key_exprs)
    truth = (f"SELECT {truth_keys + ', ' if keys else ''}count(DISTINCT r.pid), count(DISTINCT r.eid) FROM {source} "
             f"{where} {'GROUP BY ' + truth_keys if keys else ''}")
    if nested:
        # per enterprise first, then per group: the enterprise is a group key inside
        inner_keys = ", ".join(["r.eid", *key_exprs])
        inner_out = ", ".join([f"{e} AS k{i}" for i, e in enumerate(key_exprs)] + ["r.eid AS eid"])
        outer_keys = ", ".join(f"s.k{i}" for i in range(len(keys)))
        sql = (f"SELECT {outer_keys + ', ' if keys else ''}count(*) AS firms, avg(s.n) AS per_firm, sum(s.total) AS t "
               f"FROM (SELECT {inner_out}, count(*) AS n, sum(r.v) AS total FROM {source} {where} "
               f"GROUP BY {inner_keys}) s {'GROUP BY ' + outer_keys if keys else ''}")
    else:
        aggs = draw(st.lists(st.sampled_from(AGGREGATES), min_size=1, max_size=3, unique=True))
        sql = (f"SELECT {truth_keys + ', ' if keys else ''}{', '.join(aggs)} FROM {source} {where} "
               f"{'GROUP BY ' + truth_keys if keys else ''}")
    return sql, truth, keys


@settings(max_examples=70, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(ROW, max_size=150), k=st.integers(2, 8), unique_person=st.booleans(), weighted=st.booleans(),
       query=queries())
def test_every_returned_row_holds_k_persons_and_k_enterprises(
    rows: list[tuple[int, int, int, int, int | None]], k: int, unique_person: bool, weighted: bool,
    query: tuple[str, str, list[str]],
) -> None:
    """Also with precomputed subject weights (the fast path must be as safe as the exact count)."""
    sql, truth_sql, keys = query
    policy = grant(k, unique_person, weighted)
    tables = data(rows, unique_person)
    try:
        analysed = analyze(sql, policy, "domain")
    except QueryRefused as refused:  # only the documented refusals, never a crash
        assert refused.code in ("query.too_many_conditions",)
        return
    weights = {"t.rows": ["pid", "eid"]} if weighted else None
    with open_engine(tables, memory_limit="128MB", threads=1, subject_weights=weights) as engine:
        _cols, got, _cut = engine.run(analysed.rewritten_sql, 10_000)
    conn = raw_connection(tables)
    truth = {tuple(r[: len(keys)]): r[len(keys):] for r in conn.execute(truth_sql).fetchall()}
    for row in got:
        persons, enterprises = truth[tuple(row[: len(keys)])]
        assert persons >= k and enterprises >= k, (sql, row, persons, enterprises)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(ROW, max_size=150), k=st.integers(2, 8),
       keys=st.lists(st.sampled_from(["a", "b"]), unique=True, max_size=2), weighted=st.booleans())
def test_count_queries_return_exactly_the_groups_of_k(rows: list[tuple[int, int, int, int, int | None]], k: int,
                                                      keys: list[str], weighted: bool) -> None:
    """No over-suppression either: a plain count keeps every group that holds k of each subject type."""
    policy = grant(k, unique_person=False, weighted=weighted)
    tables = data(rows, unique_person=False)
    key_list = ", ".join(keys)
    sql = f"SELECT {key_list + ', ' if keys else ''}count(*) AS n FROM t.rows {'GROUP BY ' + key_list if keys else ''}"
    weights = {"t.rows": ["pid", "eid"]} if weighted else None
    with open_engine(tables, memory_limit="128MB", threads=1, subject_weights=weights) as engine:
        _cols, got, _cut = engine.run(analyze(sql, policy, "domain").rewritten_sql, 10_000)
    conn = raw_connection(tables)
    truth = conn.execute(
        f"SELECT {key_list + ', ' if keys else ''}count(*) FROM t.rows {'GROUP BY ' + key_list if keys else ''} "
        f"HAVING count(DISTINCT pid) >= {k} AND count(DISTINCT eid) >= {k}").fetchall()
    assert sorted(got) == sorted(truth)


SQL_TOKENS = st.sampled_from([
    "SELECT", "FROM", "WHERE", "GROUP BY", "HAVING", "ORDER BY", "LIMIT", "UNION", "JOIN", "ON", "AND", "OR", "NOT",
    "(", ")", ",", ";", "*", "=", "<", ">", "'x'", "1", "0.5", "NULL", "t.rows", "t.firms", "r", "a", "b", "v", "pid",
    "eid", "count(*)", "sum(v)", "max(v)", "read_csv('/etc/passwd')", "PRAGMA", "SET", "COPY", "ATTACH", "AS", "--",
    "/*", "*/", "DISTINCT", "CASE", "WHEN", "THEN", "END", "IN", "EXISTS", "OVER", "FILTER",
])


@settings(max_examples=300, deadline=None)
@given(tokens=st.lists(SQL_TOKENS, min_size=1, max_size=25), environment=st.sampled_from(["dev", "domain"]))
def test_any_input_is_answered_or_refused_never_a_crash(tokens: list[str], environment: str) -> None:
    sql = " ".join(tokens)
    assume(sql.strip())
    try:
        analysed = analyze(sql, grant(5, False), environment)  # type: ignore[arg-type]
    except QueryRefused as refused:
        assert refused.code.startswith("query.") and refused.message.zh and refused.message.en
        return
    assert analysed.rewritten_sql
