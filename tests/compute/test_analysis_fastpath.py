"""The k check's fast path (precomputed subject weights) gives exactly the exact rewrite's answer (R1.1b)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pyarrow as pa
import pytest

from opdomain.compute.analysis import analyze
from opdomain.compute.engine import Engine, add_subject_weights, open_engine
from opdomain.compute.policy import GrantPolicy

from . import test_attacks, test_legit

H = "hrss.insured_employees"
E = "eit.mu_efficiency"


@pytest.fixture(scope="module")
def weighted_policy(policy: GrantPolicy) -> GrantPolicy:
    return dataclasses.replace(policy, tables=tuple(
        dataclasses.replace(t, subject_weighted=frozenset({"enterprise", "person"})) if t.name == H else t
        for t in policy.tables))


@pytest.fixture(scope="module")
def weighted_engine(tables: dict[str, pa.Table]) -> Iterator[Engine]:
    with open_engine(tables, subject_weights={H: ["uscc", "person_id"]}) as engine:
        yield engine


def test_weights_are_one_over_the_rows_of_each_subject() -> None:
    table = pa.table({"uscc": ["a", "a", "b", None], "x": [1, 2, 3, 4]})
    weighted = add_subject_weights(table, ["uscc"]).to_pylist()
    by_x = {row["x"]: row["__od_w_uscc"] for row in weighted}
    assert by_x == {1: 0.5, 2: 0.5, 3: 1.0, 4: 0.0}
    assert add_subject_weights(add_subject_weights(table, ["uscc"]), ["uscc"]).num_columns == 3


def test_a_flat_aggregate_takes_the_fast_path(weighted_policy: GrantPolicy) -> None:
    analysed = analyze(f"SELECT gender, avg(monthly_wage) AS w FROM {H} GROUP BY gender ORDER BY w DESC LIMIT 5",
                       weighted_policy, "domain")
    sql = analysed.rewritten_sql
    assert '"__od_m" AS MATERIALIZED' in sql and 'SUM("insured_employees"."__od_w_uscc")' in sql
    assert 'COUNT(DISTINCT "insured_employees"."__od_s_uscc")' in sql  # only for uncertain groups
    assert any("weight sum" in d for d in analysed.decisions)
    assert analysed.output_columns == ("gender", "w")


def test_a_join_that_keeps_the_rows_of_the_weighted_table_takes_it_too(weighted_policy: GrantPolicy) -> None:
    sql = f"SELECT e.is_above_scale, avg(h.monthly_wage) FROM {H} h JOIN {E} e ON h.uscc = e.uscc GROUP BY 1"
    assert '"__od_m"' in analyze(sql, weighted_policy, "domain").rewritten_sql


@pytest.mark.parametrize("sql", [
    f"SELECT gender, count(*) FILTER (WHERE monthly_wage > 9000) FROM {H} GROUP BY 1",
    f"SELECT count(*) FROM (SELECT uscc, count(*) AS n FROM {H} GROUP BY uscc) t",
    f"SELECT a.gender, count(*) FROM {H} a JOIN {H} b ON a.uscc = b.uscc GROUP BY 1",
])
def test_other_shapes_keep_the_exact_count(sql: str, weighted_policy: GrantPolicy) -> None:
    assert '"__od_m"' not in analyze(sql, weighted_policy, "domain").rewritten_sql


CASES = [a.sql for a in test_attacks.ATTACKS if not a.expect.startswith("query.")] + [
    sql for _, sql in test_legit.LEGIT] + [
    f"SELECT gender, insured_since, count(*), avg(monthly_wage) FROM {H} GROUP BY ALL ORDER BY 3 DESC, 1, 2",
    f"SELECT year(insured_since) AS y, count(*) AS n FROM {H} GROUP BY 1 HAVING n > 3 ORDER BY n DESC LIMIT 4",
    f"SELECT gender, count(*) FROM {H} WHERE monthly_wage > (SELECT avg(monthly_wage) FROM {H}) GROUP BY 1",
    f"SELECT count(*), sum(monthly_wage) FROM {H} WHERE monthly_wage > 18000",
    f"SELECT count(*), avg(monthly_wage) FROM {H} WHERE monthly_wage > 19500",
]


@pytest.mark.parametrize("sql", CASES)
def test_the_fast_path_answers_exactly_like_the_exact_rewrite(
    sql: str, policy: GrantPolicy, weighted_policy: GrantPolicy, engine: Engine, weighted_engine: Engine
) -> None:
    exact = engine.run(analyze(sql, policy, "domain").rewritten_sql, 10_000)
    fast = weighted_engine.run(analyze(sql, weighted_policy, "domain").rewritten_sql, 10_000)
    assert fast[0] == exact[0] and fast[2] == exact[2]
    assert len(fast[1]) == len(exact[1])
    for got, want in zip(fast[1], exact[1], strict=True):
        for g, w in zip(got, want, strict=True):
            assert g == (pytest.approx(w, rel=1e-9) if isinstance(w, float) else w)
