"""Linkability, per-subject outputs and reversibility (rules 四.(四) R4.4a, 四.(二) R4.2b).

R4.4a: no raw data package leaves, nor anything from which raw records can be restored. An output
is row-level when a column carries the source's subject keys or this grant's pseudonyms, or when
it has one row per subject with a unique key. It is reversible when a model has about as many
parameters as there are subjects (ACRO asks for at least 10 residual degrees of freedom), when rows
equal source rows (memorised), or when magnitudes equal single subjects' raw values exactly.

R4.2b: a per-subject output (the scenario's rating list) leaves only in the shape approved for the
scenario and only with rows of subjects who consented; the job may compute over everyone.
"""

from __future__ import annotations

import re

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from opdomain.egress import messages as msg
from opdomain.egress.check_identifiers import mask
from opdomain.egress.check_report import MIN_RESIDUAL_DOF, Cell, Finding, Outcome, OutputContext, finding
from opdomain.egress.check_tables import TableView
from opdomain.egress.messages import Code
from opdomain.privacy.masking import quote_ident

#: Column names that say "this is a subject's key" (OpenSAFELY refuses any CSV with a patient_id column).
SUBJECT_KEY_NAME = re.compile(
    r"^(?:patient_id|person_id|resident_id|id_card|id_number|uscc|credit_code|social_credit_code|pseudonym|"
    r"subject_id|身份证|身份证号|身份证号码|证件号|证件号码|公民身份号码|统一社会信用代码|信用代码|假名)$",
    re.IGNORECASE,
)
DISTINCT_SHARE = 0.9  # a column this distinct that matches source keys is one row per subject
NEAR_UNIQUE_MIN_ROWS = 100  # below this, distinct labels are just a short table


def _text(column: pa.ChunkedArray) -> pa.ChunkedArray | None:
    t = column.type
    if pa.types.is_dictionary(t):
        column, t = column.cast(t.value_type), t.value_type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return column
    if pa.types.is_integer(t):
        return pc.cast(column, pa.string())
    return None


def check_linkability(table: pa.Table, context: OutputContext) -> list[Finding]:
    """Columns holding source keys or pseudonyms, one row per subject, near-unique key columns."""
    limit = context.max_cells_listed
    keysets = {
        subject: pa.array(
            sorted(set(context.source_keys.get(subject, ())) | set(context.pseudonyms.get(subject, ()))), pa.string()
        )
        for subject in set(context.source_keys) | set(context.pseudonyms)
    }
    skip = context.subject_key_column if context.kind == "per_subject" else None
    found: list[Finding] = []
    rows = table.num_rows
    for name in table.column_names:
        if name == skip:
            continue
        if SUBJECT_KEY_NAME.match(name.strip()):
            message = msg.SUBJECT_KEY_COLUMN.format(column=name)
            found.append(
                finding("linkability", Outcome.FAIL, "R4.4a", Code.SUBJECT_KEY_COLUMN, message, [Cell(None, name)])
            )
            continue
        text = _text(table.column(name))
        if text is None:
            continue
        shown = len(text) - text.null_count
        distinct = int(pc.count_distinct(text).as_py()) if shown else 0
        distinct_share = distinct / shown if shown else 0.0
        flagged = False
        for subject, keys in keysets.items():
            if not len(keys):
                continue
            hits = np.flatnonzero(pc.is_in(text, value_set=keys).to_numpy(zero_copy_only=False))
            if not hits.size:
                continue
            flagged = True
            cells = [Cell(int(r), name) for r in hits[:limit]]
            if distinct_share >= DISTINCT_SHARE:
                message = msg.ONE_ROW_PER_SUBJECT.format(column=name, subject=subject)
                code = Code.ONE_ROW_PER_SUBJECT
            else:
                message = msg.SOURCE_KEYS.format(column=name, cells=int(hits.size), subject=subject)
                code = Code.SOURCE_KEYS
            found.append(
                finding("linkability", Outcome.FAIL, "R4.4a", code, message, cells, limit=limit, total=int(hits.size))
            )
        if flagged or context.kind == "per_subject":
            continue
        if context.subject_count and rows == context.subject_count and shown == rows and distinct == rows:
            message = msg.ROWS_EQUAL_SUBJECTS.format(subjects=context.subject_count, column=name)
            found.append(
                finding("linkability", Outcome.FAIL, "R4.4a", Code.ROWS_EQUAL_SUBJECTS, message, [Cell(None, name)])
            )
        elif context.kind in ("table", "report") and rows >= NEAR_UNIQUE_MIN_ROWS and distinct_share >= DISTINCT_SHARE:
            message = msg.NEAR_UNIQUE.format(column=name, share=round(distinct_share * 100))
            found.append(finding("linkability", Outcome.REVIEW, "R4.4a", Code.NEAR_UNIQUE, message, [Cell(None, name)]))
    if not found:
        found.append(finding("linkability", Outcome.PASS, "R4.4a", Code.LINKABILITY_OK, msg.LINKABILITY_OK))
    return found


