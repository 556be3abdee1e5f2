"""What the airlock checks are told (:class:`OutputContext`) and what they answer (:class:`CheckReport`).

A check never raises on a hostile output: it answers with :class:`Finding` s. Each finding has an
outcome (``pass`` / ``review`` / ``fail``), the rule it enforces (``R4.4a`` …), a stable code
(:class:`~opdomain.egress.messages.Code`), a bilingual message and the cells concerned. A report fails
when any finding fails; it needs a reviewer's judgement when any finding asks for review. Findings
never carry a full identifier or a raw value: cells are named by position, examples are masked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import pyarrow as pa

from opdomain.errors import Message
from opdomain.privacy.disclosure import DEFAULT_K, DEFAULT_MIN_COUNT, DEFAULT_N, DEFAULT_P

OUTPUT_KINDS: tuple[str, ...] = ("table", "per_subject", "model", "report", "figure")
DEFAULT_MAX_BYTES = 16 * 1024 * 1024  # as OpenSAFELY's airlock
DEFAULT_MAX_ROWS = 5_000  # rows of an aggregate table, as OpenSAFELY's airlock
#: ACRO's minimum residual degrees of freedom for a model (``SAFE_DOF_THRESHOLD``)
MIN_RESIDUAL_DOF = 10


class Outcome(StrEnum):
    """A check's verdict (检查结论)."""

    PASS = "pass"  # noqa: S105 - an outcome, not a password
    REVIEW = "review"
    FAIL = "fail"


_SEVERITY = {Outcome.PASS: 0, Outcome.REVIEW: 1, Outcome.FAIL: 2}


@dataclass(frozen=True)
class Cell:
    """A cell of an output: ``row`` is the 0-based data row (the header is not a row), ``column`` the
    column name. ``row=None`` means the whole column (or the header); ``column=None`` a whole row."""

    row: int | None
    column: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column}


@dataclass(frozen=True)
class Finding:
    """One conclusion of one check. ``cells`` lists at most ``OutputContext.max_cells_listed`` cells;
    ``cells_total`` says how many there were."""

    check: str
    outcome: Outcome
    rule: str
    code: str
    message: Message
    cells: tuple[Cell, ...] = ()
    cells_total: int = 0
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "outcome": str(self.outcome),
            "rule": self.rule,
            "code": str(self.code),
            "message": self.message.zh,
            "message_en": self.message.en,
            "cells": [c.to_dict() for c in self.cells],
            "cells_total": self.cells_total,
            "details": dict(self.details),
        }


@dataclass(frozen=True)
class ColumnSummary:
    """What a reviewer sees of one column of an output table (no raw value beyond min and max).

    ``multiples`` maps 5, 10 and 100 to the share of the non-null values that are whole multiples of
    it: a column rounded to 5 shows 1.0 under 5 (OpenSAFELY rounds counts to 5)."""

    column: str
    type: str
    count: int
    nulls: int
    distinct: int
    min: float | None = None
    max: float | None = None
    sum: float | None = None
    multiples: Mapping[int, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "type": self.type,
            "count": self.count,
            "nulls": self.nulls,
            "distinct": self.distinct,
            "min": self.min,
            "max": self.max,
            "sum": self.sum,
            "multiples": {str(k): v for k, v in self.multiples.items()},
        }


@dataclass(frozen=True)
class CheckReport:
    """All findings on one output file, and the per-column summary for the reviewer."""

    path: str
    kind: str
    file_type: str
    size: int
    sha256: str
    rows: int | None
    columns: tuple[str, ...]
    findings: tuple[Finding, ...]
    summaries: tuple[ColumnSummary, ...] = ()
    seconds: float = 0.0

    @property
    def outcome(self) -> Outcome:
        worst = max((_SEVERITY[f.outcome] for f in self.findings), default=0)
        return next(o for o, s in _SEVERITY.items() if s == worst)

    @property
    def cells(self) -> int:
        return (self.rows or 0) * len(self.columns)

    def failures(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.outcome is Outcome.FAIL)

    def reviews(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.outcome is Outcome.REVIEW)

    def codes(self, outcome: Outcome | None = None) -> set[str]:
        return {str(f.code) for f in self.findings if outcome is None or f.outcome == outcome}

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "file_type": self.file_type,
            "size": self.size,
            "sha256": self.sha256,
            "rows": self.rows,
            "columns": list(self.columns),
            "outcome": str(self.outcome),
            "findings": [f.to_dict() for f in self.findings],
            "summaries": [s.to_dict() for s in self.summaries],
            "seconds": self.seconds,
        }


