"""Small helpers over sqlglot trees shared by the analysis passes (no rules here).

A *scope* is one SELECT: its own expressions, not those of the subqueries and derived tables it
contains. Passes walk a scope with :func:`own_nodes` and handle nested queries explicitly, so a rule
can never be skipped by hiding an expression one level down.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

#: prefix of every name the rewrite adds; analysts may not use it (see analysis_parse)
RESERVED_PREFIX = "__od"
#: aggregates sqlglot does not model (parsed as anonymous functions), by lowercase name
ANONYMOUS_AGGREGATES = frozenset({"histogram", "arbitrary"})


def own_nodes(node: exp.Expression) -> Iterator[exp.Expression]:
    """Every node of ``node`` without descending into nested queries (the Subquery itself is yielded)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if current is not node and isinstance(current, exp.Subquery | exp.Query):
            continue
        stack.extend(reversed(list(current.iter_expressions())))


def select_clauses(select: exp.Select) -> list[exp.Expression]:
    """The expressions of one SELECT that are evaluated in its own scope (not FROM sources)."""
    out: list[exp.Expression] = list(select.expressions)
    for key in ("where", "group", "having", "qualify", "order"):
        if select.args.get(key) is not None:
            out.append(select.args[key])
    for join in select.args.get("joins") or []:
        if join.args.get("on") is not None:
            out.append(join.args["on"])
    return out


def sources(select: exp.Select) -> list[exp.Expression]:
    """The relations of a SELECT's FROM clause and joins, in order."""
    out: list[exp.Expression] = []
    from_ = select.args.get("from_")
    if from_ is not None:
        out.append(from_.this)
    for join in select.args.get("joins") or []:
        out.append(join.this)
    return out


def strip(node: exp.Expression) -> exp.Expression:
    """Remove parentheses and an alias around an expression."""
    while isinstance(node, exp.Paren | exp.Alias):
        node = node.this
    return node


def conjuncts(condition: exp.Expression | None) -> list[exp.Expression]:
    if condition is None:
        return []
    node = strip(condition)
    if isinstance(node, exp.And):
        return conjuncts(node.this) + conjuncts(node.expression)
    return [node]


def is_aggregate(node: exp.Expression) -> bool:
    """An aggregate call evaluated in this scope (not a window function's aggregate)."""
    if isinstance(node, exp.Anonymous):
        if str(node.this).lower() not in ANONYMOUS_AGGREGATES:
            return False
    elif not isinstance(node, exp.AggFunc):
        return False
    parent = node.parent
    while isinstance(parent, exp.IgnoreNulls | exp.RespectNulls):
        parent = parent.parent
    return not isinstance(parent, exp.Window)


def aggregates_in(select: exp.Select) -> list[exp.Expression]:
    """Aggregate calls of this SELECT's projections, HAVING and ORDER BY (own scope only)."""
    found: list[exp.Expression] = []
    roots: list[exp.Expression] = list(select.expressions)
    for key in ("having", "order", "qualify"):
        if select.args.get(key) is not None:
            roots.append(select.args[key])
    for root in roots:
        for node in own_nodes(root):
            if is_aggregate(node):
                found.append(node)
    return found


def is_aggregating(select: exp.Select) -> bool:
    return select.args.get("group") is not None or bool(aggregates_in(select))


def aggregate_with_filter(agg: exp.Expression) -> tuple[exp.Expression, exp.Expression | None]:
    """The node to replace for an aggregate (its FILTER wrapper if any) and the FILTER condition."""
    parent = agg.parent
    if isinstance(parent, exp.Filter) and parent.this is agg:
        where = parent.expression
        return parent, where.this if isinstance(where, exp.Where) else where
    return agg, None


def aggregate_arguments(agg: exp.Expression) -> list[exp.Expression]:
    """The value arguments of an aggregate that read columns (parameters such as 0.5 left out)."""
    args: list[exp.Expression] = []
    for child in agg.iter_expressions():
        if isinstance(child, exp.Order | exp.Star):
            continue
        candidates = child.expressions if isinstance(child, exp.Distinct) else [child]
        args.extend(c for c in candidates if c.find(exp.Column) is not None)
    return args


def conditions(node: exp.Expression) -> Iterator[exp.Expression]:
    """The conditions inside an aggregate's argument that pick a sub-population of the group.

    CASE/IF branches, boolean predicates used as values, COALESCE (first argument null) and NULLIF
    each split the group's rows; an aggregate over such an expression summarises only some members,
    so the aggregation rule treats each condition as a region that must itself hold k subjects.
    """
    if isinstance(node, exp.Case):
        subject = node.this
        for branch in node.args.get("ifs") or []:
            cond = branch.this
            yield exp.EQ(this=subject.copy(), expression=cond.copy()) if subject is not None else cond
            yield from conditions(branch.args["true"])
        if node.args.get("default") is not None:
            yield from conditions(node.args["default"])
        return
    if isinstance(node, exp.If):
        yield node.this
        for key in ("true", "false"):
            if node.args.get(key) is not None:
                yield from conditions(node.args[key])
        return
    if isinstance(node, exp.Predicate | exp.Connector | exp.Not):
        yield node
        return
    if isinstance(node, exp.Coalesce):
        args = [node.this, *node.expressions]
        for arg in args[:-1]:
            yield exp.Is(this=arg.copy(), expression=exp.Null())
        for arg in args:
            yield from conditions(arg)
        return
    if isinstance(node, exp.Nullif):
        yield exp.EQ(this=node.this.copy(), expression=node.expression.copy())
        return
    if isinstance(node, exp.CountIf):
        yield node.this
        return
    if isinstance(node, exp.Subquery | exp.Query):
        return
    for child in node.iter_expressions():
        yield from conditions(child)


def column(table: str, name: str) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def sql(node: exp.Expr) -> str:
    return node.sql(dialect="duckdb")
