"""Aggregate-table airlock checks: row limit, minimum count, zeros, dominance, reviewer summary
(rules 四.(四) R4.4a, 一.(一) R1.1b; thresholds as ACRO: k = 10, p = 10 %, (n, k) = (2, 90 %)).

A table's columns play one of three roles (:func:`column_roles`): **counts** (how many subjects a
cell stands for; the minimum-count rule applies), **magnitudes** (sums, means, rates; dominance
applies when per-subject contributions are provided) and **dimensions** (the labels of a cell).
The analyst declares them; otherwise integer columns named like a count (``n``, ``count``, ``cnt``,
``人数``, ``数量`` …) are counts, labels and year-like integers are dimensions, and every other
number is a magnitude. A count column may hold suppression markers (``*``, ``<10``, blank …).

Every rule works on whole columns (numpy, pyarrow, DuckDB), never cell by cell in Python, except
the dominance rules, which call :mod:`opdomain.privacy.disclosure` once per magnitude cell.
Beyond ACRO: minima and maxima are refused (an extreme *is* one subject's value), and a magnitude
cell that neither a count in its row nor contributions vouch for goes to a reviewer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from opdomain.egress import messages as msg
from opdomain.egress.check_report import Cell, ColumnSummary, Finding, Outcome, OutputContext, finding
from opdomain.egress.messages import Code
from opdomain.privacy.disclosure import (
    NEGATIVE_CONTRIBUTION,
    NON_FINITE_CONTRIBUTION,
    nk_dominance,
    p_percent_dominance,
)

COUNT_NAME = re.compile(
    r"^(?:n|count|counts|cnt|num|freq|frequency|人数|数量|个数|户数|家数|企业数|计数|频数)$"
    r"|(?:^|_)(?:n|count|cnt|num|freq)(?:_|$)"
    r"|(?:人数|户数|家数|个数|企业数|数量|计数|频数)$",
    re.IGNORECASE,
)
#: A margin column: a count when the table has other counts (its row total), else a magnitude.
TOTAL_NAME = re.compile(r"^(?:total|totals|all|sum|合计|总计|小计|总数|汇总)$", re.IGNORECASE)
DIMENSION_NAME = re.compile(
    r"^(?:year|month|quarter|week|day|date|code|年|年份|年度|月|月份|季度|编码|代码)$|_(?:code|id)$", re.IGNORECASE
)
#: How suppressed cells look in outputs (blank, ``*``, ``<10``, ``≤7``, ``[REDACTED]``, ONS ``c`` …).
SUPPRESSION_MARKER = r"^\s*(?:\*+|-+|~|x|c|\.|n/?a|[<≤]=?\s*[0-9]+|\[?redacted\]?|suppressed|已隐藏|隐藏|不公布)?\s*$"
EXTREME_NAME = re.compile(r"(?:^|_)(?:min|max|minimum|maximum|smallest|largest)(?:_|$)|最大|最小|最高|最低", re.I)
QUANTILE_NAME = re.compile(r"(?:^|_)(?:median|p[0-9]{1,2}|q[1-3]|pct[0-9]+|percentile|quantile)(?:_|$)|中位|分位", re.I)


@dataclass
class CountColumn:
    """A count column as arrays: ``values`` (0 where not a number), ``valid`` (a number is shown),
    ``suppressed`` (blank or a suppression marker), ``bad`` (shown but not a non-negative integer)."""

    values: np.ndarray
    valid: np.ndarray
    suppressed: np.ndarray
    bad: np.ndarray


@dataclass
class TableView:
    """An output table with the role of each column decided."""

    table: pa.Table
    counts: dict[str, CountColumn] = field(default_factory=dict)
    magnitudes: list[str] = field(default_factory=list)
    dimensions: list[str] = field(default_factory=list)


def _is_number(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def _as_count(column: pa.ChunkedArray) -> CountColumn | None:
    """A column read as counts, or None when it holds text that is neither a number nor a marker."""
    t = column.type
    n = len(column)
    if pa.types.is_integer(t):
        valid = column.is_valid().to_numpy(zero_copy_only=False)
        values = column.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        return CountColumn(values, valid, ~valid, valid & (values < 0))
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        floats = pc.cast(column, pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False)
        valid = ~np.isnan(floats)
        whole = np.where(valid, floats, 0.0)
        bad = valid & ((whole != np.floor(whole)) | (whole < 0) | ~np.isfinite(whole))
        values = np.where(bad | ~np.isfinite(whole), 0, whole).astype(np.int64)
        return CountColumn(values, valid & ~bad, ~valid, bad)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        text = pc.utf8_trim_whitespace(column)
        is_int = pc.fill_null(pc.match_substring_regex(text, r"^[0-9]{1,18}$"), False)
        marker = pc.fill_null(pc.match_substring_regex(text, SUPPRESSION_MARKER, ignore_case=True), True)
        is_int_np = is_int.to_numpy(zero_copy_only=False)
        marker_np = marker.to_numpy(zero_copy_only=False) & ~is_int_np
        other = ~is_int_np & ~marker_np
        if n and other.sum() > 0.5 * n:
            return None
        values = pc.cast(pc.if_else(is_int, text, "0"), pa.int64()).to_numpy(zero_copy_only=False)
        return CountColumn(values, is_int_np, marker_np, other)
    return None


def column_roles(table: pa.Table, context: OutputContext) -> TableView:
    """Decide counts, magnitudes and dimensions: declared ones win, the rest is inferred. A column
    named like a total (``合计``, ``total``) is a count only beside other counts (a row margin);
    otherwise it is a sum of magnitudes and dominance applies."""
    view = TableView(table)
    declared_counts = set(context.count_columns or ())
    declared_magnitudes = set(context.magnitude_columns or ())
    declared_dimensions = set(context.dimension_columns or ())
    infer = context.count_columns is None
    margins = []
    for name in table.column_names:
        column = table.column(name)
        t = column.type
        if name in declared_dimensions:
            view.dimensions.append(name)
        elif name in declared_magnitudes:
            view.magnitudes.append(name)
        elif name in declared_counts or (infer and _looks_like_count(name, column)):
            counted = _as_count(column)
            if counted is None:
                view.dimensions.append(name)
            else:
                view.counts[name] = counted
        elif infer and TOTAL_NAME.match(name) and _is_number(t):
            margins.append(name)
        elif _is_number(t) and not (pa.types.is_integer(t) and DIMENSION_NAME.search(name)):
            view.magnitudes.append(name)
        else:
            view.dimensions.append(name)
    for name in margins:
        counted = _as_count(table.column(name)) if view.counts else None
        if counted is not None and not counted.bad.any():
            view.counts[name] = counted
        else:
            view.magnitudes.append(name)
    return view


def _looks_like_count(name: str, column: pa.ChunkedArray) -> bool:
    if not COUNT_NAME.search(name):
        return False
    t = column.type
    if _is_number(t):
        return True
    return (pa.types.is_string(t) or pa.types.is_large_string(t)) and _as_count(column) is not None


# --- row limit -------------------------------------------------------------------------------------


def check_row_limit(table: pa.Table, context: OutputContext) -> list[Finding]:
    """OpenSAFELY refuses CSVs over 5,000 rows before a human looks: an aggregate that long is
    probably row-level data (R4.4a)."""
    rows = table.num_rows
    if rows > context.max_rows:
        message = msg.ROW_LIMIT.format(rows=rows, limit=context.max_rows)
        return [finding("row_limit", Outcome.FAIL, "R4.4a", Code.ROW_LIMIT, message)]
    return [finding("row_limit", Outcome.PASS, "R4.4a", Code.ROW_LIMIT_OK, msg.ROW_LIMIT_OK.format(rows=rows))]


# --- minimum count --------------------------------------------------------------------------------


def _cells(rows: np.ndarray, column: str, limit: int) -> list[Cell]:
    return [Cell(int(r), column) for r in rows[:limit]]


def small_cells(view: TableView, context: OutputContext) -> dict[str, np.ndarray]:
    """Per count column, the rows whose shown count fails the threshold rule (0 < n < k, or 0 when
    zeros are disclosive) — the same cells as :func:`opdomain.privacy.disclosure.check_min_count`."""
    found = {}
    for name, col in view.counts.items():
        low = col.valid & (col.values < context.k) & (col.values >= 0)
        if not context.zeros_are_disclosive:
            low &= col.values > 0
        found[name] = np.flatnonzero(low)
    return found


def check_min_count(
    view: TableView, context: OutputContext, contributors: dict[tuple[int, str], int] | None
) -> list[Finding]:
    """Threshold rule on every count cell, zeros as disclosive (ACRO's default), and the number of
    contributors behind every magnitude cell."""
    limit, k = context.max_cells_listed, context.k
    found: list[Finding] = []
    checked = 0
    for name, col in view.counts.items():
        checked += int(col.valid.sum())
        small = np.flatnonzero(col.valid & (col.values > 0) & (col.values < k))
        zero = np.flatnonzero(col.valid & (col.values == 0))
        bad = np.flatnonzero(col.bad)
        if small.size:
            message = msg.BELOW_MIN_COUNT.format(column=name, cells=small.size, k=k)
            found.append(
                finding(
                    "min_count",
                    Outcome.FAIL,
                    "R4.4a",
                    Code.BELOW_MIN_COUNT,
                    message,
                    _cells(small, name, limit),
                    limit=limit,
                    total=int(small.size),
                )
            )
        if zero.size and context.zeros_are_disclosive:
            message = msg.ZERO_COUNT.format(column=name, cells=zero.size)
            found.append(
                finding(
                    "min_count",
                    Outcome.FAIL,
                    "R4.4a",
                    Code.ZERO_COUNT,
                    message,
                    _cells(zero, name, limit),
                    limit=limit,
                    total=int(zero.size),
                )
            )
        if bad.size:
            message = msg.COUNT_NOT_A_COUNT.format(column=name, cells=bad.size)
            found.append(
                finding(
                    "min_count",
                    Outcome.REVIEW,
                    "R4.4a",
                    Code.COUNT_NOT_A_COUNT,
                    message,
                    _cells(bad, name, limit),
                    limit=limit,
                    total=int(bad.size),
                )
            )
    found.extend(_magnitude_counts(view, context, contributors))
    if not view.counts and not view.magnitudes:
        found.append(finding("min_count", Outcome.REVIEW, "R4.4a", Code.NO_COUNT_COLUMN, msg.NO_COUNT_COLUMN))
    if not any(f.outcome is not Outcome.PASS for f in found):
        found.append(
            finding("min_count", Outcome.PASS, "R4.4a", Code.MIN_COUNT_OK, msg.MIN_COUNT_OK.format(cells=checked, k=k))
        )
    return found


def _magnitude_counts(
    view: TableView, context: OutputContext, contributors: dict[tuple[int, str], int] | None
) -> list[Finding]:
    """Each magnitude cell must come from at least k subjects: known from the contributions when
    given, else vouched for by a count shown in the same row (whose own size the count rule judges)."""
    if not view.magnitudes:
        return []
    rows = view.table.num_rows
    counted_row = np.zeros(rows, dtype=bool)
    small_row = np.zeros(rows, dtype=bool)  # a count in the row is suppressed or below k
    for col in view.counts.values():
        counted_row |= col.valid
        small_row |= col.suppressed | (col.valid & (col.values < context.k))
    found, uncounted = [], []
    for name in view.magnitudes:
        shown = view.table.column(name).is_valid().to_numpy(zero_copy_only=False)
        if contributors is not None and any(key[1] == name for key in contributors):
            few = [
                r
                for r in np.flatnonzero(shown)
                if (int(r), name) in contributors
                and contributors[(int(r), name)] < context.k
                or (int(r), name) not in contributors
                and small_row[r]
            ]
            missing = [r for r in np.flatnonzero(shown) if (int(r), name) not in contributors and not counted_row[r]]
            if few:
                message = msg.FEW_CONTRIBUTORS.format(column=name, cells=len(few), k=context.k)
                cells = [Cell(int(r), name) for r in few]
                found.append(
                    finding(
                        "min_count",
                        Outcome.FAIL,
                        "R4.4a",
                        Code.FEW_CONTRIBUTORS,
                        message,
                        cells,
                        limit=context.max_cells_listed,
                    )
                )
            if missing:
                uncounted.append(name)
            continue
        few_rows = np.flatnonzero(shown & small_row)
        if few_rows.size:  # the mean of a suppressed or small group is as disclosive as its count
            message = msg.FEW_CONTRIBUTORS.format(column=name, cells=int(few_rows.size), k=context.k)
            cells = [Cell(int(r), name) for r in few_rows[: context.max_cells_listed]]
            found.append(
                finding(
                    "min_count", Outcome.FAIL, "R4.4a", Code.FEW_CONTRIBUTORS, message, cells, total=int(few_rows.size)
                )
            )
        if (shown & ~counted_row & ~small_row).any():
            uncounted.append(name)
    if uncounted:
        message = msg.MAGNITUDE_UNCOUNTED.format(columns=", ".join(uncounted), k=context.k)
        cells = [Cell(None, name) for name in uncounted]
        found.append(finding("min_count", Outcome.REVIEW, "R4.4a", Code.MAGNITUDE_UNCOUNTED, message, cells))
    return found


# --- dominance -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contribution:
    """The contributions behind one magnitude cell, largest first."""

    row: int
    column: str
    values: tuple[float, ...]
    subjects: int


def aggregate_contributions(contributions: pa.Table, con: duckdb.DuckDBPyConnection) -> list[Contribution]:
    """Group a contributions table (``row``, ``column``, ``value`` [, ``subject``]) per cell, in DuckDB."""
    names = set(contributions.column_names)
    if not {"row", "column", "value"} <= names:
        raise ValueError("contributions need the columns row, column and value")
    subjects = 'count(DISTINCT "subject")' if "subject" in names else "count(*)"
    con.register("opd_contributions", contributions)
    try:
        rows = con.sql(
            'SELECT CAST("row" AS BIGINT), CAST("column" AS VARCHAR), '
            'list(CAST("value" AS DOUBLE) ORDER BY CAST("value" AS DOUBLE) DESC), '
            f"{subjects} FROM opd_contributions GROUP BY ALL"
        ).fetchall()
    finally:
        con.unregister("opd_contributions")
    return [
        Contribution(int(r), str(c), tuple(float("nan") if x is None else x for x in xs), int(n))
        for r, c, xs, n in rows
    ]


def check_dominance(view: TableView, context: OutputContext, contributions: list[Contribution] | None) -> list[Finding]:
    """p % and (n, k) dominance on every magnitude cell that has contributions; extremes refused,
    quantiles and cells without contributions to a reviewer."""
    limit = context.max_cells_listed
    found: list[Finding] = []
    for name in view.magnitudes:
        if EXTREME_NAME.search(name):
            message = msg.EXTREME_VALUE.format(column=name)
            found.append(finding("dominance", Outcome.FAIL, "R4.4a", Code.EXTREME_VALUE, message, [Cell(None, name)]))
        elif QUANTILE_NAME.search(name):
            message = msg.QUANTILE.format(column=name)
            found.append(finding("dominance", Outcome.REVIEW, "R4.4a", Code.QUANTILE, message, [Cell(None, name)]))
    if not view.magnitudes:
        return found
    by_cell = {(c.row, c.column): c for c in contributions or ()}
    n, share = context.nk
    p_fail: dict[str, list[Cell]] = {}
    nk_fail: dict[str, list[Cell]] = {}
    undecidable: dict[str, list[Cell]] = {}
    without: list[Cell] = []
    judged = 0
    without_total = 0
    without_columns: set[str] = set()
    for name in view.magnitudes:
        shown = np.flatnonzero(view.table.column(name).is_valid().to_numpy(zero_copy_only=False))
        if not by_cell:  # no contributions at all: every shown cell goes to the reviewer
            without.extend(Cell(int(r), name) for r in shown[: max(0, limit - len(without))])
            without_total += int(shown.size)
            without_columns.update([name] if shown.size else [])
            continue
        for row in shown:
            cell = Cell(int(row), name)
            contribution = by_cell.get((int(row), name))
            if contribution is None:
                without.append(cell)
                without_total += 1
                without_columns.add(name)
                continue
            judged += 1
            p_result = p_percent_dominance(
                contribution.values, context.p, zeros_are_disclosive=context.zeros_are_disclosive
            )
            nk_result = nk_dominance(contribution.values, n, share)
            if p_result.reason in (NEGATIVE_CONTRIBUTION, NON_FINITE_CONTRIBUTION):
                undecidable.setdefault(name, []).append(cell)
                continue
            if not p_result.passed:
                p_fail.setdefault(name, []).append(cell)
            if not nk_result.passed:
                nk_fail.setdefault(name, []).append(cell)
    for name, cells in p_fail.items():
        message = msg.P_PERCENT.format(column=name, cells=len(cells), p=_pct(context.p))
        found.append(finding("dominance", Outcome.FAIL, "R4.4a", Code.P_PERCENT, message, cells, limit=limit))
    for name, cells in nk_fail.items():
        message = msg.NK.format(column=name, cells=len(cells), n=n, k=_pct(share))
        found.append(finding("dominance", Outcome.FAIL, "R4.4a", Code.NK, message, cells, limit=limit))
    for name, cells in undecidable.items():
        message = msg.DOMINANCE_UNDECIDABLE.format(column=name, cells=len(cells))
        found.append(
            finding("dominance", Outcome.REVIEW, "R4.4a", Code.DOMINANCE_UNDECIDABLE, message, cells, limit=limit)
        )
    if without_total:
        message = msg.NO_CONTRIBUTIONS.format(columns=", ".join(sorted(without_columns)))
        found.append(
            finding(
                "dominance",
                Outcome.REVIEW,
                "R4.4a",
                Code.NO_CONTRIBUTIONS,
                message,
                without,
                limit=limit,
                total=without_total,
            )
        )
    if judged and not any(f.outcome is not Outcome.PASS for f in found):
        found.append(
            finding("dominance", Outcome.PASS, "R4.4a", Code.DOMINANCE_OK, msg.DOMINANCE_OK.format(cells=judged))
        )
    return found


def _pct(fraction: float) -> str:
    return f"{fraction * 100:.4g}"


# --- summary for the reviewer ---------------------------------------------------------------------


def summarise(table: pa.Table) -> tuple[ColumnSummary, ...]:
    """Per column: count, nulls, distinct; for numbers also min, max, sum and rounding patterns."""
    out = []
    for name in table.column_names:
        column = table.column(name)
        t = column.type
        nulls = column.null_count
        count = len(column) - nulls
        try:
            distinct = int(pc.count_distinct(column).as_py())
        except pa.ArrowNotImplementedError:
            distinct = len(set(column.to_pylist()))
        if not _is_number(t) or count == 0:
            out.append(ColumnSummary(name, str(t), count, nulls, distinct))
            continue
        values = pc.cast(column.drop_null(), pa.float64()).to_numpy(zero_copy_only=False)
        finite = values[np.isfinite(values)]
        whole = finite[finite == np.floor(finite)]
        multiples: dict[int, float] = {m: float(np.count_nonzero(np.mod(whole, m) == 0) / count) for m in (5, 10, 100)}
        out.append(
            ColumnSummary(
                name,
                str(t),
                count,
                nulls,
                distinct,
                min=_float(finite.min()) if finite.size else None,
                max=_float(finite.max()) if finite.size else None,
                sum=_float(finite.sum()) if finite.size else None,
                multiples=multiples,
            )
        )
    return tuple(out)


def _float(value: Any) -> float:
    return float(value)
