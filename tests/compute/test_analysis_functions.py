"""Pass 3 — the function and syntax ALLOW-list (R1.1a, R1.1b)."""

from __future__ import annotations

import pytest

from opdomain.compute.analysis_errors import QueryRefused
from opdomain.compute.analysis_functions import check_functions
from opdomain.compute.analysis_parse import parse_statement
from opdomain.compute.analysis_scope import resolve_scope
from opdomain.compute.policy import GrantPolicy

H = "hrss.insured_employees"


def check(sql: str, policy: GrantPolicy) -> None:
    check_functions(resolve_scope(parse_statement(sql), policy))


@pytest.mark.parametrize("expr", [
    "count(*)", "count(DISTINCT person_id)", "sum(monthly_wage)", "avg(monthly_wage * 12)", "stddev(monthly_wage)",
    "variance(monthly_wage)", "var_pop(monthly_wage)", "approx_count_distinct(uscc)", "count_if(monthly_wage > 5000)",
    "min(gender)", "max(insured_since)", "median(monthly_wage)", "quantile_cont(monthly_wage, 0.5)",
    "round(avg(monthly_wage), 2)", "abs(sum(monthly_wage) - 1)", "floor(avg(monthly_wage) / 1000) * 1000",
    "CASE WHEN gender = '男' THEN 1 ELSE 0 END", "coalesce(gender, '?')", "nullif(gender, '')",
    "greatest(1, 2)", "CAST(monthly_wage AS INTEGER)", "monthly_wage::DOUBLE", "TRY_CAST(gender AS DATE)",
    "CAST(monthly_wage AS DECIMAL(12, 2))", "date_part('year', birth_date)", "extract(year FROM birth_date)",
    "year(insured_since)", "month(insured_since)", "date_trunc('month', insured_since)",
    "datediff('day', birth_date, insured_since)", "insured_since + INTERVAL 1 DAY", "current_date",
    "length(gender)", "upper(gender)", "lower(gender)", "substr(gender, 1, 1)", "gender || '!'",
    "gender LIKE '男%'", "gender IN ('男', '女')", "monthly_wage BETWEEN 1 AND 2", "gender IS NULL",
    "sqrt(4)", "ln(2)", "log(2, 8)", "power(2, 3)", "5 % 2", "5 // 2",
    "string_agg(gender, ',')", "list(gender)", "first(gender)", "any_value(gender)", "arg_max(gender, monthly_wage)",
    "row_number() OVER (ORDER BY gender)",
])
def test_allowed_functions_pass(expr: str, policy: GrantPolicy) -> None:
    check(f"SELECT {expr} FROM {H}", policy)


@pytest.mark.parametrize("expr, name", [
    ("getenv('HOME')", "getenv"),
    ("current_setting('threads')", "current_setting"),
    ("version()", "version"),
    ("getvariable('x')", "getvariable"),
    ("typeof(gender)", "typeof"),
    ("hash(person_id)", "hash"),
    ("md5(person_id)", "md5"),
    ("sha256(person_id)", "sha256"),
    ("random()", "random"),
    ("uuid()", "uuid"),
    ("nextval('s')", "nextval"),
    ("to_json(gender)", "to_json"),
    ("regexp_matches(gender, '.')", "regexp_matches"),
    ("list_transform([1], x -> x + 1)", "list_transform"),
    ("unnest([1, 2])", "unnest"),
    ("[1, 2]", "array"),
    ("{'a': 1}", "struct"),
    ("struct_pack(a := 1)", "struct"),
    ("query('SELECT 1')", "query"),
    ("read_text('/etc/passwd')", "read_text"),
    ("duckdb_settings()", "duckdb_settings"),
    ("histogram(gender)", None),
])
def test_functions_off_the_list_are_refused(expr: str, name: str | None, policy: GrantPolicy) -> None:
    try:
        check(f"SELECT {expr} FROM {H}", policy)
    except QueryRefused as error:
        if name is None:
            pytest.fail("histogram is a dev-only aggregate and should pass this pass")
        assert error.code in ("query.function_not_allowed", "query.unsupported_syntax")
        if error.code == "query.function_not_allowed":
            assert error.details["function"] == name
    else:
        assert name is None, f"{expr} should be refused"


@pytest.mark.parametrize("cast", ["JSON", "INT[]", "STRUCT(a INT)", "BLOB", "MAP(VARCHAR, INT)", "UUID", "BIT"])
def test_casts_to_non_plain_types_are_refused(cast: str, policy: GrantPolicy) -> None:
    with pytest.raises(QueryRefused) as info:
        check(f"SELECT CAST(gender AS {cast}) FROM {H}", policy)
    assert info.value.code in ("query.function_not_allowed", "query.parse_error")


@pytest.mark.parametrize("sql", [
    f"SELECT count(*) FROM {H} USING SAMPLE 10",
    f"SELECT count(*) FROM {H} TABLESAMPLE 10%",
    f"SELECT * FROM {H} POSITIONAL JOIN eit.mu_efficiency",
    f"SELECT count(*) FROM {H} h ASOF JOIN eit.mu_efficiency e ON h.uscc >= e.uscc",
    f"SELECT count(*) FROM {H} h SEMI JOIN eit.mu_efficiency e ON h.uscc = e.uscc",
    f"SELECT count(*) FROM {H} h ANTI JOIN eit.mu_efficiency e ON h.uscc = e.uscc",
    "WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT count(*) FROM r",
    f"SELECT DISTINCT ON (gender) gender, monthly_wage FROM {H}",
    f"SELECT * FROM {H} PIVOT (count(*) FOR gender IN ('男', '女'))",
    "SELECT * FROM (VALUES (1), (2)) v(a)",
    f"SELECT ? FROM {H}",
    f"SELECT $1 FROM {H}",
])
def test_syntax_off_the_list_is_refused(sql: str, policy: GrantPolicy) -> None:
    with pytest.raises(QueryRefused) as info:
        check(sql, policy)
    assert info.value.code in ("query.unsupported_syntax", "query.function_not_allowed", "query.unknown_table",
                               "query.column_not_granted", "query.parse_error")


def test_a_natural_join_is_made_explicit_on_granted_columns(policy: GrantPolicy) -> None:
    tree = resolve_scope(parse_statement(f"SELECT count(*) FROM {H} NATURAL JOIN eit.mu_efficiency"), policy)
    check_functions(tree)
    join = tree.args["joins"][0]
    assert join.args.get("method") is None
    assert join.args["on"].sql() == '"insured_employees"."uscc" = "mu_efficiency"."uscc"'