def check_per_subject(table: pa.Table, context: OutputContext) -> list[Finding]:
    """The approved shape, exactly; and only consenting subjects' rows."""
    shape = context.per_subject_columns
    if not shape:
        return [finding("per_subject", Outcome.FAIL, "R4.2b", Code.PER_SUBJECT_UNDECLARED, msg.PER_SUBJECT_UNDECLARED)]
    columns = table.column_names
    extra = [c for c in columns if c not in shape]
    missing = [c for c in shape if c not in columns]
    if extra or missing or len(columns) != len(set(columns)):
        message = msg.PER_SUBJECT_COLUMNS.format(extra=", ".join(extra) or "-", missing=", ".join(missing) or "-")
        cells = [Cell(None, c) for c in extra + missing]
        return [finding("per_subject", Outcome.FAIL, "R4.2b", Code.PER_SUBJECT_COLUMNS, message, cells)]
    if context.consenting_subjects is None:
        return [finding("per_subject", Outcome.FAIL, "R4.2b", Code.PER_SUBJECT_NO_CONSENT, msg.PER_SUBJECT_NO_CONSENT)]
    key = context.subject_key_column
    assert key is not None
    text = _text(table.column(key))
    if text is None:
        text = pc.cast(table.column(key), pa.string())
    consenting = pa.array(sorted(context.consenting_subjects), pa.string())
    refused = np.flatnonzero(~pc.fill_null(pc.is_in(text, value_set=consenting), False).to_numpy(zero_copy_only=False))
    if refused.size:
        example = mask(str(text[int(refused[0])].as_py() or ""), "credit_code")
        message = msg.PER_SUBJECT_NOT_CONSENTING.format(cells=int(refused.size), example=example)
        cells = [Cell(int(r), key) for r in refused[: context.max_cells_listed]]
        return [
            finding(
                "per_subject",
                Outcome.FAIL,
                "R4.2b",
                Code.PER_SUBJECT_NOT_CONSENTING,
                message,
                cells,
                total=int(refused.size),
            )
        ]
    return [
        finding(
            "per_subject", Outcome.PASS, "R4.2b", Code.PER_SUBJECT_OK, msg.PER_SUBJECT_OK.format(rows=table.num_rows)
        )
    ]


# --- reversibility ---------------------------------------------------------------------------------


def check_parameters(parameters: int | None, context: OutputContext) -> list[Finding]:
    """A model with about as many parameters as subjects can hold their records (R4.4a)."""
    if parameters is None:
        return []
    subjects = context.subject_count
    if subjects is None:
        message = msg.SUBJECTS_UNKNOWN.format(params=parameters)
        return [finding("reversibility", Outcome.REVIEW, "R4.4a", Code.SUBJECTS_UNKNOWN, message)]
    if subjects - parameters < MIN_RESIDUAL_DOF:
        message = msg.TOO_MANY_PARAMETERS.format(params=parameters, subjects=subjects, dof=MIN_RESIDUAL_DOF)
        return [
            finding(
                "reversibility",
                Outcome.FAIL,
                "R4.4a",
                Code.TOO_MANY_PARAMETERS,
                message,
                (),
                parameters=parameters,
                subjects=subjects,
            )
        ]
    if parameters * 10 > subjects:
        message = msg.MANY_PARAMETERS.format(params=parameters, subjects=subjects)
        return [
            finding(
                "reversibility",
                Outcome.REVIEW,
                "R4.4a",
                Code.MANY_PARAMETERS,
                message,
                (),
                parameters=parameters,
                subjects=subjects,
            )
        ]
    return [
        finding(
            "reversibility",
            Outcome.PASS,
            "R4.4a",
            Code.REVERSIBILITY_OK,
            msg.REVERSIBILITY_OK,
            (),
            parameters=parameters,
            subjects=subjects,
        )
    ]


