"""Pass 1 — parse: exactly one read-only SELECT (R1.1a, R4.4c)."""

from __future__ import annotations

import pytest
from sqlglot import exp

from opdomain.compute.analysis_errors import QueryRefused
from opdomain.compute.analysis_parse import parse_statement


@pytest.mark.parametrize("sql", [
    "SELECT 1",
    "select gender, count(*) from hrss.insured_employees group by gender;",
    "WITH x AS (SELECT 1 AS a) SELECT a FROM x",
    "FROM hrss.insured_employees SELECT gender",
    "SELECT 1 UNION ALL SELECT 2",
])
def test_a_single_select_is_accepted(sql: str) -> None:
    assert isinstance(parse_statement(sql), exp.Select | exp.SetOperation)


@pytest.mark.parametrize("sql", [
    "SELECT 1; SELECT 2",
    "SELECT 1; DROP TABLE hrss.insured_employees",
    "SELECT 1; -- harmless?\nPRAGMA database_list",
    "SELECT count(*) FROM hrss.insured_employees; COPY hrss.insured_employees TO '/tmp/out.csv'",
])
def test_several_statements_are_refused(sql: str) -> None:
    with pytest.raises(QueryRefused) as info:
        parse_statement(sql)
    assert info.value.code == "query.multiple_statements"
    assert info.value.details["count"] >= 2
    assert info.value.details["rule"] == "R1.1a"


@pytest.mark.parametrize("sql", [
    "PRAGMA database_list",
    "SET threads = 64",
    "RESET threads",
    "COPY hrss.insured_employees TO '/tmp/out.csv'",
    "COPY (SELECT * FROM hrss.insured_employees) TO '/tmp/out.parquet' (FORMAT parquet)",
    "ATTACH '/tmp/other.duckdb' AS other",
    "DETACH other",
    "INSTALL httpfs",
    "LOAD httpfs",
    "CALL pragma_version()",
    "CREATE TABLE t AS SELECT 1",
    "CREATE SECRET s (TYPE s3, KEY_ID 'k', SECRET 's')",
    "INSERT INTO hrss.insured_employees VALUES (1)",
    "UPDATE hrss.insured_employees SET monthly_wage = 0",
    "DELETE FROM hrss.insured_employees",
    "DROP TABLE hrss.insured_employees",
    "DESCRIBE hrss.insured_employees",
    "SHOW TABLES",
    "SUMMARIZE hrss.insured_employees",
    "USE hrss",
    "CHECKPOINT",
    "VACUUM",
])
def test_anything_but_select_is_refused(sql: str) -> None:
    with pytest.raises(QueryRefused) as info:
        parse_statement(sql)
    assert info.value.code in ("query.not_select", "query.parse_error")
    assert info.value.status == 422


def test_not_select_names_the_statement_kind() -> None:
    with pytest.raises(QueryRefused) as info:
        parse_statement("PRAGMA database_list")
    assert info.value.code == "query.not_select"
    assert info.value.details["statement"] == "PRAGMA"
    assert "PRAGMA" in info.value.message.en and "PRAGMA" in info.value.message.zh


@pytest.mark.parametrize("sql", [
    "", "   ", ";", "SELEC 1", "SELECT FROM WHERE", "SELECT (1", "EXPORT DATABASE '/tmp/x'",
])
def test_malformed_sql_is_a_parse_error(sql: str) -> None:
    with pytest.raises(QueryRefused) as info:
        parse_statement(sql)
    assert info.value.code == "query.parse_error"
    assert info.value.message.zh and info.value.message.en
    assert "\x1b" not in info.value.message.en


def test_the_reserved_prefix_is_refused() -> None:
    with pytest.raises(QueryRefused) as info:
        parse_statement("SELECT count(*) AS __od_k1 FROM hrss.insured_employees")
    assert info.value.code == "query.reserved_name"


def test_pathologically_long_sql_is_refused() -> None:
    with pytest.raises(QueryRefused) as info:
        parse_statement("SELECT " + "1 + " * 40_000 + "1")
    assert info.value.code == "query.parse_error"
