"""The k check's fast path: weight sums first, an exact DISTINCT count only where needed (rule R1.1b).

``count(DISTINCT enterprise)`` over millions of employee rows costs several times the analyst's own
aggregate. When a base table carries a precomputed weight per subject column (``__od_w_<col>`` =
1 / rows of that subject, ``TablePolicy.subject_weighted``), the sum of weights over a group is a
lower bound of its distinct subjects (exact when every row of each subject is in the group), so
``sum(w) >= k`` proves the group passes at the price of one ``sum``. Only groups left uncertain get
the exact count, in a second, filtered aggregation:

    WITH __od_m AS MATERIALIZED (SELECT <keys>, <projections>, sum(w) … GROUP BY … HAVING <other checks>),
         __od_x AS (SELECT <keys>, count(DISTINCT subject) … JOIN (<groups uncertain in __od_m>) ON <keys> …)
    SELECT <projections> FROM __od_m LEFT JOIN __od_x USING <keys>
     WHERE sum(w) >= k OR exact >= k   ORDER BY … LIMIT …

The answer is the same as the exact rewrite's (the tests compare both); the lower bound is only
valid while no join repeats a row of that table, which ``analysis_k`` checks before choosing this.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from opdomain.compute.analysis_tree import column, strip

MAIN = "__od_m"
PROBE = "__od_u"


@dataclass
class Deferred:
    """One subject slot whose checks are decided by weights first, exactly only when uncertain.

    ``conditions``: sub-populations whose subjects must number 0 or ≥ k (not-NULL regions and their
    pairwise differences, ``analysis_regions.weighted_requirements``); the slot's total must be ≥ k.
    """

    alias: str
    subject: str  # hidden subject column
    weight: str  # hidden weight column
    conditions: list[exp.Expr] = field(default_factory=list)
    #: per condition, how many rows fall in it (None: counted with a CASE)
    rows: list[exp.Expression] = field(default_factory=list)


def _num(value: int) -> exp.Expression:
    return exp.Literal.number(value)


def _when(cond: exp.Expr, value: exp.Expression) -> exp.Case:
    return exp.Case(ifs=[exp.If(this=cond.copy(), true=value)])


def _checks(j: int, item: Deferred, table: str, exact: str | None, k: int) -> tuple[exp.Expr, exp.Expr]:
    """(the deferred check, the 'uncertain' condition) of slot ``j`` over ``table``'s columns.

    ``exact`` names the relation with the exact counts (``__od_n``, ``__od_n<i>``), if any.
    """
    weight = column(table, f"__od_w{j}")
    passes: list[exp.Expression] = [exp.GTE(this=weight, expression=_num(k))]
    if exact is not None:
        passes.append(exp.GTE(this=column(exact, "__od_n"), expression=_num(k)))
    checks: list[exp.Expression] = [exp.Paren(this=exp.or_(*passes, copy=False))]
    uncertain: list[exp.Expression] = [exp.LT(this=weight.copy(), expression=_num(k))]
    for i in range(len(item.conditions)):
        rows, part = column(table, f"__od_c{j}_{i}"), column(table, f"__od_v{j}_{i}")
        certain = [exp.EQ(this=rows, expression=_num(0)), exp.GTE(this=part, expression=_num(k))]
        if exact is not None:
            certain.append(exp.GTE(this=column(exact, f"__od_n{i}"), expression=_num(k)))
        checks.append(exp.Paren(this=exp.or_(*certain, copy=False)))
        uncertain.append(exp.Paren(this=exp.and_(
            exp.GT(this=rows.copy(), expression=_num(0)),
            exp.LT(this=exp.Coalesce(this=part.copy(), expressions=[_num(0)]), expression=_num(k)), copy=False)))
    return exp.and_(*checks, copy=False), exp.Paren(this=exp.or_(*uncertain, copy=False))


def two_phase(select: exp.Select, immediate: list[exp.Expression], deferred: list[Deferred], k: int) -> exp.Select:
    """The final aggregation ``select`` rewritten as weight check + exact check of uncertain groups."""
    group = select.args.get("group")
    keys = [strip(key) for key in (group.expressions if group is not None else [])]
    order = select.args.get("order")
    main = select.copy()
    for arg in ("with_", "order", "limit", "offset"):
        main.set(arg, None)
    projections: list[exp.Expr] = [
        exp.alias_(key.copy(), f"__od_g{i}", quoted=True) for i, key in enumerate(keys)
    ]
    names = [p.alias_or_name for p in select.expressions]
    for i, projection in enumerate(select.expressions):
        value = projection.this if isinstance(projection, exp.Alias) else projection
        projections.append(exp.alias_(value.copy(), f"__od_p{i}", quoted=True))
    ordered: list[exp.Expression] = []
    for i, item in enumerate(order.expressions if order is not None else []):
        projections.append(exp.alias_(item.this.copy(), f"__od_o{i}", quoted=True))
        moved = item.copy()
        moved.set("this", column(MAIN, f"__od_o{i}"))
        ordered.append(moved)
    for j, item in enumerate(deferred):
        weight = column(item.alias, item.weight)
        projections.append(exp.alias_(exp.Sum(this=weight), f"__od_w{j}", quoted=True))
        for i, cond in enumerate(item.conditions):
            counted: exp.Expression | None = item.rows[i] if i < len(item.rows) else None
            rows = counted.copy() if counted is not None else exp.Count(this=_when(cond, _num(1)))
            projections.append(exp.alias_(rows, f"__od_c{j}_{i}", quoted=True))
            projections.append(exp.alias_(exp.Sum(this=_when(cond, weight.copy())), f"__od_v{j}_{i}", quoted=True))
    main.set("expressions", projections)
    if immediate:
        existing = main.args.get("having")
        parts = ([exp.Paren(this=existing.this)] if existing is not None else []) + immediate
        main.set("having", exp.Having(this=exp.and_(*parts, copy=False)))
    with_ = select.args.get("with_")
    ctes: list[exp.Expr] = list(with_.expressions) if with_ is not None else []
    ctes.append(exp.CTE(this=main, alias=exp.TableAlias(this=exp.to_identifier(MAIN, quoted=True)), materialized=True))
    final = exp.select(*[exp.alias_(column(MAIN, f"__od_p{i}"), n, quoted=True) for i, n in enumerate(names)],
                       copy=False).from_(exp.Table(this=exp.to_identifier(MAIN, quoted=True)), copy=False)
    conditions: list[exp.Expr] = []
    for j, item in enumerate(deferred):
        name = f"__od_x{j}"
        ctes.append(exp.CTE(this=_exact(select, keys, item, j, k),
                            alias=exp.TableAlias(this=exp.to_identifier(name, quoted=True))))
        on = [exp.NullSafeEQ(this=column(MAIN, f"__od_g{i}"), expression=column(name, f"__od_g{i}"))
              for i in range(len(keys))]
        final = final.join(exp.Table(this=exp.to_identifier(name, quoted=True)),
                           on=exp.and_(*on, copy=False) if on else exp.true(), join_type="left", copy=False)
        check, _ = _checks(j, item, MAIN, name, k)
        conditions.append(check)
    final = final.where(exp.and_(*conditions, copy=False), copy=False)
    if ordered:
        final.set("order", exp.Order(expressions=ordered))
    for arg in ("limit", "offset"):
        if select.args.get(arg) is not None:
            final.set(arg, select.args[arg].copy())
    final.set("with_", exp.With(expressions=ctes))
    return final


def _exact(select: exp.Select, keys: list[exp.Expression], item: Deferred, j: int, k: int) -> exp.Select:
    """Exact distinct subjects of the groups the weights left uncertain.

    The uncertain groups join the analyst's FROM as an inner join on the group keys (NULL-safe): when
    there is none, the join's build side is empty and the second aggregation costs one cheap scan.
    """
    _, uncertain = _checks(j, item, PROBE, None, k)
    outputs = [exp.alias_(column(PROBE, f"__od_g{i}"), f"__od_g{i}", quoted=True) for i in range(len(keys))]
    groups = exp.select(*(outputs or [exp.alias_(exp.Literal.number(1), "__od_one", quoted=True)]), copy=False).from_(
        exp.Table(this=exp.to_identifier(MAIN, quoted=True),
                  alias=exp.TableAlias(this=exp.to_identifier(PROBE, quoted=True))), copy=False,
    ).where(uncertain, copy=False)
    matches = [exp.NullSafeEQ(this=column(PROBE, f"__od_g{i}"), expression=key.copy()) for i, key in enumerate(keys)]
    subject = column(item.alias, item.subject)
    projections: list[exp.Expr] = [exp.alias_(key.copy(), f"__od_g{i}", quoted=True) for i, key in enumerate(keys)]
    projections.append(exp.alias_(exp.Count(this=exp.Distinct(expressions=[subject])), "__od_n", quoted=True))
    for i, cond in enumerate(item.conditions):
        counted = exp.Count(this=exp.Distinct(expressions=[_when(cond, subject.copy())]))
        projections.append(exp.alias_(counted, f"__od_n{i}", quoted=True))
    query = exp.Select(expressions=projections)
    query.set("from_", select.args["from_"].copy())
    joins = [join.copy() for join in select.args.get("joins") or []]
    joins.append(exp.Join(
        this=exp.Subquery(this=groups, alias=exp.TableAlias(this=exp.to_identifier(PROBE, quoted=True))),
        on=exp.and_(*matches, copy=False) if matches else exp.true(),
    ))
    query.set("joins", joins)
    if select.args.get("where") is not None:
        query.set("where", select.args["where"].copy())
    if keys:
        query.set("group", exp.Group(expressions=[key.copy() for key in keys]))
    return query
