"""Pass 2 — scope: only the grant's tables and columns (rules R4.5a, R1.1b).

Every table must be one of the grant's tables (``schema.table``; a bare table name is accepted when it
names exactly one granted table); catalogs, table functions and file paths in FROM are refused. The
tree is then qualified with sqlglot against a schema that holds *only the granted columns*: every
column reference is resolved to its relation, ``*`` (and ``* EXCLUDE``) is expanded to the granted
columns only, aliases are made explicit. A column that is not granted cannot be resolved and is
refused; a ``*`` that could not be expanded is refused, so masking can never be bypassed by a star.
"""

from __future__ import annotations

import re
from typing import cast

from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import traverse_scope

from opdomain.compute import messages as msg
from opdomain.compute.analysis_errors import (
    COLUMN_NOT_GRANTED,
    FUNCTION_NOT_ALLOWED,
    RULE_SCOPE,
    UNKNOWN_TABLE,
    UNSUPPORTED_SYNTAX,
    QueryRefused,
)
from opdomain.compute.analysis_tree import sources
from opdomain.compute.policy import GrantPolicy

_COLUMN_IN_ERROR = re.compile(r"Column '([^']+)'|Unknown column: (\S+)")
MAX_OUTPUT_NAME = 80


def resolve_scope(tree: exp.Query, policy: GrantPolicy, *, copy: bool = True) -> exp.Query:
    """``tree`` (a copy unless ``copy=False``) with tables checked and every column qualified."""
    if copy:
        tree = tree.copy()
    name_outputs(tree)
    resolve_tables(tree, policy)
    try:
        qualified = qualify(
            tree,
            dialect="duckdb",
            schema=cast(dict[str, object], policy.sqlglot_schema()),
            validate_qualify_columns=True,
            expand_stars=True,
            quote_identifiers=True,
            identify=True,
        )
    except OptimizeError as exc:
        match = _COLUMN_IN_ERROR.search(str(exc))
        name = (match.group(1) or match.group(2)) if match else str(exc).splitlines()[0][:120]
        raise QueryRefused(
            COLUMN_NOT_GRANTED, msg.COLUMN_NOT_GRANTED.format(column=name), rule=RULE_SCOPE, column=name
        ) from exc
    resolve_order_aliases(qualified)
    check_qualified(qualified, policy)
    return qualified


def resolve_order_aliases(tree: exp.Query) -> None:
    """``ORDER BY n`` naming a projection becomes that projection's expression (the rules see columns)."""
    for select in tree.find_all(exp.Select):
        order = select.args.get("order")
        if order is None:
            continue
        named = {p.alias: p.this for p in select.expressions if isinstance(p, exp.Alias)}
        for ordered in order.expressions:
            target = ordered.this
            if isinstance(target, exp.Column) and not target.table and target.name in named:
                target.replace(named[target.name].copy())


def name_outputs(tree: exp.Query) -> None:
    """Give the result's unnamed expressions the name DuckDB would show (``avg(monthly_wage)``)."""
    select = tree
    while isinstance(select, exp.SetOperation):
        select = select.this
    if not isinstance(select, exp.Select):
        return
    for projection in list(select.expressions):
        if isinstance(projection, exp.Alias | exp.Column | exp.Star):
            continue
        name = projection.sql(dialect="duckdb", normalize_functions="lower")[:MAX_OUTPUT_NAME]
        projection.replace(exp.alias_(projection.copy(), name, quoted=True))


def resolve_tables(tree: exp.Query, policy: GrantPolicy) -> None:
    """Check every table against the grant; give bare granted table names their schema."""
    cte_names = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in list(tree.find_all(exp.Table)):
        if not isinstance(table.this, exp.Identifier):
            function = table.this.sql_name() if isinstance(table.this, exp.Func) else table.this.key
            raise QueryRefused(
                FUNCTION_NOT_ALLOWED, msg.TABLE_FUNCTION.format(function=function), rule=RULE_SCOPE,
                function=function,
            )
        full = ".".join(p for p in (table.catalog, table.db, table.name) if p)
        if table.catalog:
            _unknown(full)
        if not table.db:
            if table.name.lower() in cte_names:
                continue
            candidates = policy.tables_named(table.name)
            if len(candidates) > 1:
                names = ", ".join(sorted(t.name for t in candidates))
                raise QueryRefused(
                    UNKNOWN_TABLE, msg.AMBIGUOUS_TABLE.format(table=table.name, candidates=names),
                    rule=RULE_SCOPE, table=table.name,
                )
            if not candidates:
                _unknown(full)
            table.set("db", exp.to_identifier(candidates[0].schema))
        elif policy.table(f"{table.db}.{table.name}") is None:
            _unknown(full)


def check_qualified(tree: exp.Query, policy: GrantPolicy) -> None:
    """After qualification: every column resolved, every star expanded, every source known."""
    for star in tree.find_all(exp.Star):
        if not isinstance(star.parent, exp.Count):
            raise QueryRefused(
                UNSUPPORTED_SYNTAX, msg.UNSUPPORTED_SYNTAX.format(construct="*"), rule=RULE_SCOPE,
                construct="*",
            )
    for node in tree.find_all(exp.Columns):
        raise QueryRefused(
            FUNCTION_NOT_ALLOWED, msg.FUNCTION_NOT_ALLOWED.format(function="COLUMNS"), rule=RULE_SCOPE,
            function="COLUMNS", at=node.sql(dialect="duckdb")[:80],
        )
    for col in tree.find_all(exp.Column):
        order = col.find_ancestor(exp.Order)
        if not col.table and not (order is not None and isinstance(order.parent, exp.SetOperation)):
            raise QueryRefused(
                COLUMN_NOT_GRANTED, msg.COLUMN_NOT_GRANTED.format(column=col.name), rule=RULE_SCOPE,
                column=col.name,
            )
    for scope in traverse_scope(tree):
        for source in scope.sources.values():
            if isinstance(source, exp.Table) and (
                not source.db or policy.table(f"{source.db}.{source.name}") is None
            ):
                _unknown(".".join(p for p in (source.db, source.name) if p))
    for select in tree.find_all(exp.Select):
        for relation in sources(select):
            if not isinstance(relation, exp.Table | exp.Subquery):
                construct = relation.key.upper()
                raise QueryRefused(
                    UNSUPPORTED_SYNTAX, msg.UNSUPPORTED_SYNTAX.format(construct=construct), rule=RULE_SCOPE,
                    construct=construct,
                )


def _unknown(name: str) -> None:
    raise QueryRefused(UNKNOWN_TABLE, msg.UNKNOWN_TABLE.format(table=name), rule=RULE_SCOPE, table=name)
