"""Differencing between two *flat* queries of the same shape, in one scan (rules R1.1b, R4.4c).

Most differencing attempts repeat a query with a slightly different WHERE. When the new query and an
earlier one are both one aggregation directly over base tables, with the same FROM/JOIN (up to alias
names) and the same group keys, the rows by which a group differs are exactly the rows of that group
where the two WHERE predicates disagree, so one aggregation over the common FROM answers for a whole
batch of earlier queries:

    SELECT <keys>,
           count(DISTINCT CASE WHEN coalesce(P_new, false) <> coalesce(P_i, false) THEN subject END),  -- Δ
           count(DISTINCT CASE WHEN coalesce(P_new, false) THEN subject END),                           -- released?
           count(DISTINCT CASE WHEN coalesce(P_i, false) THEN subject END) …                             -- released?
      FROM <common FROM> GROUP BY <keys>

A group is flagged when it holds k subjects under both predicates and 1 … k−1 subjects differ. The
general (membership) comparison of ``analysis_differencing`` handles every other pair of queries.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from opdomain.compute.analysis_base import isolate_base_tables
from opdomain.compute.analysis_k import SlotRelation, base_slots, equalities, not_duplicated
from opdomain.compute.analysis_tree import column, is_aggregating, sources, sql, strip
from opdomain.compute.policy import GrantPolicy


@dataclass(frozen=True)
class FlatShape:
    """A flat query reduced to what the differencing check compares."""

    signature: str  # canonical FROM/JOIN and sorted group keys
    source: exp.Select  # SELECT … FROM <canonical FROM/JOIN> (no projection yet)
    keys: tuple[exp.Expression, ...]  # canonical group keys, in the query's order
    predicate: exp.Expression  # canonical WHERE (TRUE when none)
    slots: tuple[tuple[str, str, str, bool], ...]  # (alias, hidden subject column, type, count without DISTINCT)


def flat_shape(tree: exp.Query, policy: GrantPolicy) -> FlatShape | None:
    """The shape of a checked domain query that aggregates base tables directly, else None."""
    if not isinstance(tree, exp.Select) or tree.args.get("with_") is not None or not is_aggregating(tree):
        return None
    srcs = sources(tree)
    if not srcs or not all(isinstance(s, exp.Table) and s.db for s in srcs):
        return None
    if any(isinstance(n, exp.Subquery) for n in tree.find_all(exp.Subquery)):
        return None  # scalar or IN subqueries: compared by membership
    select = tree.copy()
    names = {s.alias_or_name: f"t{i}" for i, s in enumerate(sources(select))}
    for col in select.find_all(exp.Column):
        if col.table in names:
            col.set("table", exp.to_identifier(names[col.table], quoted=True))
    for table in sources(select):
        table.set("alias", exp.TableAlias(this=exp.to_identifier(names[table.alias_or_name], quoted=True)))
    group = select.args.get("group")
    keys = tuple(strip(k) for k in (group.expressions if group is not None else []))
    base = exp.Select(expressions=[exp.Literal.number(1)])
    base.set("from_", select.args["from_"].copy())
    if select.args.get("joins"):
        base.set("joins", [j.copy() for j in select.args["joins"]])
    where = select.args.get("where")
    predicate = where.this.copy() if where is not None else exp.true()
    signature = sql(base) + " | " + " , ".join(sorted(sql(k) for k in keys))
    rels: list[tuple[str, SlotRelation]] = []
    for table in sources(base):
        assert isinstance(table, exp.Table)
        granted = policy.table(f"{table.db}.{table.name}")
        assert granted is not None
        rels.append((table.alias_or_name, base_slots(granted)))
    not_dup = not_duplicated(rels, equalities(base)[0])  # the k pass's own join analysis
    slots = tuple((alias, s.column, s.type, s.unique and alias in not_dup) for alias, rel in rels for s in rel.slots)
    return FlatShape(signature, base, keys, predicate, slots)


def flat_check_sql(new: FlatShape, earlier: list[tuple[str, FlatShape]], policy: GrantPolicy, k: int) -> str:
    """One statement over the common FROM: a row iff a group differs from an earlier answer by 1..k-1 subjects."""
    assert new.slots and earlier
    def truthy(p: exp.Expression) -> exp.Expression:
        return exp.Coalesce(this=exp.Paren(this=p.copy()), expressions=[exp.false()])

    def count(alias: str, col: str, cheap: bool, cond: exp.Expression) -> exp.Expression:
        value = exp.Case(ifs=[exp.If(this=cond, true=column(alias, col))])
        return exp.Count(this=value) if cheap else exp.Count(this=exp.Distinct(expressions=[value]))

    inner = new.source.copy()
    projections: list[exp.Expr] = [exp.alias_(key.copy(), f"g{i}", quoted=True) for i, key in enumerate(new.keys)]
    p_new = truthy(new.predicate)
    for s, (alias, col, _type, cheap) in enumerate(new.slots):
        projections.append(exp.alias_(count(alias, col, cheap, p_new.copy()), f"n_{s}", quoted=True))
        for e, (_qid, shape) in enumerate(earlier):
            p_old = truthy(shape.predicate)
            projections.append(exp.alias_(count(alias, col, cheap, p_old.copy()), f"o{e}_{s}", quoted=True))
            differs = exp.NEQ(this=p_new.copy(), expression=p_old)
            projections.append(exp.alias_(count(alias, col, cheap, differs), f"d{e}_{s}", quoted=True))
    inner.set("expressions", projections)
    if new.keys:
        inner.set("group", exp.Group(expressions=[k.copy() for k in new.keys]))
    isolated = isolate_base_tables(inner, policy, "domain", copy=False)
    label = ("concat_ws(', ', " + ", ".join(f'CAST(c."g{i}" AS VARCHAR)' for i in range(len(new.keys))) + ")"
             if new.keys else "''")
    slots = range(len(new.slots))
    released_new = " AND ".join(f'c."n_{s}" >= {k}' for s in slots)
    parts = []
    for e, (qid, _shape) in enumerate(earlier):
        released_old = " AND ".join(f'c."o{e}_{s}" >= {k}' for s in slots)
        quoted_id = qid.replace("'", "''")
        for s, (_alias, _col, subject_type, _cheap) in enumerate(new.slots):
            parts.append(
                f"SELECT '{quoted_id}' AS previous_query_id, c.__od_row AS group_row, {label} AS group_label, "
                f"'{subject_type}' AS subject_type, c.\"d{e}_{s}\" AS differing_subjects FROM __od_c AS c "
                f"WHERE c.\"d{e}_{s}\" BETWEEN 1 AND {k - 1} AND {released_new} AND {released_old}"
            )
    body = isolated.sql(dialect="duckdb", comments=False)
    return (f"WITH __od_c AS MATERIALIZED (SELECT row_number() OVER () AS __od_row, * FROM ({body}) AS q) "
            f"SELECT * FROM ({' UNION ALL '.join(parts)}) AS x ORDER BY differing_subjects, previous_query_id LIMIT 1")
