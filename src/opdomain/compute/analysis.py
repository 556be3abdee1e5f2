"""Governed queries (运营域内计算): analyse and rewrite an analyst's SQL before it runs.

Rules 一.(一) R1.1a (raw data never leaves the domain; usable but not visible), R1.1b (personal
information and trade secrets protected), 四.(二) R4.2b (desensitized or consented only), 四.(四) R4.4c
(every operation recorded; raw data invisible to processing staff).

:func:`analyze` is a pipeline of small tree → tree passes, each in its own module and tested alone:

1. ``analysis_parse``      exactly one read-only SELECT
2. ``analysis_scope``      only the grant's tables and columns; qualified against the granted schema
3. ``analysis_functions``  syntax and function allow-list
4. ``analysis_normalise``  (domain) GROUP BY ALL and DISTINCT made explicit aggregations
5. ``analysis_rules``      (domain) identifiers, L4, member-revealing aggregates, shapes
6. ``analysis_k``          (domain) rewrite so the engine drops rows below k subjects
7. ``analysis_base``       masking (domain) and consent (domain) on every base relation

Helpers of pass 6: ``analysis_regions`` (sub-populations inside a group) and ``analysis_fastpath``
(weight sums before exact DISTINCT counts); shared tree helpers in ``analysis_tree``.

The engine runs only ``rewritten_sql``: SQL generated from the analysed tree, never the analyst's
text. A refusal raises :class:`QueryRefused` with a stable code, the rule id and the column, function
or group concerned. Differencing across queries is checked separately, against the grant's history
(``analysis_differencing``, ``analysis_flatdiff``). docs/governed-queries.md explains the design.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.optimizer.scope import traverse_scope

from opdomain.compute.analysis_base import isolate_base_tables
from opdomain.compute.analysis_errors import QueryRefused
from opdomain.compute.analysis_functions import check_functions
from opdomain.compute.analysis_k import enforce_k
from opdomain.compute.analysis_normalise import normalise
from opdomain.compute.analysis_parse import parse_statement
from opdomain.compute.analysis_rules import check_rules
from opdomain.compute.analysis_scope import resolve_scope
from opdomain.compute.policy import Environment, GrantPolicy

__all__ = ["AnalyzedQuery", "QueryRefused", "analyze"]


@dataclass(frozen=True)
class AnalyzedQuery:
    original_sql: str
    rewritten_sql: str  # what the engine runs (DuckDB dialect)
    tables: tuple[str, ...]
    columns: tuple[str, ...]  # "schema.table.column" touched
    output_columns: tuple[str, ...]
    decisions: tuple[str, ...]  # for the audit record
    subject_types: tuple[str, ...]
    k: int | None  # None in dev
    environment: str = "domain"
    #: output columns that are not aggregates (the group keys as shown), for refusal messages
    key_columns: tuple[str, ...] = ()
    policy: GrantPolicy | None = field(default=None, repr=False, compare=False)


def analyze(sql: str, policy: GrantPolicy, environment: Environment) -> AnalyzedQuery:
    """Parse, check and rewrite ``sql`` for ``environment`` ("dev" or "domain") under ``policy``."""
    if environment not in ("dev", "domain"):
        raise ValueError(f"environment must be 'dev' or 'domain', not {environment!r}")
    return _pipeline(sql, policy, environment)


def membership_sql(sql: str, policy: GrantPolicy) -> tuple[str, dict[str, list[str]]]:
    """The domain rewrite of ``sql`` with, per output row, the list of its subjects by type.

    Used by the differencing check only; the lists never leave the engine.
    """
    tree = checked_tree(sql, policy)
    rewritten, report = enforce_k(tree, policy, membership=True, copy=False)
    rewritten = isolate_base_tables(rewritten, policy, "domain", elements=True, copy=False)
    return rewritten.sql(dialect="duckdb", comments=False), report.membership


def checked_tree(sql: str, policy: GrantPolicy) -> exp.Query:
    """The tree of a domain query after passes 1–5 (before the k rewrite); refuses like :func:`analyze`."""
    tree = parse_statement(sql)
    tree = resolve_scope(tree, policy, copy=False)
    check_functions(tree)
    tree = normalise(tree, copy=False)
    check_rules(tree, policy)
    return tree


def _pipeline(sql: str, policy: GrantPolicy, environment: str) -> AnalyzedQuery:
    tree = parse_statement(sql)
    tree = resolve_scope(tree, policy, copy=False)
    check_functions(tree)
    tables, columns = touched(tree)
    outputs = output_names(tree)
    decisions: list[str] = [f"environment={environment}", "tables: " + ", ".join(tables)]
    subject_types: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    if environment == "domain":
        tree = normalise(tree, copy=False)
        report = check_rules(tree, policy)
        keys = tuple(name for name, lin in report.output.items() if not lin.aggregated and lin.raw)
        tree, k_report = enforce_k(tree, policy, copy=False)
        subject_types = tuple(sorted(k_report.subject_types))
        decisions.extend(k_report.decisions)
        if not subject_types:
            decisions.append("no data subject in the tables used: k not applicable")
        masked = [f"{t.name}.{c.name}" for t in policy.tables if t.name.lower() in tables for c in t.columns
                  if c.mask_expr]
        if masked:
            decisions.append("masked: " + ", ".join(masked))
        if policy.consent_subjects:
            decisions.append("consent filter: " + ", ".join(sorted(policy.consent_subjects)))
    else:
        decisions.append("dev data: rows visible, no k rule")
    tree = isolate_base_tables(tree, policy, environment, copy=False)
    return AnalyzedQuery(
        original_sql=sql,
        rewritten_sql=tree.sql(dialect="duckdb", comments=False),
        tables=tables,
        columns=columns,
        output_columns=outputs,
        decisions=tuple(decisions),
        subject_types=subject_types,
        k=policy.k if environment == "domain" else None,
        environment=environment,
        key_columns=keys,
        policy=policy,
    )


def touched(tree: exp.Query) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Granted tables and ``schema.table.column`` names a qualified tree reads."""
    tables: set[str] = set()
    columns: set[str] = set()
    for scope in traverse_scope(tree):
        for source in scope.sources.values():
            if isinstance(source, exp.Table) and source.db:
                tables.add(f"{source.db}.{source.name}".lower())
        for col in scope.columns:
            origin = scope.sources.get(col.table)
            if isinstance(origin, exp.Table) and origin.db:
                columns.add(f"{origin.db}.{origin.name}.{col.name}".lower())
    return tuple(sorted(tables)), tuple(sorted(columns))


def output_names(tree: exp.Query) -> tuple[str, ...]:
    select = tree
    while isinstance(select, exp.SetOperation):
        select = select.this
    assert isinstance(select, exp.Select)
    return tuple(p.alias_or_name for p in select.expressions)
