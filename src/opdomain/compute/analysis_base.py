"""Pass 7 — base relations: masking and consent (rules R4.2b, R1.1b, R5.1a).

Every reference to a granted table becomes a derived table that exposes exactly the granted columns:

    (SELECT <mask(col)> AS col, …, <raw subject id> AS __od_s_<col>
       FROM schema.table AS __od_base
      WHERE __od_base.<subject col> IN (SELECT subject_id FROM consent_<type>)) AS <alias>

so *every* read of a masked column, wherever it appears in the query (projections, joins, filters,
group keys, subqueries), reads the masked value, and rows of non-consenting subjects do not exist for
the query. In the domain environment the raw subject ids are carried in hidden columns for the k
count only (``analysis_k``); they are never selected by anything the analyst wrote. In the dev
environment the data is already a sampled, masked copy: the relation only narrows to the granted
columns (no masking again, no consent filter, no hidden columns).
"""

from __future__ import annotations

from functools import lru_cache

import sqlglot
from sqlglot import exp

from opdomain.compute.analysis_k import element_column, subject_column
from opdomain.compute.analysis_tree import column
from opdomain.compute.policy import GrantPolicy, TablePolicy, consent_relation, weight_column

BASE_ALIAS = "__od_base"
_PLACEHOLDER = "__od_mask_input"


def isolate_base_tables(
    tree: exp.Query, policy: GrantPolicy, environment: str, *, elements: bool = False, copy: bool = True
) -> exp.Query:
    """Replace each granted table reference by its masked, consent-filtered relation.

    ``elements`` (differencing checks only) adds, per subject column, one 128-bit integer per row:
    ``hash(subject id) << 64 | hash(row)`` — a base row tagged with its subject.
    """
    if copy:
        tree = tree.copy()
    for table in list(tree.find_all(exp.Table)):
        if not table.db:
            continue  # a CTE reference
        granted = policy.table(f"{table.db}.{table.name}")
        assert granted is not None, "resolve_scope admits granted tables only"
        relation = base_select(granted, policy, environment, elements=elements)
        alias = exp.TableAlias(this=exp.to_identifier(table.alias_or_name, quoted=True))
        table.replace(exp.Subquery(this=relation, alias=alias))
    return tree


def base_select(table: TablePolicy, policy: GrantPolicy, environment: str, *, elements: bool = False) -> exp.Select:
    domain = environment == "domain"
    projections: list[exp.Expr] = []
    for col in table.columns:
        name = col.name.lower()
        value: exp.Expr = column(BASE_ALIAS, name)
        if domain and col.mask_expr:
            value = mask_expression(col.mask_expr, value)
        projections.append(exp.alias_(value, name, quoted=True))
    if domain:
        for col in table.subject_columns:
            projections.append(exp.alias_(column(BASE_ALIAS, col.name.lower()), subject_column(col.name), quoted=True))
            if col.subject in table.subject_weighted:
                weight = weight_column(col.name)
                projections.append(exp.alias_(column(BASE_ALIAS, weight), weight, quoted=True))
        if elements:
            everything = [column(BASE_ALIAS, c.name.lower()) for c in table.columns]
            row_hash = exp.Anonymous(this="hash", expressions=everything)
            wide = exp.DataType.build("UHUGEINT")
            for col in table.subject_columns:
                subject = exp.Anonymous(this="hash", expressions=[column(BASE_ALIAS, col.name.lower())])
                element = exp.BitwiseOr(
                    this=exp.BitwiseLeftShift(this=exp.Cast(this=subject, to=wide), expression=exp.Literal.number(64)),
                    expression=exp.Cast(this=row_hash.copy(), to=wide.copy()),
                )
                projections.append(exp.alias_(element, element_column(col.name), quoted=True))
    source = exp.Table(
        this=exp.to_identifier(table.table, quoted=True),
        db=exp.to_identifier(table.schema, quoted=True),
        alias=exp.TableAlias(this=exp.to_identifier(BASE_ALIAS, quoted=True)),
    )
    select = exp.select(*projections, copy=False).from_(source, copy=False)
    if domain:
        filters = consent_filters(table, policy)
        if filters:
            select = select.where(exp.and_(*filters, copy=False), copy=False)
    return select


def consent_filters(table: TablePolicy, policy: GrantPolicy) -> list[exp.Expression]:
    """Only consenting subjects' rows (R4.2b): one IN per subject column of a consent-governed type."""
    filters: list[exp.Expression] = []
    for subject_type in sorted(policy.consent_subjects):
        for col in table.subject_columns:
            if col.subject != subject_type:
                continue
            consenting = exp.select(exp.column("subject_id", quoted=True)).from_(
                exp.Table(this=exp.to_identifier(consent_relation(subject_type), quoted=True))
            )
            raw = exp.Cast(this=column(BASE_ALIAS, col.name.lower()), to=exp.DataType.build("VARCHAR"))
            filters.append(exp.In(this=raw, query=exp.Subquery(this=consenting)))
    return filters


def mask_expression(template: str, value: exp.Expr) -> exp.Expr:
    """The mask template with ``{col}`` replaced by ``value`` (templates come from privacy.masking)."""
    parsed = _parse_template(template).copy()
    for placeholder in list(parsed.find_all(exp.Column)):
        if placeholder.name == _PLACEHOLDER and not placeholder.table:
            placeholder.replace(value.copy())
    if isinstance(parsed, exp.Column) and parsed.name == _PLACEHOLDER:
        return value.copy()
    return exp.Paren(this=parsed)


@lru_cache(maxsize=256)
def _parse_template(template: str) -> exp.Expr:
    text = template.replace("{col}", f'"{_PLACEHOLDER}"')
    return sqlglot.parse_one(text, read="duckdb")
