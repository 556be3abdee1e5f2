"""The hardened query engine: one locked-down, in-memory DuckDB per use (rules R1.1a, R4.4c, R4.5a).

:func:`open_engine` creates an in-memory DuckDB that holds exactly the grant's relations (tables in
schemas named like ``hrss``) and the consent relations ``consent_<type>(subject_id)``, then locks it:
no external access (no file readers, COPY, ATTACH, EXPORT, INSTALL/LOAD), no extension autoload or
autoinstall, no spilling to disk, no Python replacement scans (a query cannot read the service's own
variables), memory and thread limits, and ``lock_configuration`` so nothing can be SET back.

:meth:`Engine.run` is defence in depth behind the analysis: it runs a statement only if DuckDB's own
parser (an implementation independent of sqlglot) sees exactly one SELECT that reads only the
registered relations and calls no table function and no metadata, settings or file function. A wall
clock timeout interrupts the statement. The engine never sees the analyst's text unless something
upstream forgot to analyse it — and then it refuses.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet  # noqa: F401 - pa.parquet for weighted Parquet sources

from opdomain.compute import messages as msg
from opdomain.compute.analysis_errors import ENGINE_ERROR, ENGINE_REFUSED, RULE_RAW_DATA, TIMEOUT, QueryRefused
from opdomain.compute.policy import SUBJECT_TYPES, consent_relation, weight_column

_NAME = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")
#: functions the engine refuses even if analysis let them through (prefix match, lowercase)
DENIED_FUNCTION_PREFIXES = (
    "duckdb_", "pragma_", "read_", "parquet_", "sniff_", "glob", "iceberg_", "delta_", "sqlite_",
    "postgres_", "mysql_", "json_serialize", "json_deserialize", "json_execute", "which_secret",
    "current_setting", "getenv", "getvariable", "query", "checkpoint", "force_checkpoint", "enable_",
    "disable_", "current_database", "current_schema", "current_catalog", "version", "test_", "ducklake",
    "load_", "install_", "repeat_row", "range", "generate_series", "unnest_table", "summary", "sql_",
)


class Engine:
    """A locked DuckDB connection holding one grant's relations."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, relations: frozenset[str], timeout_s: float) -> None:
        self._conn: duckdb.DuckDBPyConnection | None = conn
        self.relations = relations  # "schema.table" and "main.consent_<type>"
        self.timeout_s = timeout_s
        self._lock = threading.Lock()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def run(
        self, sql: str, max_rows: int, *, error_detail: bool = False
    ) -> tuple[list[str], list[tuple[Any, ...]], bool]:
        """Run one SELECT; return (column names, at most ``max_rows`` rows, whether rows were cut).

        A failing statement is reported by its kind only (``ConversionException``): DuckDB's messages
        quote the values that failed, which on real data are raw values. ``error_detail=True`` (dev
        data only) gives the first line of DuckDB's message.
        """
        if max_rows < 0:
            raise ValueError("max_rows must be ≥ 0")
        with self._lock:
            conn = self._require()
            self.guard(sql)
            cursor = conn.cursor()
            timer = threading.Timer(self.timeout_s, cursor.interrupt)
            timer.daemon = True
            timer.start()
            try:
                result = cursor.execute(sql)
                columns = [d[0] for d in result.description or []]
                rows = result.fetchmany(max_rows + 1)
            except duckdb.InterruptException as exc:
                raise QueryRefused(
                    TIMEOUT, msg.ENGINE_TIMEOUT.format(seconds=self.timeout_s), rule=RULE_RAW_DATA, status=408,
                    seconds=self.timeout_s,
                ) from exc
            except duckdb.Error as exc:
                reason = _first_line(str(exc)) if error_detail else type(exc).__name__
                raise QueryRefused(
                    ENGINE_ERROR, msg.ENGINE_ERROR.format(reason=reason), rule=RULE_RAW_DATA, reason=reason
                ) from exc
            finally:
                timer.cancel()
                cursor.close()
            truncated = len(rows) > max_rows
            return columns, [tuple(r) for r in rows[:max_rows]], truncated

    # -- defence in depth -----------------------------------------------------------------------
    def guard(self, sql: str) -> None:
        """Refuse anything but one SELECT over the registered relations (DuckDB's own parser)."""
        conn = self._require()
        try:
            statements = conn.extract_statements(sql)
        except duckdb.Error as exc:
            self._refuse(_first_line(str(exc)))
        if len(statements) != 1:
            self._refuse(f"{len(statements)} statements")
        if statements[0].type != duckdb.StatementType.SELECT:
            self._refuse(f"{statements[0].type.name} statement")
        row = conn.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()
        tree = json.loads(row[0]) if row else {"error": True, "error_message": "no parse tree"}
        if tree.get("error"):
            self._refuse(str(tree.get("error_message", "unparsable")))
        ctes = {str(key).lower() for key in _cte_names(tree)}
        for node in _nodes(tree):
            kind = node.get("type")
            if kind == "TABLE_FUNCTION":
                function = (node.get("function") or {}).get("function_name", "?")
                self._refuse(f"table function {function}")
            if kind == "BASE_TABLE":
                self._check_table(node, ctes)
            if node.get("class") == "FUNCTION":
                name = str(node.get("function_name", "")).lower()
                if name.startswith(DENIED_FUNCTION_PREFIXES) or node.get("schema") or node.get("catalog"):
                    self._refuse(f"function {name}")
            if node.get("sample"):
                self._refuse("SAMPLE")

    def _check_table(self, node: dict[str, Any], ctes: set[str]) -> None:
        catalog = str(node.get("catalog_name") or "").lower()
        schema = str(node.get("schema_name") or "").lower()
        table = str(node.get("table_name") or "").lower()
        if catalog:
            self._refuse(f"relation {catalog}.{schema}.{table}")
        if not schema and (table in ctes or f"main.{table}" in self.relations):
            return
        if f"{schema}.{table}" not in self.relations:
            self._refuse(f"relation {schema + '.' if schema else ''}{table}")

    def _refuse(self, reason: str) -> None:
        raise QueryRefused(ENGINE_REFUSED, msg.ENGINE_REFUSED.format(reason=reason), rule=RULE_RAW_DATA, reason=reason)

    def _require(self) -> duckdb.DuckDBPyConnection:
        if self._conn is None:
            raise QueryRefused(ENGINE_ERROR, msg.ENGINE_CLOSED, rule=RULE_RAW_DATA)
        return self._conn


