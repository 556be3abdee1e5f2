"""The hardened engine: locked DuckDB plus a guard on DuckDB's own parse tree (R1.1a, R4.4c, R4.5a).

Each attack is shown twice where it applies: the guard of :meth:`Engine.run` refuses it, and the
locked connection itself refuses it when the guard is bypassed (defence in depth).
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from opdomain.compute.analysis_errors import QueryRefused
from opdomain.compute.engine import Engine, open_engine

H = "hrss.insured_employees"


@pytest.fixture()
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.csv"
    path.write_text("secret\n42\n")
    return path


@pytest.fixture()
def small_engine(tables: dict[str, pa.Table]) -> Engine:
    with open_engine(tables, memory_limit="256MB", threads=1, timeout_s=5,
                     consent={"enterprise": ["91330324MA0000001X"]}) as engine:
        yield engine  # type: ignore[misc]


def guard_refuses(engine: Engine, sql: str) -> str:
    with pytest.raises(QueryRefused) as info:
        engine.run(sql, 10)
    assert info.value.code == "query.engine_refused"
    return str(info.value.details["reason"])


def lock_refuses(engine: Engine, sql: str) -> None:
    conn = engine._conn  # noqa: SLF001 - bypass the guard on purpose
    assert conn is not None
    with pytest.raises(duckdb.Error):
        conn.execute(sql).fetchall()


@pytest.mark.parametrize("sql", [
    "SELECT * FROM read_csv('{secret}')",
    "SELECT * FROM read_text('{secret}')",
    "SELECT * FROM '{secret}'",
    "SELECT * FROM glob('/etc/*')",
    "COPY (SELECT * FROM hrss.insured_employees) TO '{out}'",
    "EXPORT DATABASE '{dir}'",
    "ATTACH '{db}' AS other",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET threads = 8",
    "SET enable_external_access = true",
    "RESET lock_configuration",
    "SET lock_configuration = false",
])
def test_files_extensions_and_settings_are_refused_twice(
    sql: str, small_engine: Engine, secret_file: Path, tmp_path: Path
) -> None:
    text = sql.format(secret=secret_file, out=tmp_path / "out.csv", dir=tmp_path / "export",
                      db=tmp_path / "other.duckdb")
    guard_refuses(small_engine, text)
    lock_refuses(small_engine, text)
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "export").exists()
    assert not (tmp_path / "other.duckdb").exists()


@pytest.mark.parametrize("sql", [
    "PRAGMA database_list",
    "CALL pragma_version()",
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM duckdb_tables()",
    "SELECT * FROM duckdb_functions()",
    "SELECT current_setting('memory_limit')",
    "SELECT * FROM information_schema.tables",
    "SELECT * FROM pg_catalog.pg_tables",
    "SELECT * FROM query('SELECT 1')",
    "SELECT * FROM query_table('hrss.insured_employees')",
    "SELECT getvariable('x')",
    "SET VARIABLE x = 1",
    "CREATE TABLE main.leak AS SELECT * FROM hrss.insured_employees",
    "CREATE MACRO f(x) AS x",
    "DROP TABLE hrss.insured_employees",
    "UPDATE hrss.insured_employees SET monthly_wage = 0",
    "SELECT 1; SELECT 2",
    "SELECT * FROM hrss.insured_employees USING SAMPLE 5",
    "SELECT * FROM system.main.duckdb_settings()",
    "SELECT version()",
])
def test_metadata_and_state_changes_are_refused_by_the_guard(sql: str, small_engine: Engine) -> None:
    guard_refuses(small_engine, sql)


def test_python_variables_are_not_reachable(small_engine: Engine) -> None:
    service_secret = pa.table({"key": ["do not read"]})  # noqa: F841 - the target of the attack
    guard_refuses(small_engine, "SELECT * FROM service_secret")
    lock_refuses(small_engine, "SELECT * FROM service_secret")


def test_only_the_registered_relations_exist(small_engine: Engine) -> None:
    assert small_engine.relations == frozenset({
        "amr.enterprise_registry", "hrss.insured_employees", "stats.sales_profit", "eit.mu_efficiency",
        "main.consent_enterprise"})
    guard_refuses(small_engine, "SELECT * FROM hrss.other_table")


def test_a_select_over_registered_relations_runs(small_engine: Engine) -> None:
    columns, rows, truncated = small_engine.run(
        "WITH c AS (SELECT subject_id FROM consent_enterprise) SELECT count(*) AS n FROM c", 5)
    assert (columns, rows, truncated) == (["n"], [(1,)], False)


def test_rows_are_capped_and_the_cut_is_reported(small_engine: Engine) -> None:
    columns, rows, truncated = small_engine.run(f"SELECT person_id FROM {H} ORDER BY person_id", 7)
    assert len(rows) == 7 and truncated and columns == ["person_id"]
    _c, rows, truncated = small_engine.run(f"SELECT count(*) FROM {H}", 7)
    assert len(rows) == 1 and not truncated


def test_a_long_query_is_interrupted_at_the_time_limit(tables: dict[str, pa.Table]) -> None:
    with open_engine({H: tables[H]}, timeout_s=0.5, threads=1) as engine:
        started = time.perf_counter()
        with pytest.raises(QueryRefused) as info:
            engine.run(f"SELECT count(*) FROM {H} a, {H} b, {H} c, {H} d WHERE a.monthly_wage + b.monthly_wage "
                       "+ c.monthly_wage > d.monthly_wage", 1)
        assert info.value.code == "query.timeout" and info.value.status == 408
        assert time.perf_counter() - started < 10
        _c, rows, _t = engine.run(f"SELECT count(*) FROM {H}", 1)  # still usable afterwards
        assert rows[0][0] == tables[H].num_rows


def test_the_memory_limit_is_enforced(tables: dict[str, pa.Table]) -> None:
    with open_engine({H: tables[H]}, memory_limit="16MB", threads=1, timeout_s=20) as engine:
        with pytest.raises(QueryRefused) as info:
            engine.run(f"SELECT count(DISTINCT a.person_id || b.person_id || c.person_id) FROM {H} a, {H} b, {H} c", 1)
        assert info.value.code in ("query.engine_error", "query.timeout")


def test_parquet_sources_are_readable_only_through_their_relation(tmp_path: Path, tables: dict[str, pa.Table],
                                                                   secret_file: Path) -> None:
    path = tmp_path / "hrss.parquet"
    pq.write_table(tables[H], path)
    with open_engine({H: str(path)}) as engine:
        _c, rows, _t = engine.run(f"SELECT count(*) FROM {H}", 1)
        assert rows[0][0] == tables[H].num_rows
        guard_refuses(engine, f"SELECT * FROM read_parquet('{path}')")
        lock_refuses(engine, f"SELECT * FROM read_csv('{secret_file}')")


def test_a_closed_engine_refuses(tables: dict[str, pa.Table]) -> None:
    engine = open_engine({H: tables[H]})
    engine.close()
    with pytest.raises(QueryRefused):
        engine.run("SELECT 1", 1)


@pytest.mark.parametrize("name", ["hrss", "HRSS.x y", "a.b.c", "hrss.t; DROP"])
def test_relation_names_are_validated(name: str, tables: dict[str, pa.Table]) -> None:
    with pytest.raises(ValueError):
        open_engine({name: tables[H]})


def test_engine_errors_never_quote_data(small_engine: Engine) -> None:
    """DuckDB's messages quote the failing value; on real data that is a raw value (R1.1a)."""
    with pytest.raises(QueryRefused) as info:
        small_engine.run(f"SELECT count(*) FROM {H} WHERE CAST(name AS INTEGER) > 0", 1)
    assert info.value.code == "query.engine_error"
    assert info.value.details["reason"] == "ConversionException"
    assert "员工" not in info.value.message.en and "员工" not in info.value.message.zh


def test_engine_error_detail_is_for_dev_data(small_engine: Engine) -> None:
    with pytest.raises(QueryRefused) as info:
        small_engine.run(f"SELECT no_such_column FROM {H}", 1, error_detail=True)
    assert "no_such_column" in info.value.message.en
    assert "\n" not in info.value.message.en
