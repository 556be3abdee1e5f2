"""Differencing (差分攻击) across a grant's queries: refuse, exactly (rules R1.1b, R4.4c).

Two answers whose groups differ by a few subjects reveal those subjects: ``avg(wage)`` of a
category, then of the same category ``WHERE birth_date <> '1980-05-02'``, gives one person's wage.
Each answer may pass the k rule; their *difference* does not.

The choice: **refuse, not noise.** Every answered domain query is kept per grant as a
:class:`HistoryEntry` (plain, JSON-serialisable: the analyst's SQL and the tables it read — no data).
Before a new query runs, :func:`differencing_checks` builds check queries that the engine runs inside
the domain: for the new query and each recent earlier query that read a common table, the
*membership* of every released row is computed with the same rewrite as the k rule — for each
relation it was built through, the set of base rows, each tagged with its subject (``hash(subject
id) << 64 | hash(row)``). For every pair of such sets, one from each answer, that share a base row, the base
rows in exactly one of them are what the two aggregates differ by; the subjects of those rows are
counted. If some pair differs by at least one and fewer than k subjects of some type, the new query
is refused with ``query.differencing``. Comparing memberships instead of SQL text means a rewritten predicate, a
renamed group key, a join used as a filter or a nested query cannot hide the difference.

Earlier queries of the same flat shape as the new one (one aggregation over the same FROM/JOIN with
the same group keys) are compared in one scan instead (``analysis_flatdiff``): the common case of a
query repeated with another WHERE costs one aggregation for up to ``FLAT_CHUNK`` earlier queries.

The history scanned is bounded (the most recent ``MAX_HISTORY`` entries sharing a table; checks are
batched per SQL statement). Limits are written down in docs/governed-queries.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from opdomain.compute import messages as msg
from opdomain.compute.analysis import AnalyzedQuery, checked_tree, membership_sql
from opdomain.compute.analysis_errors import DIFFERENCING, RULE_PROTECT, QueryRefused
from opdomain.compute.analysis_flatdiff import FlatShape, flat_check_sql, flat_shape

MAX_HISTORY = 20
CHUNK = 5  # earlier queries per membership statement
FLAT_CHUNK = 10  # earlier queries per one-scan statement (analysis_flatdiff)


@dataclass(frozen=True)
class HistoryEntry:
    """One answered domain query of a grant, as the records database keeps it."""

    grant_id: str
    query_id: str
    sql: str
    tables: tuple[str, ...]
    k: int
    answered_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["tables"] = list(self.tables)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HistoryEntry:
        return cls(
            grant_id=str(data["grant_id"]), query_id=str(data["query_id"]), sql=str(data["sql"]),
            tables=tuple(data["tables"]), k=int(data["k"]), answered_at=data.get("answered_at"),
        )


def history_entry(analyzed: AnalyzedQuery, query_id: str, answered_at: str | None = None) -> HistoryEntry:
    """The entry to store once a domain query has been answered."""
    if analyzed.environment != "domain" or analyzed.policy is None or analyzed.k is None:
        raise ValueError("only domain queries are kept for the differencing check")
    return HistoryEntry(
        grant_id=analyzed.policy.grant_id, query_id=query_id, sql=analyzed.original_sql,
        tables=analyzed.tables, k=analyzed.k, answered_at=answered_at,
    )


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()).lower() == " ".join(b.split()).lower()


def differencing_checks(
    new: AnalyzedQuery, history: Sequence[HistoryEntry], *, max_entries: int = MAX_HISTORY
) -> list[str]:
    """SQL statements that return a row iff the new query differs from an earlier one by 1..k-1 subjects.

    Each statement returns at most one row: ``previous_query_id, group_row, group_label, subject_type,
    differing_subjects``. Earlier queries that no longer pass analysis under the current grant (a
    column revoked) are skipped.
    """
    if new.environment != "domain" or new.policy is None or new.k is None:
        return []
    policy = new.policy
    tables = set(new.tables)
    relevant = [
        h for h in reversed(history)
        if h.grant_id == policy.grant_id and tables & set(h.tables) and not _same_text(h.sql, new.original_sql)
    ][:max_entries]
    if not relevant:
        return []
    new_flat = flat_shape(checked_tree(new.original_sql, policy), policy)
    flat: list[tuple[str, FlatShape]] = []
    general: list[HistoryEntry] = []
    for entry in relevant:
        try:
            old_flat = flat_shape(checked_tree(entry.sql, policy), policy)
        except QueryRefused:
            continue  # no longer answerable under this grant
        same_shape = old_flat is not None and new_flat is not None and old_flat.signature == new_flat.signature
        if same_shape and new_flat is not None and new_flat.slots and old_flat is not None:
            flat.append((entry.query_id, old_flat))
        else:
            general.append(entry)
    checks = []
    for start in range(0, len(flat), FLAT_CHUNK):
        assert new_flat is not None
        checks.append(flat_check_sql(new_flat, flat[start:start + FLAT_CHUNK], policy, new.k))
    if not general:
        return checks
    new_sql, new_members = membership_sql(new.original_sql, policy)
    if not new_members:
        return checks
    olds: list[tuple[HistoryEntry, str, dict[str, list[str]]]] = []
    for entry in general:
        old_sql, old_members = membership_sql(entry.sql, policy)
        if set(old_members) & set(new_members):
            olds.append((entry, old_sql, old_members))
    for start in range(0, len(olds), CHUNK):
        checks.append(_check_sql(new_sql, new_members, new.key_columns, olds[start:start + CHUNK], new.k))
    return checks


class _Runner(Protocol):
    def run(self, sql: str, max_rows: int) -> tuple[list[str], list[tuple[Any, ...]], bool]: ...


def check_differencing(engine: _Runner, new: AnalyzedQuery, history: Sequence[HistoryEntry]) -> None:
    """Run the checks in the engine; raise ``query.differencing`` on the first small difference."""
    for statement in differencing_checks(new, history):
        _columns, rows, _cut = engine.run(statement, 1)
        if rows:
            previous, group_row, label, subject_type, count = rows[0]
            group = label or f"#{group_row}"
            raise QueryRefused(
                DIFFERENCING,
                msg.DIFFERENCING.format(previous=previous, group=group, count=count, k=new.k),
                rule=RULE_PROTECT, previous=previous, group=group, subject_type=subject_type, count=count,
            )


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _members(cte: str, columns: dict[str, list[str]]) -> str:
    """One row per (output row, membership list, element): lists are kept apart, not merged per type."""
    parts = []
    for subject_type, names in sorted(columns.items()):
        for name in names:
            parts.append(
                f"SELECT {cte}.g AS g, {_literal(subject_type)} AS t, {_literal(name)} AS m, "
                f"unnest({cte}.{_ident(name)}) AS s FROM {cte}"
            )
    return " UNION ALL ".join(parts)


def _check_sql(
    new_sql: str,
    new_members: dict[str, list[str]],
    keys: tuple[str, ...],
    olds: list[tuple[HistoryEntry, str, dict[str, list[str]]]],
    k: int,
) -> str:
    """One statement comparing the new answer with up to ``CHUNK`` earlier ones.

    Membership elements are ``hash(subject id) << 64 | hash(row)``: one base row of one subject, one list per
    relation the rows came through. For every pair of lists (new, earlier) of the same subject type
    that share an element, the elements in exactly one of them are the rows by which the two
    aggregates differ; the subjects of those rows are counted. Lists are compared one by one, so rows
    that only filter (a joined aggregate) cannot pad a small difference.
    """
    label = (
        "concat_ws(', ', " + ", ".join(f"CAST(q.{_ident(c)} AS VARCHAR)" for c in keys) + ")" if keys else "''"
    )
    new_cols = ", ".join(f"q.{_ident(c)}" for names in new_members.values() for c in names)
    ctes = [
        f"__od_a AS MATERIALIZED (SELECT row_number() OVER () AS g, {label} AS label, {new_cols} "
        f"FROM ({new_sql}) AS q)",
        f"__od_am AS MATERIALIZED ({_members('__od_a', new_members)})",
    ]
    old_rows = []
    for i, (entry, old_sql, old_members) in enumerate(olds):
        cols = ", ".join(f"q.{_ident(c)}" for names in old_members.values() for c in names)
        ctes.append(f"__od_b{i} AS MATERIALIZED (SELECT row_number() OVER () AS g, {cols} FROM ({old_sql}) AS q)")
        old_rows.append(
            f"SELECT {_literal(entry.query_id)} AS q, x.g, x.t, x.m, x.s "
            f"FROM ({_members(f'__od_b{i}', old_members)}) AS x"
        )
    ctes += [
        f"__od_bm AS MATERIALIZED ({' UNION ALL '.join(old_rows)})",
        "__od_p AS MATERIALIZED (SELECT DISTINCT b.q AS q, a.g AS ga, a.m AS ma, b.g AS gb, b.m AS mb, a.t AS t "
        "FROM __od_am AS a JOIN __od_bm AS b ON a.t = b.t AND a.s = b.s)",
        "__od_d AS ("
        "SELECT p.q, p.ga, p.ma, p.gb, p.mb, p.t, a.s FROM __od_p AS p "
        "JOIN __od_am AS a ON a.g = p.ga AND a.m = p.ma "
        "WHERE NOT EXISTS (SELECT 1 FROM __od_bm AS b WHERE b.q = p.q AND b.g = p.gb AND b.m = p.mb AND b.s = a.s) "
        "UNION ALL "
        "SELECT p.q, p.ga, p.ma, p.gb, p.mb, p.t, b.s FROM __od_p AS p "
        "JOIN __od_bm AS b ON b.q = p.q AND b.g = p.gb AND b.m = p.mb "
        "WHERE NOT EXISTS (SELECT 1 FROM __od_am AS a WHERE a.g = p.ga AND a.m = p.ma AND a.s = b.s))",
        "__od_n AS (SELECT q, ga, ma, gb, mb, t, count(DISTINCT s >> 64) AS n "
        "FROM __od_d GROUP BY q, ga, ma, gb, mb, t)",
    ]
    return (
        "WITH " + ", ".join(ctes) + " "
        "SELECT n.q AS previous_query_id, n.ga AS group_row, la.label AS group_label, n.t AS subject_type, "
        "n.n AS differing_subjects "
        "FROM __od_n AS n JOIN __od_a AS la ON la.g = n.ga "
        f"WHERE n.n BETWEEN 1 AND {k - 1} ORDER BY n.n, n.q, n.ga LIMIT 1"
    )
