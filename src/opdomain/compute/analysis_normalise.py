"""Pass 4 (domain) — normalise shapes the aggregation rule reasons about (rule R1.1b).

Two rewrites that keep the result and make every aggregation explicit:

* ``GROUP BY ALL`` becomes the list of non-aggregate projections;
* ``SELECT DISTINCT`` without aggregates becomes ``GROUP BY`` of its projections — a DISTINCT is an
  aggregation, and the aggregation rule has to see it as one (its rows then count their subjects).

``SELECT DISTINCT`` over already aggregated rows inside a subquery is refused: the hidden subject
columns the rule adds would change which rows are duplicates.

And one that closes a side channel: an engine error that depends on the data (``CAST(name AS INT)``
fails on the first name that is not a number, and DuckDB's message quotes it) would tell the analyst
about single rows whatever k says. Casts become ``TRY_CAST`` and integer division and modulo get a
``NULLIF(divisor, 0)``, so those errors become NULLs. (Integer overflow can still fail a query; the
engine reports no detail of it, see docs/governed-queries.md.)
"""

from __future__ import annotations

from sqlglot import exp

from opdomain.compute import messages as msg
from opdomain.compute.analysis_errors import RULE_PROTECT, UNSUPPORTED_SYNTAX, QueryRefused
from opdomain.compute.analysis_tree import is_aggregate, is_aggregating, own_nodes, strip


def normalise(tree: exp.Query, *, copy: bool = True) -> exp.Query:
    if copy:
        tree = tree.copy()
    silence_data_errors(tree)
    for select in list(tree.find_all(exp.Select)):
        group = select.args.get("group")
        if group is not None and group.args.get("all"):
            keys = [strip(p).copy() for p in select.expressions if not _has_aggregate(p)]
            select.set("group", exp.Group(expressions=keys) if keys else None)
        distinct = select.args.get("distinct")
        if distinct is None:
            continue
        if not is_aggregating(select):
            select.set("distinct", None)
            select.set("group", exp.Group(expressions=[strip(p).copy() for p in select.expressions]))
        elif select is not tree:
            raise QueryRefused(
                UNSUPPORTED_SYNTAX,
                msg.UNSUPPORTED_SYNTAX.format(construct="DISTINCT over aggregated rows in a subquery"),
                rule=RULE_PROTECT, construct="DISTINCT",
            )
    return tree


def silence_data_errors(tree: exp.Expr) -> None:
    """CAST → TRY_CAST; ``a // b`` and ``a % b`` → ``… NULLIF(b, 0)`` (in place)."""
    for node in list(tree.find_all(exp.Cast)):
        if type(node) is exp.Cast:
            node.replace(exp.TryCast(this=node.this, to=node.args["to"]))
    for division in list(tree.find_all(exp.IntDiv, exp.Mod)):
        divisor = division.expression
        if not isinstance(divisor, exp.Nullif):
            division.set("expression", exp.Nullif(this=divisor, expression=exp.Literal.number(0)))


def _has_aggregate(node: exp.Expression) -> bool:
    return any(is_aggregate(n) for n in own_nodes(node))