@dataclass(frozen=True, eq=False)
class OutputContext:
    """What the airlock knows about an output besides its bytes; filled by the airlock service from
    the job, the grant and the scenario — never from the analyst's say-so alone, except where noted.

    - ``kind``: declared output kind, one of :data:`OUTPUT_KINDS`.
    - ``k``, ``p``, ``nk``, ``zeros_are_disclosive``: disclosure thresholds (ACRO's defaults).
    - ``max_bytes``, ``max_rows``: limits before a human looks (rows: aggregate tables only).
    - ``count_columns``, ``magnitude_columns``, ``dimension_columns``: declared by the analyst; when
      not given they are inferred (see ``check_tables.column_roles``).
    - ``contributions``: per-cell contributions for dominance, a table (or a CSV/Parquet sidecar
      path) with columns ``row`` (int), ``column`` (str), ``value`` (number) and optionally
      ``subject``; one line per contributing subject.
    - ``source_keys`` / ``pseudonyms``: per subject type ("enterprise", "person") the key values of
      the source records and the pseudonyms issued for them in this grant (linkability).
    - ``subject_count``: the number of data subjects in the job's inputs (reversibility).
    - ``per_subject_columns``, ``subject_column``, ``consenting_subjects``: the approved shape of a
      per-subject output, which column names the subject (default: the first of the shape), and the
      subjects who consented to the scenario.
    - ``source_rows_sample``: a sample of the job's input rows (memorised rows, exact values).
    """

    kind: str = "table"
    k: int = DEFAULT_MIN_COUNT
    p: float = DEFAULT_P
    nk: tuple[int, float] = (DEFAULT_N, DEFAULT_K)
    zeros_are_disclosive: bool = True
    max_bytes: int = DEFAULT_MAX_BYTES
    max_rows: int = DEFAULT_MAX_ROWS
    count_columns: tuple[str, ...] | None = None
    magnitude_columns: tuple[str, ...] | None = None
    dimension_columns: tuple[str, ...] | None = None
    contributions: pa.Table | Path | None = None
    source_keys: Mapping[str, frozenset[str]] = field(default_factory=dict)
    pseudonyms: Mapping[str, frozenset[str]] = field(default_factory=dict)
    subject_count: int | None = None
    per_subject_columns: tuple[str, ...] | None = None
    subject_column: str | None = None
    consenting_subjects: frozenset[str] | None = None
    source_rows_sample: pa.Table | None = None
    max_cells_listed: int = 1_000

    def __post_init__(self) -> None:
        if self.kind not in OUTPUT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(OUTPUT_KINDS)}")
        if type(self.k) is not int or self.k < 1:
            raise ValueError("k must be a positive integer")
        if not 0 < self.p < 1:
            raise ValueError("p must be in (0, 1)")
        n, share = self.nk
        if type(n) is not int or n < 1 or not 0 < share <= 1:
            raise ValueError("nk must be (n >= 1, 0 < k <= 1)")
        if self.max_bytes < 1 or self.max_rows < 1 or self.max_cells_listed < 1:
            raise ValueError("limits must be positive")

    @property
    def subject_key_column(self) -> str | None:
        """The column that names the subject of a per-subject output."""
        if self.subject_column:
            return self.subject_column
        return self.per_subject_columns[0] if self.per_subject_columns else None


def finding(
    check: str,
    outcome: Outcome,
    rule: str,
    code: str,
    message: Message,
    cells: list[Cell] | tuple[Cell, ...] = (),
    *,
    limit: int = 1_000,
    total: int | None = None,
    **details: Any,
) -> Finding:
    """A finding with its cell list cut to ``limit`` (the total is kept)."""
    listed = tuple(cells[:limit])
    return Finding(
        check=check,
        outcome=outcome,
        rule=rule,
        code=code,
        message=message,
        cells=listed,
        cells_total=len(cells) if total is None else total,
        details=details,
    )
