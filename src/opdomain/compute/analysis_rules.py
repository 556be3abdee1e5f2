"""Pass 5 (domain) — the aggregation rule's static checks (rules R1.1a, R1.1b, R4.2b).

Walks every SELECT of the query (CTEs, derived tables, subqueries) with the *lineage* of each value:
which granted base columns it reads, at row level (``raw``) or only through an aggregate
(``aggregated``), and whether it *is* a base column (``bare``). On that lineage it refuses:

* an identifier or L4 column in the final output, group keys or ORDER BY, whatever functions
  surround it (``query.identifier_in_output`` / ``query.sensitive_in_output``);
* an identifier used other than as is: allowed are join equalities between identifiers of the same
  type, ``IS [NOT] NULL``, ``count([DISTINCT] id)``, an ``id IN (SELECT id …)`` semi-join, and — in
  subqueries only — passing it through or grouping by it (``query.identifier_filter`` /
  ``query.identifier_expression``);
* aggregates that return members' values: string/list aggregates, first/last/any_value/arg_max …
  always; min/max/median/quantile/mode/bool_or over anything but L1/L2 base columns
  (``query.member_revealing_aggregate``);
* a final result that is not built by an aggregation (``query.not_aggregated``);
* window functions, set operations, ROLLUP/CUBE/GROUPING SETS, LIMIT inside subqueries, correlated
  or EXISTS subqueries, conditional aggregates in inner aggregations.

The k threshold itself is enforced by rewriting (``analysis_k``), not by these checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from opdomain.compute import messages as msg
from opdomain.compute.analysis_errors import (
    COLUMN_NOT_GRANTED,
    GROUPING_SETS,
    IDENTIFIER_EXPRESSION,
    IDENTIFIER_FILTER,
    IDENTIFIER_IN_OUTPUT,
    INNER_LIMIT,
    MEMBER_REVEALING_AGGREGATE,
    NESTED_CONDITIONAL_AGGREGATE,
    NOT_AGGREGATED,
    RULE_PROTECT,
    RULE_RAW_DATA,
    SENSITIVE_IN_OUTPUT,
    SET_OPERATION,
    SUBQUERY_NOT_ALLOWED,
    UNKNOWN_TABLE,
    WINDOW_FUNCTION,
    QueryRefused,
)
from opdomain.compute.analysis_functions import (
    ANONYMOUS_MEMBER_AGGREGATES,
    MEMBER_AGGREGATES,
    ORDER_STATISTICS,
    function_name,
)
from opdomain.compute.analysis_regions import MAX_REGIONS, check_region_count
from opdomain.compute.analysis_tree import (
    aggregate_arguments,
    aggregate_with_filter,
    aggregates_in,
    conditions,
    is_aggregate,
    is_aggregating,
    own_nodes,
    select_clauses,
    sources,
    strip,
)
from opdomain.compute.policy import (
    ColumnPolicy,
    GrantPolicy,
    TablePolicy,
    can_order_statistic,
    is_identifier,
    is_sensitive,
)


@dataclass(frozen=True)
class Origin:
    """One granted base column; the per-column rules are those of ``policy``."""

    table: str
    policy: ColumnPolicy

    @property
    def label(self) -> str:
        return f"{self.table}.{self.policy.name.lower()}"

    @property
    def is_identifier(self) -> bool:
        return is_identifier(self.policy)

    @property
    def id_type(self) -> str | None:
        return self.policy.identifier or self.policy.subject

    @property
    def is_l4(self) -> bool:
        return is_sensitive(self.policy) and not is_identifier(self.policy)

    @property
    def order_statistic_ok(self) -> bool:
        return can_order_statistic(self.policy)


@dataclass(frozen=True)
class Lineage:
    raw: frozenset[Origin] = frozenset()
    aggregated: frozenset[Origin] = frozenset()
    bare: Origin | None = None

    @property
    def all(self) -> frozenset[Origin]:
        return self.raw | self.aggregated

    @staticmethod
    def union(parts: list[Lineage]) -> Lineage:
        raw: frozenset[Origin] = frozenset()
        agg: frozenset[Origin] = frozenset()
        for p in parts:
            raw |= p.raw
            agg |= p.aggregated
        return Lineage(raw, agg)


@dataclass
class Relation:
    columns: dict[str, Lineage]
    grouped: bool  # every row is a group built by an aggregation
    subjects: frozenset[Origin] = frozenset()  # subject columns of the base tables feeding it


@dataclass
class RulesReport:
    output: dict[str, Lineage]
    tables: set[str] = field(default_factory=set)
    columns: set[str] = field(default_factory=set)


class _Correlated(Exception):
    pass


def check_rules(tree: exp.Query, policy: GrantPolicy) -> RulesReport:
    """Apply the static aggregation-rule checks to a qualified, normalised tree (domain only)."""
    walker = _Rules(policy)
    try:
        relation = walker.query(tree, final=True)
    except _Correlated as exc:
        raise QueryRefused(
            SUBQUERY_NOT_ALLOWED, msg.SUBQUERY_NOT_ALLOWED.format(reason="correlated"), rule=RULE_PROTECT,
            reason="correlated",
        ) from exc
    return RulesReport(output=relation.columns, tables=walker.tables, columns=walker.columns)


def base_relation(table: TablePolicy) -> Relation:
    columns: dict[str, Lineage] = {}
    subjects: set[Origin] = set()
    for col in table.columns:
        origin = Origin(table.name.lower(), col)
        columns[col.name.lower()] = Lineage(raw=frozenset({origin}), bare=origin)
        if col.subject is not None:
            subjects.add(origin)
    return Relation(columns, grouped=False, subjects=frozenset(subjects))


class _Rules:
    def __init__(self, policy: GrantPolicy) -> None:
        self.policy = policy
        self.ctes: list[dict[str, Relation]] = []
        self.tables: set[str] = set()
        self.columns: set[str] = set()

    # -- queries and relations ------------------------------------------------------------------
    def query(self, node: exp.Expr, *, final: bool) -> Relation:
        while isinstance(node, exp.Subquery):
            node = node.this
        if isinstance(node, exp.SetOperation):
            operation = node.key.upper() + ("" if node.args.get("distinct") else " ALL")
            raise QueryRefused(
                SET_OPERATION, msg.SET_OPERATION.format(operation=operation), rule=RULE_PROTECT,
                operation=operation,
            )
        assert isinstance(node, exp.Select)
        return self.select(node, final=final)

    def select(self, select: exp.Select, *, final: bool) -> Relation:
        frame: dict[str, Relation] = {}
        self.ctes.append(frame)
        try:
            with_ = select.args.get("with_")
            for cte in with_.expressions if with_ is not None else []:
                frame[cte.alias_or_name] = self.query(cte.this, final=False)
            env = {src.alias_or_name: self.source(src) for src in sources(select)}
            self._check_shape(select, final)
            return self._select_body(select, env, final)
        finally:
            self.ctes.pop()

    def source(self, src: exp.Expression) -> Relation:
        if isinstance(src, exp.Table):
            if src.db:
                table = self.policy.table(f"{src.db}.{src.name}")
                if table is None:  # resolve_scope guarantees this; defence in depth
                    raise QueryRefused(UNKNOWN_TABLE, msg.UNKNOWN_TABLE.format(table=src.name), rule=RULE_PROTECT)
                self.tables.add(table.name.lower())
                return base_relation(table)
            for frame in reversed(self.ctes):
                if src.name in frame:
                    return frame[src.name]
            raise QueryRefused(UNKNOWN_TABLE, msg.UNKNOWN_TABLE.format(table=src.name), rule=RULE_PROTECT)
        assert isinstance(src, exp.Subquery)
        return self.query(src.this, final=False)

    def _check_shape(self, select: exp.Select, final: bool) -> None:
        for clause in select_clauses(select):
            for node in own_nodes(clause):
                if isinstance(node, exp.Window):
                    name = function_name(node.this) if isinstance(node.this, exp.Func) else "OVER"
                    raise QueryRefused(
                        WINDOW_FUNCTION, msg.WINDOW_FUNCTION.format(function=name), rule=RULE_PROTECT,
                        function=name,
                    )
        if select.args.get("qualify") is not None or select.args.get("windows"):
            raise QueryRefused(
                WINDOW_FUNCTION, msg.WINDOW_FUNCTION.format(function="QUALIFY/WINDOW"), rule=RULE_PROTECT,
                function="QUALIFY",
            )
        group = select.args.get("group")
        if group is not None:
            for cls, name in ((exp.Rollup, "ROLLUP"), (exp.Cube, "CUBE"), (exp.GroupingSets, "GROUPING SETS")):
                if group.find(cls) is not None or group.args.get(name.lower().replace(" ", "_")):
                    raise QueryRefused(
                        GROUPING_SETS, msg.GROUPING_SETS.format(construct=name), rule=RULE_PROTECT,
                        construct=name,
                    )
        if not final and any(select.args.get(k) is not None for k in ("limit", "offset")):
            raise QueryRefused(INNER_LIMIT, msg.INNER_LIMIT, rule=RULE_PROTECT)

    def _select_body(self, select: exp.Select, env: dict[str, Relation], final: bool) -> Relation:
        aggregating = is_aggregating(select)
        # predicates: lineage (for subqueries) and identifier uses
        predicates: list[exp.Expression] = [j.args["on"] for j in select.args.get("joins") or [] if j.args.get("on")]
        for key in ("where", "having"):
            if select.args.get(key) is not None:
                predicates.append(select.args[key].this)
        for pred in predicates:
            self.lineage(pred, env)
            self.identifier_uses(pred, env, in_predicate=True, allow_bare=False)
        self._check_aggregates(select, env, final)
        group_keys = list(select.args["group"].expressions) if select.args.get("group") is not None else []
        order = [o.this for o in select.args["order"].expressions] if select.args.get("order") is not None else []
        outputs: dict[str, Lineage] = {}
        if final and not aggregating and any(not rel.grouped for rel in env.values()):
            raise QueryRefused(NOT_AGGREGATED, msg.NOT_AGGREGATED, rule=RULE_RAW_DATA)
        for projection in select.expressions:
            expr = projection.this if isinstance(projection, exp.Alias) else projection
            lineage = self.lineage(expr, env)
            outputs[projection.alias_or_name] = lineage
            if final:
                self._check_output(lineage)
        for key in group_keys + order:
            lineage = self.lineage(key, env)
            if final:
                self._check_output(lineage)
        for expr in [p.this if isinstance(p, exp.Alias) else p for p in select.expressions] + group_keys + order:
            self.identifier_uses(expr, env, in_predicate=False, allow_bare=not final)
        grouped = aggregating or (bool(env) and all(rel.grouped for rel in env.values()))
        subjects = frozenset().union(*(rel.subjects for rel in env.values())) if env else frozenset()
        return Relation(outputs, grouped=grouped, subjects=subjects)

    # -- checks ---------------------------------------------------------------------------------
    def _check_output(self, lineage: Lineage) -> None:
        for origin in sorted(lineage.raw, key=lambda o: o.label):
            if origin.is_identifier:
                raise QueryRefused(
                    IDENTIFIER_IN_OUTPUT, msg.IDENTIFIER_IN_OUTPUT.format(column=origin.label),
                    rule=RULE_PROTECT, column=origin.label,
                )
        for origin in sorted(lineage.raw, key=lambda o: o.label):
            if origin.is_l4:
                raise QueryRefused(
                    SENSITIVE_IN_OUTPUT, msg.SENSITIVE_IN_OUTPUT.format(column=origin.label),
                    rule=RULE_PROTECT, column=origin.label,
                )

    def _check_aggregates(self, select: exp.Select, env: dict[str, Relation], final: bool) -> None:
        aggs = aggregates_in(select)
        for agg in aggs:
            name = function_name(agg)
            if type(agg) in MEMBER_AGGREGATES or (
                isinstance(agg, exp.Anonymous) and name in ANONYMOUS_MEMBER_AGGREGATES
            ):
                raise QueryRefused(
                    MEMBER_REVEALING_AGGREGATE, msg.MEMBER_REVEALING_AGGREGATE_ALWAYS.format(function=name),
                    rule=RULE_PROTECT, function=name,
                )
            if type(agg) in ORDER_STATISTICS:
                lineage = Lineage.union([self.lineage(a, env) for a in aggregate_arguments(agg)])
                for origin in sorted(lineage.all, key=lambda o: o.label):
                    if not origin.order_statistic_ok:
                        raise QueryRefused(
                            MEMBER_REVEALING_AGGREGATE,
                            msg.MEMBER_REVEALING_AGGREGATE.format(function=name, column=origin.label),
                            rule=RULE_PROTECT, function=name, column=origin.label,
                        )
            if not final:
                _, filter_condition = aggregate_with_filter(agg)
                conditional = filter_condition is not None or any(
                    next(conditions(a), None) is not None for a in aggregate_arguments(agg)
                )
                if conditional:
                    shown = agg.sql(dialect="duckdb")[:120]
                    raise QueryRefused(
                        NESTED_CONDITIONAL_AGGREGATE, msg.NESTED_CONDITIONAL_AGGREGATE.format(expression=shown),
                        rule=RULE_PROTECT, expression=shown,
                    )
        if final and aggs:
            check_region_count(select, limit=MAX_REGIONS)

    def identifier_uses(
        self, node: exp.Expression, env: dict[str, Relation], *, in_predicate: bool, allow_bare: bool
    ) -> None:
        """Refuse every use of an identifier column except the allowed shapes (see module doc)."""
        node = strip(node) if allow_bare else node
        if isinstance(node, exp.Paren):
            node = strip(node)
        if isinstance(node, exp.Column):
            lineage = self._column(node, env)
            ids = sorted((o for o in lineage.raw if o.is_identifier), key=lambda o: o.label)
            if ids and not (allow_bare and not in_predicate and lineage.bare is not None):
                code, message = (
                    (IDENTIFIER_FILTER, msg.IDENTIFIER_FILTER) if in_predicate
                    else (IDENTIFIER_EXPRESSION, msg.IDENTIFIER_EXPRESSION)
                )
                raise QueryRefused(code, message.format(column=ids[0].label), rule=RULE_PROTECT, column=ids[0].label)
            return
        if isinstance(node, exp.Subquery | exp.Query):
            return
        if isinstance(node, exp.EQ | exp.NullSafeEQ):
            left, right = self._bare_identifier(node.this, env), self._bare_identifier(node.expression, env)
            if left is not None and right is not None:
                if left.id_type == right.id_type:
                    return
                raise QueryRefused(
                    IDENTIFIER_FILTER, msg.IDENTIFIER_FILTER.format(column=left.label), rule=RULE_PROTECT,
                    column=left.label,
                )
        if isinstance(node, exp.Is) and isinstance(strip(node.this), exp.Column) and isinstance(
            node.expression, exp.Null
        ):
            return
        if isinstance(node, exp.In) and node.args.get("query") is not None and isinstance(
            strip(node.this), exp.Column
        ):
            return  # the semi-join's shape is checked with the subquery (lineage → _subquery)
        if isinstance(node, exp.Count | exp.ApproxDistinct):
            arg = node.this
            values = arg.expressions if isinstance(arg, exp.Distinct) else [arg]
            if all(isinstance(strip(v), exp.Column | exp.Star) for v in values):
                return
        if isinstance(node, exp.Coalesce) and allow_bare and not in_predicate:
            args = [self._bare_identifier(a, env) for a in [node.this, *node.expressions]]
            if all(a is not None for a in args) and len({a.id_type for a in args if a}) == 1:
                return  # USING join column: COALESCE(a.id, b.id)
        child_predicate = in_predicate or isinstance(
            node, exp.Predicate | exp.Connector | exp.Not | exp.Where | exp.Having | exp.Case | exp.If
        )
        for child in node.iter_expressions():
            self.identifier_uses(child, env, in_predicate=child_predicate, allow_bare=False)

    def _bare_identifier(self, node: exp.Expression, env: dict[str, Relation]) -> Origin | None:
        node = strip(node)
        if not isinstance(node, exp.Column):
            return None
        lineage = self._column(node, env)
        if lineage.bare is not None and lineage.bare.is_identifier:
            return lineage.bare
        return None

    # -- lineage --------------------------------------------------------------------------------
    def _column(self, col: exp.Column, env: dict[str, Relation]) -> Lineage:
        relation = env.get(col.table)
        if relation is None:
            raise _Correlated(col.table)
        lineage = relation.columns.get(col.name)
        if lineage is None:
            lineage = relation.columns.get(col.name.lower())
        if lineage is None:
            raise QueryRefused(
                COLUMN_NOT_GRANTED, msg.COLUMN_NOT_GRANTED.format(column=f"{col.table}.{col.name}"),
                rule=RULE_PROTECT, column=col.name,
            )
        self.columns.update(o.label for o in lineage.all)
        return lineage

    def lineage(self, node: exp.Expression, env: dict[str, Relation]) -> Lineage:
        if isinstance(node, exp.Column):
            return self._column(node, env)
        if isinstance(node, exp.Subquery):
            return self._subquery(node, env)
        if isinstance(node, exp.Exists | exp.Any | exp.All):
            raise QueryRefused(
                SUBQUERY_NOT_ALLOWED, msg.SUBQUERY_NOT_ALLOWED.format(reason=node.key.upper()),
                rule=RULE_PROTECT, reason=node.key.upper(),
            )
        parts = [self.lineage(child, env) for child in node.iter_expressions()]
        merged = Lineage.union(parts)
        if is_aggregate(node) or (isinstance(node, exp.Filter) and is_aggregate(node.this)):
            rows = frozenset().union(*(rel.subjects for rel in env.values())) if env else frozenset()
            return Lineage(aggregated=merged.all | rows)
        if isinstance(node, exp.Alias | exp.Paren) and parts:
            return parts[0]
        if isinstance(node, exp.Coalesce):
            bare = [p.bare for p in parts]
            if all(b is not None and b.is_identifier for b in bare) and len({b.id_type for b in bare if b}) == 1:
                return Lineage(raw=merged.raw, bare=bare[0])  # USING join column: COALESCE(a.id, b.id)
        return merged

    def _subquery(self, node: exp.Subquery, env: dict[str, Relation]) -> Lineage:
        parent = node.parent
        if isinstance(parent, exp.In) and parent.args.get("query") is node:
            outer = self._bare_identifier(parent.this, env)
            relation = self.query(node.this, final=False)
            inner = next(iter(relation.columns.values()), None) if len(relation.columns) == 1 else None
            if outer is None or inner is None or inner.bare is None or inner.bare.id_type != outer.id_type:
                reason = "IN (SELECT …) must match an identifier with an identifier of the same type"
                raise QueryRefused(
                    SUBQUERY_NOT_ALLOWED, msg.SUBQUERY_NOT_ALLOWED.format(reason=reason), rule=RULE_PROTECT,
                    reason="in_subquery",
                )
            return Lineage()
        select = node.this
        if not isinstance(select, exp.Select) or not is_aggregating(select) or len(select.expressions) != 1:
            reason = "a scalar subquery must be one aggregate"
            raise QueryRefused(
                SUBQUERY_NOT_ALLOWED, msg.SUBQUERY_NOT_ALLOWED.format(reason=reason), rule=RULE_PROTECT,
                reason="scalar_subquery",
            )
        relation = self.query(select, final=True)
        return Lineage(aggregated=Lineage.union(list(relation.columns.values())).all)
