"""Automated airlock checks on one output file (数据出域自动检查; SPEC §6, rules R1.1a, R1.1b, R4.2b,
R4.4a).

:func:`check_output` runs every check that applies to the file and its declared kind and returns a
:class:`~opdomain.egress.check_report.CheckReport`; it never raises on a hostile file. Order: size
and type first (a refused file is not opened further, as in OpenSAFELY's airlock), then content
(active content in figures and reports; parameters of models), then the table checks:

=========================  ========  =========  ======  ==================================
check                      table     per-subj.  model   module
=========================  ========  =========  ======  ==================================
row limit                  yes       –          –       ``check_tables``
minimum count, zeros       yes       –          –       ``check_tables``
secondary disclosure       yes       –          –       ``check_secondary``
dominance, extremes        yes       –          –       ``check_tables``
identifiers                yes       yes (1)    yes     ``check_identifiers``
linkability                yes       yes (1)    yes     ``check_linkage``
approved shape, consent    –         yes        –       ``check_linkage``
reversibility              yes       yes        yes     ``check_linkage``
=========================  ========  =========  ======  ==================================

(1) except the subject key column of the approved shape. A ``report`` that is a CSV is checked as a
table. Text in SVG, HTML, PDF, PNG and JSON documents is scanned for identifiers too.

The airlock service (later) stores requests and votes; it calls this module and keeps the report.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from opdomain.egress import check_files, check_linkage, check_models, check_tables
from opdomain.egress import messages as msg
from opdomain.egress.check_identifiers import check_identifiers
from opdomain.egress.check_report import (
    DEFAULT_MAX_BYTES,
    OUTPUT_KINDS,
    Cell,
    CheckReport,
    ColumnSummary,
    Finding,
    Outcome,
    OutputContext,
    finding,
)
from opdomain.egress.check_secondary import check_secondary
from opdomain.egress.messages import Code

__all__ = [
    "OUTPUT_KINDS",
    "Cell",
    "CheckReport",
    "ColumnSummary",
    "Finding",
    "Outcome",
    "OutputContext",
    "bench_cells_per_second",
    "check_output",
    "read_csv",
]

TABLE_TYPES = frozenset({"csv", "parquet", "json"})


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_csv(path: Path, con: duckdb.DuckDBPyConnection) -> pa.Table:
    """A CSV with a header row, types sniffed by DuckDB over the whole file; if a later row breaks a
    sniffed type, everything is read as text (the count rules then parse numbers themselves)."""
    literal = str(path).replace("'", "''")
    try:
        return con.sql(f"SELECT * FROM read_csv('{literal}', header=true, sample_size=-1)").to_arrow_table()
    except duckdb.Error:
        return con.sql(f"SELECT * FROM read_csv('{literal}', header=true, all_varchar=true)").to_arrow_table()


def json_table(document: Any) -> pa.Table | None:
    """A JSON document as a table when it is one: records, columns, or pandas' ``split`` layout.
    Nested values (objects, arrays) become their JSON text, so every check sees flat cells."""
    try:
        if isinstance(document, list) and document and all(isinstance(r, dict) for r in document):
            return _flat(pa.Table.from_pylist(document))
        if isinstance(document, dict) and {"columns", "data"} <= set(document) and isinstance(document["data"], list):
            columns = [str(c) for c in document["columns"]]
            return _flat(pa.Table.from_pylist([dict(zip(columns, row, strict=True)) for row in document["data"]]))
        if (
            isinstance(document, dict)
            and document
            and all(isinstance(v, list) for v in document.values())
            and len({len(v) for v in document.values()}) == 1
        ):
            return _flat(pa.Table.from_pydict({str(k): v for k, v in document.items()}))
    except (pa.ArrowException, ValueError, TypeError):
        return None
    return None


def _flat(table: pa.Table) -> pa.Table:
    for position, field in enumerate(table.schema):
        if pa.types.is_nested(field.type) or pa.types.is_null(field.type):
            text = [
                None if v is None else json.dumps(v, ensure_ascii=False) for v in table.column(position).to_pylist()
            ]
            table = table.set_column(position, pa.field(field.name, pa.string()), pa.array(text, pa.string()))
    return table


def json_leaves(document: Any) -> tuple[int, list[str]]:
    """Numeric leaves (a JSON model's parameters; booleans excluded) and string leaves of a document."""
    numbers, texts, stack = 0, list[str](), [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            texts.extend(str(k) for k in item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int | float):
            numbers += 1
        elif isinstance(item, str):
            texts.append(item)
    return numbers, texts


class _Content:
    """What was read from a file: a table, texts to scan, a parameter count, findings on the way."""

    def __init__(self) -> None:
        self.table: pa.Table | None = None
        self.texts: list[str] = []
        self.parameters: int | None = None
        self.findings: list[Finding] = []


def _read(path: Path, detected: str, context: OutputContext, con: duckdb.DuckDBPyConnection) -> _Content:
    content = _Content()
    try:
        if detected == "csv":
            content.table = read_csv(path, con)
        elif detected == "parquet":
            content.table = pq.read_table(path)
        elif detected == "json":
            document = json.loads(path.read_text("utf-8"))
            content.table = json_table(document)
            numbers, texts = json_leaves(document)
            if content.table is None:
                content.texts = texts
                content.parameters = numbers if context.kind == "model" else None
        elif detected in ("svg", "html"):
            text = path.read_text("utf-8")
            check = check_files.check_svg if detected == "svg" else check_files.check_html
            content.findings, content.texts = check(text)
        elif detected == "pdf":
            content.findings, content.texts = check_files.check_pdf(path.read_bytes())
        elif detected == "png":
            content.findings, content.texts = check_files.check_png(path.read_bytes())
        elif detected == "onnx":
            info = check_models.onnx_parameters(path.read_bytes())
            if info is None:
                content.findings.append(check_files.unreadable("onnx", "not an ONNX model"))
            else:
                content.parameters = info.parameters
                if info.external:
                    content.findings.append(
                        finding("reversibility", Outcome.FAIL, "R4.4a", Code.EXTERNAL_WEIGHTS, msg.EXTERNAL_WEIGHTS)
                    )
    except UnicodeDecodeError:
        content.findings.append(finding("file_type", Outcome.FAIL, "R4.4a", Code.FILE_NOT_UTF8, msg.FILE_NOT_UTF8))
    except (duckdb.Error, pa.ArrowException, ValueError, OSError) as exc:
        content.findings.append(check_files.unreadable(detected, exc))
    return content


def _contributions(context: OutputContext, con: duckdb.DuckDBPyConnection) -> pa.Table | None:
    source = context.contributions
    if source is None or isinstance(source, pa.Table):
        return source
    path = Path(source)
    return pq.read_table(path) if path.suffix.lower() in (".parquet", ".pq") else read_csv(path, con)


def _table_checks(
    table: pa.Table, context: OutputContext, con: duckdb.DuckDBPyConnection
) -> tuple[list[Finding], tuple[ColumnSummary, ...]]:
    found: list[Finding] = []
    kind = context.kind
    view = check_tables.column_roles(table, context)
    if kind in ("table", "report"):
        contributions = None
        try:
            raw = _contributions(context, con)
            contributions = check_tables.aggregate_contributions(raw, con) if raw is not None else None
        except (duckdb.Error, pa.ArrowException, ValueError, OSError) as exc:
            found.append(check_files.unreadable("contributions", exc))
        contributors = {(c.row, c.column): c.subjects for c in contributions} if contributions is not None else None
        found += check_tables.check_row_limit(table, context)
        found += check_tables.check_min_count(view, context, contributors)
        found += check_secondary(view, context)
        found += check_tables.check_dominance(view, context, contributions)
    allowed = context.subject_key_column if kind == "per_subject" else None
    found += check_identifiers(table, context, allowed_column=allowed, con=con)
    found += check_linkage.check_linkability(table, context)
    if kind == "per_subject":
        found += check_linkage.check_per_subject(table, context)
    found += check_linkage.check_memorised(table, context, con)
    if kind != "model":
        found += check_linkage.check_exact_values(view, context)
    return found, check_tables.summarise(table)


def check_output(path: Path | str, *, context: OutputContext) -> CheckReport:
    """Every automated check that applies to the output at ``path`` declared as ``context.kind``."""
    started = time.perf_counter()
    path = Path(path)
    size = path.stat().st_size
    sniffed = check_files.sniff(path)
    findings: list[Finding] = []
    findings += check_files.check_size(size, context)
    findings += check_files.check_file_type(sniffed, context)
    table: pa.Table | None = None
    summaries: tuple[ColumnSummary, ...] = ()
    if not any(f.outcome is Outcome.FAIL for f in findings):
        con = duckdb.connect()
        try:
            content = _read(path, sniffed.detected, context, con)
            findings += content.findings
            table = content.table
            if content.texts:
                texts = pa.table({"(text)": pa.array(content.texts, pa.string())})
                findings += check_identifiers(texts, context, con=con)
            if table is not None:
                found, summaries = _table_checks(table, context, con)
                findings += found
                if context.kind == "model" and content.parameters is None:
                    content.parameters = check_linkage.numeric_cells(table)
            elif context.kind in ("table", "per_subject") and sniffed.detected == "json" and not content.findings:
                findings.append(
                    finding("min_count", Outcome.REVIEW, "R4.4a", Code.NO_COUNT_COLUMN, msg.NO_COUNT_COLUMN)
                )
            if context.kind == "model":
                findings += check_linkage.check_parameters(content.parameters, context)
        finally:
            con.close()
    return CheckReport(
        path=str(path),
        kind=context.kind,
        file_type=sniffed.detected,
        size=size,
        sha256=_sha256(path),
        rows=table.num_rows if table is not None else None,
        columns=tuple(table.column_names) if table is not None else (),
        findings=tuple(findings),
        summaries=summaries,
        seconds=time.perf_counter() - started,
    )


# --- throughput ------------------------------------------------------------------------------------


def write_bench_table(path: Path, rows: int = 100_000, seed: int = 2023) -> Path:
    """A 10-column aggregate-shaped CSV of ``rows`` rows (1,000,000 cells at the default): three
    label columns, three count columns, four statistics — what a large job output looks like."""
    rng = np.random.default_rng(seed)
    townships = np.array(
        ["瓯北街道", "东城街道", "乌牛街道", "桥头镇", "桥下镇", "大若岩镇", "碧莲镇", "岩头镇", "沙头镇"]
    )
    table = pa.table(
        {
            "category": pa.array(np.where(rng.random(rows) < 0.3, "规上", "规下")),
            "township": pa.array(townships[rng.integers(0, len(townships), rows)]),
            "grade": pa.array(np.array(list("ABCDE"))[rng.integers(0, 5, rows)]),
            "n": pa.array(rng.integers(10, 500, rows)),
            "n_insured": pa.array(rng.integers(10, 5_000, rows)),
            "patents_count": pa.array(rng.integers(10, 90, rows)),
            "mean_score": pa.array(np.round(rng.uniform(20, 95, rows), 2)),
            "mean_tax": pa.array(np.round(rng.lognormal(13, 1, rows), 2)),
            "mean_wage": pa.array(np.round(rng.normal(6_500, 900, rows), 2)),
            "rd_share": pa.array(np.round(rng.uniform(0, 0.1, rows), 4)),
        }
    )
    from pyarrow import csv

    csv.write_csv(table, path)
    return path


def bench_cells_per_second(rows: int = 100_000, folder: Path | None = None) -> dict[str, float]:
    """Run :func:`check_output` on a generated ``rows`` × 10 CSV and measure cells per second (the
    bench target is over 1,000,000 cells/s on 1,000,000 cells)."""
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        path = write_bench_table(Path(scratch) / "bench.csv", rows)
        context = OutputContext(kind="table", max_bytes=max(DEFAULT_MAX_BYTES, path.stat().st_size))
        started = time.perf_counter()
        report = check_output(path, context=context)
        seconds = time.perf_counter() - started
    return {"cells": float(report.cells), "seconds": seconds, "cells_per_second": report.cells / seconds}