def numeric_cells(table: pa.Table) -> int:
    """Non-null numeric cells: the parameters of a coefficient table."""
    total = 0
    for column in table.columns:
        t = column.type
        if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
            total += len(column) - column.null_count
    return total


def _normalised(name: str, t: pa.DataType, alias: str) -> str:
    q = quote_ident(name)
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        expr = f"CAST(CAST({q} AS DOUBLE) AS VARCHAR)"
    else:
        expr = f"trim(CAST({q} AS VARCHAR))"
    return f"coalesce({expr}, '\x01null') AS {alias}"


def check_memorised(table: pa.Table, context: OutputContext, con: duckdb.DuckDBPyConnection) -> list[Finding]:
    """Rows whose values over the columns shared with the source sample equal a source row."""
    source = context.source_rows_sample
    if source is None or table.num_rows == 0:
        return []
    common = [c for c in table.column_names if c in source.column_names]
    if len(common) < 2:
        return []
    aliases = [f"c{i}" for i in range(len(common))]
    out_cols = ", ".join(_normalised(c, table.schema.field(c).type, a) for c, a in zip(common, aliases, strict=True))
    src_cols = ", ".join(_normalised(c, source.schema.field(c).type, a) for c, a in zip(common, aliases, strict=True))
    numbered = table.select(common).append_column("opd_row", pa.array(np.arange(table.num_rows, dtype=np.int64)))
    con.register("opd_out", numbered)
    con.register("opd_src", source.select(common))
    try:
        rows = con.sql(
            f"WITH o AS (SELECT opd_row, {out_cols} FROM opd_out), s AS (SELECT DISTINCT {src_cols} FROM opd_src) "
            f"SELECT opd_row FROM o SEMI JOIN s USING ({', '.join(aliases)}) ORDER BY opd_row"
        ).fetchall()
    finally:
        con.unregister("opd_out")
        con.unregister("opd_src")
    if not rows:
        return [finding("reversibility", Outcome.PASS, "R4.4a", Code.REVERSIBILITY_OK, msg.REVERSIBILITY_OK)]
    cells = [Cell(int(r), None) for (r,) in rows]
    message = msg.MEMORISED_ROWS.format(cells=len(cells), columns=", ".join(common))
    return [
        finding(
            "reversibility", Outcome.FAIL, "R4.4a", Code.MEMORISED_ROWS, message, cells, limit=context.max_cells_listed
        )
    ]


def _floats(column: pa.ChunkedArray) -> np.ndarray:
    return pc.cast(column, pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False)


def check_exact_values(view: TableView, context: OutputContext) -> list[Finding]:
    """Magnitude cells equal to a raw value that only one subject of the source sample has.

    Round values (whole multiples of 100) and zero are common to many subjects in the population
    even when unique in a sample, so they are not held against the output."""
    source = context.source_rows_sample
    if source is None or not view.magnitudes:
        return []
    raw = [
        _floats(c)
        for c in source.columns
        if pa.types.is_floating(c.type) or pa.types.is_decimal(c.type) or pa.types.is_integer(c.type)
    ]
    if not raw:
        return []
    values = np.concatenate(raw)
    values = values[np.isfinite(values)]
    unique, counts = np.unique(values, return_counts=True)
    telling = unique[(counts == 1) & (unique != 0) & ~((unique == np.floor(unique)) & (np.mod(unique, 100) == 0))]
    found = []
    for name in view.magnitudes:
        rows = np.flatnonzero(np.isin(_floats(view.table.column(name)), telling))
        if rows.size:
            message = msg.EXACT_VALUES.format(column=name, cells=int(rows.size))
            cells = [Cell(int(r), name) for r in rows[: context.max_cells_listed]]
            found.append(
                finding("reversibility", Outcome.FAIL, "R4.4a", Code.EXACT_VALUES, message, cells, total=int(rows.size))
            )
    return found
