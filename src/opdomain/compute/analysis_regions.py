"""Regions: the sub-populations an aggregate summarises inside one group (rule R1.1b).

``avg(wage) FILTER (WHERE wage > 99999)``, ``sum(CASE WHEN … THEN wage END)`` or ``avg(x)`` over a
column that is NULL for most members summarise only *some* members of a group that itself holds k
subjects — a way around a row-level threshold. Each aggregate of the final aggregation contributes
regions: its FILTER condition, the conditions inside its argument (``analysis_tree.conditions``) and
the rows where its argument is not NULL. A group is released only if, for every subject type, every
region holds 0 or ≥ k subjects, the complement of every explicit condition too, and every two regions
that summarise a common value (a column, or counted rows) differ by 0 or ≥ k subjects, so one
aggregate minus another cannot isolate fewer than k members.

Arithmetic can still emulate a condition (``greatest(x - c, 0)``, ``floor(x / c)``): those trackers
are not detected (docs/governed-queries.md, known gaps).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations

from sqlglot import exp

from opdomain.compute import messages as msg
from opdomain.compute.analysis_errors import RULE_PROTECT, TOO_MANY_CONDITIONS, QueryRefused
from opdomain.compute.analysis_tree import (
    aggregate_arguments,
    aggregate_with_filter,
    aggregates_in,
    conditions,
    sql,
)

#: most regions one query may create (pairs grow quadratically)
MAX_REGIONS = 8


@dataclass(frozen=True)
class Region:
    predicate: exp.Expr
    #: a plain "argument is not NULL" region (no condition inside the argument): checked the cheap way
    not_null: bool = False
    key: str = ""
    #: the values summarised over this region: column names, "*" for counted rows
    values: frozenset[str] = frozenset()
    #: a one-argument not-NULL region: that argument (its rows are ``count(argument)``)
    argument: exp.Expression | None = None

    @staticmethod
    def of(
        predicate: exp.Expr, values: frozenset[str], *, not_null: bool = False,
        argument: exp.Expression | None = None,
    ) -> Region:
        return Region(predicate, not_null, sql(predicate), values, argument)


def _values(agg: exp.Expression, args: list[exp.Expression]) -> frozenset[str]:
    names = {f"{c.table}.{c.name}" for a in args for c in a.find_all(exp.Column)}
    if not args or isinstance(agg, exp.Count | exp.CountIf | exp.ApproxDistinct):
        names.add("*")
    return frozenset(names)


def _all_not_null(args: list[exp.Expression]) -> exp.Expr:
    tests: list[exp.Expr] = [exp.Not(this=exp.Is(this=a.copy(), expression=exp.Null())) for a in args]
    return exp.and_(*tests, copy=False) if len(tests) > 1 else tests[0]


def collect_regions(select: exp.Select) -> list[Region]:
    found: dict[str, Region] = {}

    def add(region: Region) -> None:
        known = found.get(region.key)
        found[region.key] = region if known is None else Region(
            known.predicate, known.not_null and region.not_null, known.key, known.values | region.values,
            known.argument if known.not_null and region.not_null else None)

    for agg in aggregates_in(select):
        _, filter_condition = aggregate_with_filter(agg)
        args = aggregate_arguments(agg)
        values = _values(agg, args)
        explicit = [c for a in args for c in conditions(a)]
        not_null = _all_not_null(args) if args else None
        if filter_condition is None:
            if not_null is not None:
                # a conditional argument is NULL for whole sub-populations: count its members exactly
                single = args[0] if len(args) == 1 and not explicit else None
                add(Region.of(not_null, values, not_null=not explicit, argument=single))
            for cond in explicit:
                add(Region.of(cond.copy(), values))
        else:
            base = filter_condition.copy()
            add(Region.of(exp.and_(base, not_null, copy=False) if not_null is not None else base, values))
            for cond in explicit:
                add(Region.of(exp.and_(base.copy(), cond.copy(), copy=False), values))
    return list(found.values())


def check_region_count(select: exp.Select, *, limit: int = MAX_REGIONS) -> None:
    count = len(collect_regions(select))
    if count > limit:
        raise QueryRefused(
            TOO_MANY_CONDITIONS, msg.TOO_MANY_CONDITIONS.format(count=count, limit=limit), rule=RULE_PROTECT,
            count=count, limit=limit,
        )


def truthy(region: Region) -> exp.Expr:
    """The region's condition as a never-NULL boolean (a not-NULL test already is one)."""
    if region.not_null or isinstance(region.predicate, exp.Not) and isinstance(region.predicate.this, exp.Is):
        return region.predicate.copy()
    return exp.Coalesce(this=exp.Paren(this=region.predicate.copy()), expressions=[exp.false()])


def rows_in(region: Region) -> exp.Expression:
    """How many rows of the group fall in the region (``count(arg)`` for a one-argument not-NULL region)."""
    if region.argument is not None:
        return exp.Count(this=region.argument.copy())
    return exp.Count(this=exp.Case(ifs=[exp.If(this=truthy(region), true=exp.Literal.number(1))]))


def _zero_or_at_least(value: exp.Expression, k: int) -> exp.Expression:
    return exp.Paren(this=exp.Or(
        this=exp.EQ(this=value.copy(), expression=exp.Literal.number(0)),
        expression=exp.GTE(this=value, expression=exp.Literal.number(k)),
    ))


def _pairs(regions: list[Region]) -> list[tuple[Region, Region]]:
    """Pairs of regions summarising a common value (others cannot be subtracted from each other)."""
    return [(a, b) for a, b in combinations(regions, 2) if a.values & b.values]


def weighted_requirements(regions: list[Region]) -> list[exp.Expr]:
    """Conditions whose subjects must number 0 or ≥ k, for the fast path (plain not-NULL regions only)."""
    assert all(r.not_null for r in regions)
    found = [truthy(r) for r in regions]
    found.extend(exp.NEQ(this=truthy(a), expression=truthy(b)) for a, b in _pairs(regions))
    return found


def region_checks(
    regions: list[Region], count: Callable[[exp.Expr | None], exp.Expression], k: int
) -> list[exp.Expression]:
    """HAVING conditions for one subject slot; ``count(cond)`` counts its subjects where ``cond`` holds."""
    checks: list[exp.Expression] = []
    total = count(None)
    for region in regions:
        if region.not_null:
            # Members whose argument is NULL add nothing to the aggregate; the members that do must be
            # 0 or ≥ k. NULLs in a plain column are usually few: count their subjects exactly and bound
            # the rest from below (exact when each subject has one row; when many subjects have NULLs
            # the bound may hide the group: ``WHERE col IS NOT NULL`` makes the region the whole group).
            nulls = count(exp.Not(this=truthy(region)))
            checks.append(exp.Paren(this=exp.Or(
                this=exp.EQ(this=rows_in(region), expression=exp.Literal.number(0)),
                expression=exp.GTE(this=exp.Sub(this=total.copy(), expression=nulls), expression=exp.Literal.number(k)),
            )))
        else:
            checks.append(_zero_or_at_least(count(truthy(region)), k))
            checks.append(_zero_or_at_least(count(exp.Not(this=truthy(region))), k))
    for first, second in _pairs(regions):
        differs = exp.NEQ(this=truthy(first), expression=truthy(second))
        checks.append(_zero_or_at_least(count(differs), k))
    return checks
