"""Differencing across a grant's queries: history as plain data, checks run in the engine (R1.1b, R4.4c)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from opdomain.compute.analysis import analyze
from opdomain.compute.analysis_differencing import (
    CHUNK,
    FLAT_CHUNK,
    HistoryEntry,
    check_differencing,
    differencing_checks,
    history_entry,
)
from opdomain.compute.policy import GrantPolicy

from .conftest import Governed

H = "hrss.insured_employees"
E = "eit.mu_efficiency"
BASE = f"SELECT gender, avg(monthly_wage) FROM {H} GROUP BY gender"
MINUS_ONE = f"SELECT gender, avg(monthly_wage) FROM {H} WHERE monthly_wage < 200000 GROUP BY gender"


def entry(sql: str, policy: GrantPolicy, query_id: str = "q-1") -> HistoryEntry:
    return history_entry(analyze(sql, policy, "domain"), query_id, answered_at="2026-01-01T00:00:00Z")


def test_history_entries_are_json_round_trips(policy: GrantPolicy) -> None:
    item = entry(BASE, policy)
    assert item.grant_id == policy.grant_id and item.tables == (H,) and item.k == 10
    text = json.dumps(item.to_dict())
    assert HistoryEntry.from_dict(json.loads(text)) == item


def test_dev_queries_are_not_history(policy: GrantPolicy) -> None:
    with pytest.raises(ValueError):
        history_entry(analyze(f"SELECT * FROM {H}", policy, "dev"), "q")


def test_no_check_without_a_relevant_earlier_query(policy: GrantPolicy) -> None:
    new = analyze(MINUS_ONE, policy, "domain")
    assert differencing_checks(new, []) == []
    assert differencing_checks(new, [entry(f"SELECT honors, count(*) FROM {E} GROUP BY 1", policy)]) == []
    assert differencing_checks(new, [entry(MINUS_ONE.lower(), policy)]) == []  # the same query again
    other = dataclasses.replace(entry(BASE, policy), grant_id="another-grant")
    assert differencing_checks(new, [other]) == []
    assert differencing_checks(analyze(MINUS_ONE, policy, "dev"), [entry(BASE, policy)]) == []


def test_history_is_bounded_and_batched(policy: GrantPolicy) -> None:
    history = [entry(f"SELECT gender, avg(monthly_wage) FROM {H} WHERE monthly_wage > {i} GROUP BY gender", policy,
                     f"q-{i}") for i in range(30)]
    new = analyze(MINUS_ONE, policy, "domain")
    checks = differencing_checks(new, history, max_entries=12)
    assert len(checks) == -(-12 // FLAT_CHUNK)  # same shape: one scan per batch
    assert "q-29" in checks[0] and "q-17" not in " ".join(checks)  # newest first
    others = [entry(f"SELECT lower(gender) AS g, avg(monthly_wage) FROM {H} WHERE monthly_wage > {i} GROUP BY 1",
                    policy, f"r-{i}") for i in range(7)]
    assert len(differencing_checks(new, others)) == -(-7 // CHUNK)  # other shapes: membership


def test_entries_that_no_longer_pass_analysis_are_skipped(policy: GrantPolicy) -> None:
    old = entry(f"SELECT gender, avg(monthly_wage) FROM {H} WHERE name IS NOT NULL GROUP BY gender", policy)
    revoked = dataclasses.replace(policy, tables=tuple(
        dataclasses.replace(t, columns=tuple(c for c in t.columns if c.name != "name")) if t.name == H else t
        for t in policy.tables))
    assert differencing_checks(analyze(MINUS_ONE, revoked, "domain"), [old]) == []


def test_the_checks_pass_the_engine_guard_and_find_the_difference(governed: Governed) -> None:
    history = [entry(BASE, governed.policy, "q-base")]
    new = governed.analyze(MINUS_ONE)
    (statement,) = differencing_checks(new, history)
    columns, rows, _cut = governed.engine.run(statement, 5)
    assert columns == ["previous_query_id", "group_row", "group_label", "subject_type", "differing_subjects"]
    assert rows == [("q-base", rows[0][1], "男", rows[0][3], 1)]


def test_a_large_difference_is_not_a_differencing_attack(governed: Governed) -> None:
    history = [entry(BASE, governed.policy)]
    check_differencing(governed.engine, governed.analyze(
        f"SELECT gender, avg(monthly_wage) FROM {H} WHERE monthly_wage > 9000 GROUP BY gender"), history)


def test_the_refusal_names_the_earlier_query_group_and_count(governed: Governed) -> None:
    history = [entry(f"SELECT honors, count(*) FROM {E} GROUP BY 1", governed.policy, "q-7"),
               entry(BASE, governed.policy, "q-8")]
    with pytest.raises(Exception) as info:
        check_differencing(governed.engine, governed.analyze(MINUS_ONE), history)
    error = info.value
    assert getattr(error, "code", None) == "query.differencing"
    assert error.details["previous"] == "q-8"  # type: ignore[attr-defined]
    assert error.details["group"] == "男"  # type: ignore[attr-defined]
    assert error.details["count"] == 1  # type: ignore[attr-defined]
    assert error.status == 422  # type: ignore[attr-defined]


def test_a_difference_within_one_enterprise_is_found(governed: Governed) -> None:
    """Dropping 80 employees of one firm differs by one enterprise: the firm's payroll would show."""
    history = [entry(f"SELECT gender, sum(monthly_wage) FROM {H} GROUP BY gender", governed.policy)]
    new = governed.analyze(
        f"SELECT gender, sum(h.monthly_wage) FROM {H} h JOIN (SELECT uscc, count(*) AS n FROM {H} GROUP BY uscc) t "
        "ON h.uscc = t.uscc WHERE t.n < 80 GROUP BY gender")
    with pytest.raises(Exception) as info:
        check_differencing(governed.engine, new, history)
    assert info.value.details["subject_type"] == "enterprise"  # type: ignore[attr-defined]


