"""Pass 3 — function and syntax ALLOW-list (rules R1.1a, R1.1b).

Not a deny list: every node of the tree must be of a known, harmless kind, and every function must
be on the list below. File readers (``read_csv``, ``glob``), metadata and settings
(``duckdb_settings``, ``current_setting``, ``getenv``, ``version``), table functions, lambdas,
structs, lists, JSON, placeholders … are simply not on it. The list is the same in both environments;
what differs (member-revealing aggregates, window functions, set operations) is decided by the
aggregation rule, which only applies in the domain environment (``analysis_rules``).
"""

from __future__ import annotations

from sqlglot import exp

from opdomain.compute import messages as msg
from opdomain.compute.analysis_errors import (
    FUNCTION_NOT_ALLOWED,
    RULE_RAW_DATA,
    UNSUPPORTED_SYNTAX,
    QueryRefused,
)
from opdomain.compute.analysis_tree import ANONYMOUS_AGGREGATES


def _classes(*names: str) -> frozenset[type]:
    return frozenset(c for c in (getattr(exp, n, None) for n in names) if isinstance(c, type))


#: structure of a query
STRUCTURE = _classes(
    "Select", "Union", "Intersect", "Except", "Subquery", "From", "Join", "Where", "Group", "Having",
    "Order", "Ordered", "Limit", "Offset", "With", "CTE", "TableAlias", "Alias", "Column", "Identifier",
    "Table", "Star", "Literal", "Boolean", "Null", "Paren", "Tuple", "DataType", "DataTypeParam",
    "Interval", "Var", "Distinct", "Filter", "Window", "WindowSpec", "Qualify", "IgnoreNulls",
    "RespectNulls", "Rollup", "Cube", "GroupingSets",
)
#: operators and conditions
OPERATORS = _classes(
    "Add", "Sub", "Mul", "Div", "IntDiv", "Mod", "Neg", "DPipe", "EQ", "NEQ", "GT", "GTE", "LT", "LTE",
    "NullSafeEQ", "NullSafeNEQ", "Is", "In", "Between", "Like", "ILike", "Escape", "And", "Or", "Not",
    "Exists", "Any", "All",
)
#: scalar functions: arithmetic, dates, a few string functions (none reads files, settings or metadata)
SCALARS = _classes(
    "Case", "If", "Coalesce", "Nullif", "Greatest", "Least", "Cast", "TryCast",
    "Abs", "Round", "Floor", "Ceil", "Sqrt", "Pow", "Ln", "Log", "Exp", "Sign", "Trunc",
    "Extract", "Year", "Month", "Day", "Quarter", "Week", "DayOfWeek", "DayOfWeekIso", "DayOfMonth",
    "DayOfYear", "DateTrunc", "TimestampTrunc", "DateDiff", "DateAdd", "DateSub", "CurrentDate", "TimeToStr",
    "Length", "Upper", "Lower", "Substring", "Left", "Right", "Trim", "Concat", "Replace", "StrPosition",
    "Contains", "StartsWith", "Pad",
)
#: aggregates that summarise a group (allowed everywhere; see analysis_rules for order statistics)
SAFE_AGGREGATES = _classes(
    "Count", "Sum", "Avg", "Stddev", "StddevPop", "StddevSamp", "Variance", "VariancePop", "Corr",
    "CovarPop", "CovarSamp", "ApproxDistinct", "CountIf", "Skewness", "Kurtosis",
)
#: aggregates that return one member's value: only over L1/L2 data in the domain
ORDER_STATISTICS = _classes(
    "Min", "Max", "Median", "PercentileCont", "PercentileDisc", "Quantile", "ApproxQuantile",
    "LogicalAnd", "LogicalOr", "Mode",
)
#: aggregates that return members' values (lists, strings, first/any/arg_max): dev only
MEMBER_AGGREGATES = _classes(
    "GroupConcat", "ArrayAgg", "First", "Last", "AnyValue", "ArgMax", "ArgMin", "ArrayUniqueAgg",
)
#: window-only functions: dev only
WINDOW_FUNCTIONS = _classes(
    "RowNumber", "Rank", "DenseRank", "Lag", "Lead", "NthValue", "FirstValue", "LastValue", "Ntile",
    "PercentRank", "CumeDist",
)
#: functions sqlglot does not model, by lowercase name
ANONYMOUS_SCALARS = frozenset({"date_part", "datepart", "prefix", "suffix"})
ANONYMOUS_MEMBER_AGGREGATES = ANONYMOUS_AGGREGATES

ALLOWED = STRUCTURE | OPERATORS | SCALARS | SAFE_AGGREGATES | ORDER_STATISTICS | MEMBER_AGGREGATES | (
    WINDOW_FUNCTIONS
)

