"""User-facing messages of governed queries (运营域内计算), Chinese first (rules R1.1a, R1.1b, R4.4c).

Each refusal names the rule it applies and the column, function or group concerned, so an analyst
can fix the query without guessing. Codes live beside the messages in ``analysis*.py``.
"""

from opdomain.errors import Message

# -- parse --------------------------------------------------------------------------------------
PARSE_ERROR = Message("SQL 无法解析：{reason}", "the SQL cannot be parsed: {reason}")
EMPTY_QUERY = Message("查询为空", "the query is empty")
MULTIPLE_STATEMENTS = Message(
    "一次只能提交一条 SELECT 语句（收到 {count} 条）",
    "submit exactly one SELECT statement at a time (got {count})",
)
NOT_SELECT = Message(
    "只允许只读的 SELECT 查询，不允许 {kind}",
    "only a read-only SELECT query is allowed, not {kind}",
)
UNSUPPORTED_SYNTAX = Message(
    "不支持的 SQL 语法：{construct}", "unsupported SQL construct: {construct}"
)
RESERVED_NAME = Message(
    "名称 {name} 以系统保留前缀 __od 开头", "the name {name} uses the reserved prefix __od"
)

# -- scope --------------------------------------------------------------------------------------
UNKNOWN_TABLE = Message(
    "表 {table} 不在本授权范围内", "table {table} is not part of this grant"
)
AMBIGUOUS_TABLE = Message(
    "表名 {table} 不唯一，请写出 库名.表名（{candidates}）",
    "table name {table} is ambiguous; write schema.table ({candidates})",
)
COLUMN_NOT_GRANTED = Message(
    "列 {column} 不存在或不在本授权范围内", "column {column} does not exist or is not granted"
)
TABLE_FUNCTION = Message(
    "不允许在 FROM 中调用函数 {function}（文件读取、元数据与表函数均被禁止）",
    "function {function} may not be used in FROM (file readers, metadata and table functions are refused)",
)

# -- functions ----------------------------------------------------------------------------------
FUNCTION_NOT_ALLOWED = Message(
    "函数 {function} 不在允许清单内", "function {function} is not on the allow-list"
)
CAST_NOT_ALLOWED = Message(
    "不允许转换为类型 {type}", "casting to type {type} is not allowed"
)

# -- aggregation rule (domain) ------------------------------------------------------------------
IDENTIFIER_IN_OUTPUT = Message(
    "标识列 {column} 不得出现在结果或分组键中（只能在 count(DISTINCT …) 等聚合内使用）",
    "identifier column {column} may not appear in the output or a group key "
    "(use it only inside an aggregate such as count(DISTINCT …))",
)
SENSITIVE_IN_OUTPUT = Message(
    "L4 级敏感列 {column} 不得出现在结果或分组键中，只能在 sum/avg/count 等聚合内使用",
    "L4 column {column} may not appear in the output or a group key; use it only inside sum/avg/count",
)
IDENTIFIER_FILTER = Message(
    "不允许按标识列 {column} 筛选；只允许同类标识列之间的连接等值条件和 IS [NOT] NULL",
    "filtering on identifier column {column} is not allowed; only join equalities between identifiers "
    "of the same type and IS [NOT] NULL are",
)
IDENTIFIER_EXPRESSION = Message(
    "标识列 {column} 只能原样使用（连接、count(DISTINCT …)），不得放入函数或计算",
    "identifier column {column} may only be used as is (joins, count(DISTINCT …)), "
    "not inside a function or a computation",
)
MEMBER_REVEALING_AGGREGATE = Message(
    "聚合函数 {function} 可能返回单个成员的值，不允许用于 {column}",
    "aggregate {function} can return a single member's value and is not allowed on {column}",
)
MEMBER_REVEALING_AGGREGATE_ALWAYS = Message(
    "聚合函数 {function} 会返回单个成员的值，运营域内计算不允许使用",
    "aggregate {function} returns members' values and is not allowed in governed queries",
)
NOT_AGGREGATED = Message(
    "运营域内的查询结果必须是聚合结果（GROUP BY 或聚合函数），不能返回逐行数据",
    "a governed query must return aggregates (GROUP BY or aggregate functions), not individual rows",
)
WINDOW_FUNCTION = Message(
    "运营域内计算不允许窗口函数（{function}）", "window functions ({function}) are not allowed in governed queries"
)
SET_OPERATION = Message(
    "运营域内计算不允许 {operation}；请分别提交各个查询",
    "{operation} is not allowed in governed queries; submit each part as its own query",
)
GROUPING_SETS = Message(
    "运营域内计算不允许 {construct}（汇总行与明细行相减可还原被抑制的小组）",
    "{construct} is not allowed in governed queries (totals minus shown groups would reveal suppressed ones)",
)
SUBQUERY_NOT_ALLOWED = Message(
    "运营域内计算不允许这种子查询（{reason}）；请改写为对聚合派生表的连接",
    "this subquery is not allowed in governed queries ({reason}); rewrite it as a join to an aggregated "
    "derived table",
)
INNER_LIMIT = Message(
    "运营域内计算不允许在子查询或 CTE 中使用 LIMIT/OFFSET/SAMPLE（会形成不可审计的筛选）",
    "LIMIT/OFFSET/SAMPLE inside a subquery or CTE is not allowed in governed queries "
    "(it would act as an unaudited filter)",
)
NESTED_CONDITIONAL_AGGREGATE = Message(
    "内层聚合中不允许条件聚合（FILTER、CASE、比较）：{expression}；请把条件放到 WHERE 或最外层聚合",
    "conditional aggregates (FILTER, CASE, comparisons) are not allowed in an inner aggregation: "
    "{expression}; move the condition to WHERE or to the outermost aggregation",
)
TOO_MANY_CONDITIONS = Message(
    "聚合中的条件过多（{count} 个，最多 {limit} 个）",
    "too many conditions inside aggregates ({count}, at most {limit})",
)
DIFFERENCING = Message(
    "该查询与本授权此前的查询 {previous} 在分组 {group} 上只相差 {count} 个数据主体（少于 {k}），"
    "两者相减可推出个体信息，已拒绝",
    "this query and the grant's earlier query {previous} differ on group {group} by only {count} data "
    "subjects (fewer than {k}); subtracting them would reveal individuals, so it is refused",
)

# -- engine -------------------------------------------------------------------------------------
ENGINE_REFUSED = Message(
    "查询引擎拒绝执行：{reason}", "the query engine refused the statement: {reason}"
)
ENGINE_TIMEOUT = Message(
    "查询超过时间上限（{seconds} 秒）已中止", "the query exceeded the time limit ({seconds} s) and was stopped"
)
ENGINE_ERROR = Message("查询执行失败：{reason}", "the query failed: {reason}")
ENGINE_CLOSED = Message("查询引擎已关闭", "the query engine is closed")