def test_same_shape_queries_are_compared_in_one_scan(policy: GrantPolicy) -> None:
    from opdomain.compute.analysis import checked_tree
    from opdomain.compute.analysis_flatdiff import flat_shape

    a = flat_shape(checked_tree(f"SELECT h.gender, count(*) FROM {H} h JOIN {E} e ON h.uscc = e.uscc "
                                "WHERE e.honors > 1 GROUP BY 1", policy), policy)
    b = flat_shape(checked_tree(f"SELECT x.gender, avg(x.monthly_wage) FROM {H} x JOIN {E} y ON x.uscc = y.uscc "
                                "GROUP BY x.gender", policy), policy)
    assert a is not None and b is not None and a.signature == b.signature  # aliases do not matter
    assert flat_shape(checked_tree(f"SELECT count(*) FROM (SELECT * FROM {H}) t", policy), policy) is None
    assert flat_shape(checked_tree(f"SELECT gender, count(*) FROM {H} WHERE monthly_wage > "
                                   f"(SELECT avg(monthly_wage) FROM {H}) GROUP BY 1", policy), policy) is None


def test_the_one_scan_check_counts_only_groups_released_by_both(governed: Governed, raw) -> None:  # type: ignore[no-untyped-def]
    """A group small in both answers shows nothing, so dropping one of its members is no attack."""
    sizes = dict(raw.execute(f"SELECT honors, count(*) FROM {E} GROUP BY 1").fetchall())
    small = min(sizes, key=sizes.get)
    big = max(sizes, key=sizes.get)
    assert sizes[small] < 10 <= sizes[big]
    pick = "SELECT tax_per_mu FROM {E} WHERE honors = {h} ORDER BY tax_per_mu LIMIT 1"
    small_value = raw.execute(pick.format(E=E, h=small)).fetchone()[0]
    big_value = raw.execute(pick.format(E=E, h=big)).fetchone()[0]
    history = [entry(f"SELECT honors, count(*) FROM {E} GROUP BY honors", governed.policy, "q-h")]
    in_small = governed.analyze(f"SELECT honors, count(*) FROM {E} WHERE tax_per_mu <> {small_value} GROUP BY honors")
    assert len(differencing_checks(in_small, history)) == 1 and '"o0_0"' in differencing_checks(in_small, history)[0]
    check_differencing(governed.engine, in_small, history)
    in_big = governed.analyze(f"SELECT honors, count(*) FROM {E} WHERE tax_per_mu <> {big_value} GROUP BY honors")
    with pytest.raises(Exception) as info:
        check_differencing(governed.engine, in_big, history)
    assert info.value.details["count"] == 1  # type: ignore[attr-defined]
    assert info.value.details["group"] == str(big)  # type: ignore[attr-defined]