#: plain types a CAST may target
CAST_TYPES = frozenset(
    getattr(exp.DataType.Type, n)
    for n in (
        "TINYINT", "SMALLINT", "INT", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINT", "UBIGINT",
        "FLOAT", "DOUBLE", "DECIMAL", "VARCHAR", "TEXT", "CHAR", "NCHAR", "NVARCHAR", "DATE", "TIMESTAMP",
        "BOOLEAN",
    )
    if hasattr(exp.DataType.Type, n)
)
#: where a bare word (sqlglot Var) is legitimate: a date part or an ORDER BY ALL
_VAR_PARENTS = _classes("Extract", "DateTrunc", "TimestampTrunc", "DateDiff", "DateAdd", "DateSub",
                        "Interval", "Ordered")


def function_name(node: exp.Expr) -> str:
    """The function's name as DuckDB spells it (``version``, ``sha256``, ``string_agg`` …)."""
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    if isinstance(node, exp.Func):
        try:
            text = node.sql(dialect="duckdb")
        except Exception:  # noqa: BLE001 - a name for a message; never fail on it
            text = ""
        head = text.split("(", 1)[0].strip().lower()
        return head if head.replace("_", "").isalnum() else node.sql_name().lower()
    return node.key.lower()


def check_functions(tree: exp.Query) -> None:
    """Refuse any node or function that is not on the allow-list (query.function_not_allowed)."""
    for node in tree.walk():
        kind = type(node)
        if isinstance(node, exp.Anonymous):
            name = function_name(node)
            if name not in ANONYMOUS_SCALARS | ANONYMOUS_MEMBER_AGGREGATES:
                _refuse_function(name)
            continue
        if kind not in ALLOWED:
            if isinstance(node, exp.Func):
                _refuse_function(function_name(node))
            _refuse_syntax(node.key.upper())
        if isinstance(node, exp.Cast | exp.TryCast):
            _check_cast(node)
        elif isinstance(node, exp.Var) and not isinstance(node.parent, _VAR_PARENTS_TUPLE):
            _refuse_syntax(str(node.this))
        elif isinstance(node, exp.Select):
            _check_select_args(node)
        elif isinstance(node, exp.Join):
            _check_join(node)
        elif isinstance(node, exp.With) and node.args.get("recursive"):
            _refuse_syntax("WITH RECURSIVE")
        elif isinstance(node, exp.Table):
            _check_table_args(node)


_VAR_PARENTS_TUPLE = tuple(_VAR_PARENTS)

#: SELECT clauses we understand; anything else (INTO, PIVOT, SAMPLE, LATERAL VIEW …) is refused
_SELECT_ARGS = frozenset({
    "with_", "expressions", "distinct", "from_", "joins", "where", "group", "having", "qualify",
    "windows", "order", "limit", "offset",
})


def _check_select_args(select: exp.Select) -> None:
    for key, value in select.args.items():
        if value in (None, [], False) or key in _SELECT_ARGS:
            continue
        _refuse_syntax(key.upper())
    distinct = select.args.get("distinct")
    if distinct is not None and distinct.args.get("on") is not None:
        _refuse_syntax("DISTINCT ON")


_TABLE_ARGS = frozenset({"this", "db", "catalog", "alias"})


def _check_table_args(table: exp.Table) -> None:
    for key, value in table.args.items():
        if value in (None, [], False) or key in _TABLE_ARGS:
            continue
        _refuse_syntax("TABLESAMPLE" if key == "sample" else key.upper())


_JOIN_ARGS = frozenset({"this", "on", "side", "kind", "pivots"})


def _check_join(join: exp.Join) -> None:
    for key, value in join.args.items():
        if value in (None, [], False):
            continue
        if key not in _JOIN_ARGS:
            _refuse_syntax(f"{key.upper()} JOIN" if key in ("method", "using") else key.upper())
    kind = (join.args.get("kind") or "").upper()
    if kind not in ("", "INNER", "OUTER", "CROSS"):
        _refuse_syntax(f"{kind} JOIN")


def _check_cast(node: exp.Expression) -> None:
    target = node.args.get("to")
    if not isinstance(target, exp.DataType) or target.this not in CAST_TYPES or any(
        isinstance(e, exp.DataType) for e in target.expressions
    ):
        name = target.sql(dialect="duckdb") if isinstance(target, exp.Expression) else str(target)
        raise QueryRefused(
            FUNCTION_NOT_ALLOWED, msg.CAST_NOT_ALLOWED.format(type=name), rule=RULE_RAW_DATA,
            function="CAST", type=name,
        )


def _refuse_function(name: str) -> None:
    raise QueryRefused(
        FUNCTION_NOT_ALLOWED, msg.FUNCTION_NOT_ALLOWED.format(function=name), rule=RULE_RAW_DATA,
        function=name,
    )


def _refuse_syntax(construct: str) -> None:
    raise QueryRefused(
        UNSUPPORTED_SYNTAX, msg.UNSUPPORTED_SYNTAX.format(construct=construct), rule=RULE_RAW_DATA,
        construct=construct,
    )