def add_subject_weights(table: pa.Table, columns: Sequence[str]) -> pa.Table:
    """``table`` with ``__od_w_<column>`` = 1 / (rows of that subject), 0 where the subject is NULL.

    Precompute it once per dataset version for large tables whose subject is not unique per row and
    declare it in ``TablePolicy.subject_weighted``: the k check then needs an exact DISTINCT count only
    for groups whose weight sum stays below k (analysis_fastpath).
    """
    conn = duckdb.connect(":memory:")
    try:
        conn.execute("SET python_enable_replacements = false")
        conn.register("__od_load", table)
        extra = ", ".join(
            f'CASE WHEN "{c}" IS NULL THEN 0.0 ELSE 1.0 / count(*) OVER (PARTITION BY "{c}") END '
            f'AS "{weight_column(c)}"' for c in columns if weight_column(c) not in table.column_names
        )
        if not extra:
            return table
        result = conn.sql(f'SELECT *, {extra} FROM "__od_load"').to_arrow_table()
        return result.read_all() if isinstance(result, pa.RecordBatchReader) else result
    finally:
        conn.close()


def open_engine(
    tables: Mapping[str, pa.Table | str | Path],
    *,
    memory_limit: str = "2GB",
    threads: int = 2,
    timeout_s: float = 30,
    consent: Mapping[str, Sequence[str]] | None = None,
    subject_weights: Mapping[str, Sequence[str]] | None = None,
) -> Engine:
    """An in-memory DuckDB with exactly ``tables`` (Arrow tables or Parquet paths), locked down.

    ``subject_weights`` (relation → subject columns) adds the weight columns at load when the tables do
    not carry them yet (convenient for small data; precompute them for large data).
    """
    if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", memory_limit):
        raise ValueError(f"memory_limit like '2GB' expected, not {memory_limit!r}")
    if threads < 1:
        raise ValueError("threads must be ≥ 1")
    conn = duckdb.connect(":memory:", config={"autoinstall_known_extensions": "false",
                                                "autoload_known_extensions": "false"})
    try:
        conn.execute("SET python_enable_replacements = false")
        relations: set[str] = set()
        paths: list[str] = []
        for name, data in tables.items():
            qualified = name.lower()
            if not _NAME.match(qualified):
                raise ValueError(f"relation names are schema.table in lowercase: {name!r}")
            schema, table = qualified.split(".")
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            weighted = list((subject_weights or {}).get(name, ()))
            if isinstance(data, pa.Table):
                conn.register("__od_load", add_subject_weights(data, weighted) if weighted else data)
                conn.execute(f'CREATE TABLE "{schema}"."{table}" AS SELECT * FROM "__od_load"')
                conn.unregister("__od_load")
            elif weighted:
                loaded = add_subject_weights(pa.parquet.read_table(str(data)), weighted)
                conn.register("__od_load", loaded)
                conn.execute(f'CREATE TABLE "{schema}"."{table}" AS SELECT * FROM "__od_load"')
                conn.unregister("__od_load")
            else:
                path = str(Path(data).resolve())
                if not Path(path).is_file():
                    raise FileNotFoundError(path)
                paths.append(path)
                conn.execute(f'CREATE VIEW "{schema}"."{table}" AS SELECT * FROM read_parquet({_literal(path)})')
            relations.add(qualified)
        for subject_type, ids in (consent or {}).items():
            if subject_type not in SUBJECT_TYPES:
                raise ValueError(f"unknown subject type {subject_type!r}")
            relation = consent_relation(subject_type)
            conn.register("__od_load", pa.table({"subject_id": pa.array([str(i) for i in ids], pa.string())}))
            conn.execute(f'CREATE TABLE main."{relation}" AS SELECT DISTINCT subject_id FROM "__od_load"')
            conn.unregister("__od_load")
            relations.add(f"main.{relation}")
        _lock_down(conn, memory_limit=memory_limit, threads=threads, paths=paths)
    except BaseException:
        conn.close()
        raise
    return Engine(conn, frozenset(relations), timeout_s)


def _lock_down(conn: duckdb.DuckDBPyConnection, *, memory_limit: str, threads: int, paths: list[str]) -> None:
    settings = [
        f"SET memory_limit = {_literal(memory_limit)}",
        f"SET threads = {int(threads)}",
        "SET temp_directory = ''",
        "SET enable_progress_bar = false",
        "SET autoinstall_known_extensions = false",
        "SET autoload_known_extensions = false",
        "SET allow_community_extensions = false",
        "SET allow_persistent_secrets = false",
        f"SET allowed_paths = [{', '.join(_literal(p) for p in paths)}]",
        "SET allowed_directories = []",
        "SET enable_external_access = false",
    ]
    if not paths:
        settings.append("SET disabled_filesystems = 'LocalFileSystem'")
    settings.append("SET lock_configuration = true")
    for statement in settings:
        conn.execute(statement)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or ["error"])[0][:300]


def _nodes(tree: Any) -> Iterator[dict[str, Any]]:
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _cte_names(tree: Any) -> Iterator[str]:
    for node in _nodes(tree):
        cte_map = node.get("cte_map")
        if isinstance(cte_map, dict):
            for entry in cte_map.get("map") or []:
                if isinstance(entry, dict) and "key" in entry:
                    yield entry["key"]
