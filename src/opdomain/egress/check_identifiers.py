"""Identifier detection in outputs (rules 一.(一) R1.1b, 四.(二) R4.2b): resident IDs, credit codes,
mobile numbers, bank cards, person names and addresses must not leave the domain.

Three stages keep a million cells fast: one vectorised RE2 pass (pyarrow) marks the cells that
*could* hold an identifier (an 18-character token, a run of 11–19 digits, a grouped card or phone
number, a street-and-number address, a 2–4 character Chinese word); their distinct values that are
bare tokens (a column of codes) are validated in bulk by the DuckDB validators of
:mod:`opdomain.privacy.identifiers`, the others (free text, names) one by one by its Python
detector (check digits, Luhn, surname lists); the rows holding a confirmed value are found again
with one vectorised ``is_in``.
Integer columns are scanned as text (a card number stored as a number is still a card number), and
so are column names (a pivot can put names in the header).

Messages never echo an identifier: examples are masked (``330***********12``).
"""

from __future__ import annotations

import re

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from opdomain.egress import messages as msg
from opdomain.egress.check_report import Cell, Finding, Outcome, OutputContext, finding
from opdomain.egress.messages import Code
from opdomain.privacy.identifiers import (
    IdentifierType,
    credit_code_valid_sql,
    detect_identifiers,
    luhn_valid_sql,
    resident_id_valid_sql,
)

_HAN = r"\p{Han}"
#: Cells worth validating; a superset of what :func:`detect_identifiers` can report.
CANDIDATE = "|".join(
    (
        r"[0-9A-Za-z]{18}",
        r"[0-9]{11,19}",
        r"1[3-9][0-9][ -]?[0-9]{4}[ -]?[0-9]{4}",
        r"[0-9]{4}[ -][0-9]{4}[ -][0-9]{4}[ -][0-9]{4}",
        r"(?:省|自治区|市|县|区|镇|乡|街道|大道|路|街|巷|弄|村)[^\n]{0,30}?[0-9０-９]{1,5}(?:号|弄|栋|幢|室|楼|单元|组)",
        rf"^\s*{_HAN}{{2,4}}\s*$",
    )
)
NAME_COLUMN = re.compile(r"name|姓名|名字|联系人|法人|法定代表人|负责人|申请人|户主", re.IGNORECASE)
#: A column is judged a name column (fail, not review) from this share of name-like cells on.
NAME_SHARE = 0.5
EXAMPLES = 3


def mask(value: str, kind: IdentifierType | str) -> str:
    """A value fit for a message: enough to find the cell, never the identifier."""
    value = value.strip()
    if kind == IdentifierType.PERSON_NAME:
        return value[:1] + "*" * max(1, len(value) - 1)
    if kind == IdentifierType.ADDRESS:
        return value[:3] + "…"
    if len(value) >= 8:
        return value[:3] + "*" * (len(value) - 5) + value[-2:]
    return value[:1] + "*" * max(1, len(value) - 1)


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """A column as text, or None when it cannot hold an identifier (floats, dates, booleans, and
    integers too small to be an 11-digit mobile number)."""
    t = column.type
    if pa.types.is_dictionary(t):
        column = column.cast(t.value_type)
        t = column.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return column
    if pa.types.is_integer(t) and len(column) and column.null_count < len(column):
        largest = pc.max(pc.abs(column)).as_py()
        return pc.cast(column, pa.string()) if largest is not None and largest >= 10**10 else None
    return None


def check_identifiers(
    table: pa.Table,
    context: OutputContext,
    *,
    allowed_column: str | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> list[Finding]:
    """Every text cell and every column name scanned; ``allowed_column`` is the subject key of a
    declared per-subject output, whose identifiers are reported as allowed."""
    con = con or duckdb.connect()
    limit = context.max_cells_listed
    found: list[Finding] = []
    scanned = 0
    for name in table.column_names:
        for match in detect_identifiers(name):
            kind_zh, kind_en = msg.IDENTIFIER_NAMES[match.type]
            message = msg.IDENTIFIER_IN_HEADER.format(
                kind_zh=kind_zh, kind_en=kind_en, example=mask(match.value, match.type)
            )
            found.append(
                finding("identifiers", Outcome.FAIL, "R1.1b", Code.IDENTIFIER_IN_HEADER, message, [Cell(None, name)])
            )
    for name in table.column_names:
        text = _as_text(table.column(name))
        if text is None:
            continue
        scanned += len(text) - text.null_count
        found.extend(_scan_column(name, text, con, allowed=name == allowed_column, limit=limit))
    if not any(f.outcome is not Outcome.PASS for f in found):
        found.append(
            finding("identifiers", Outcome.PASS, "R1.1b", Code.IDENTIFIERS_OK, msg.IDENTIFIERS_OK.format(cells=scanned))
        )
    return found


def classify_tokens(tokens: pa.Array, con: duckdb.DuckDBPyConnection) -> dict[str, IdentifierType]:
    """The identifier type of each bare alphanumeric token, computed in DuckDB.

    For a token with no separator, :func:`detect_identifiers` can only report the whole token: a
    resident ID or credit code when it has 18 characters, a bank card when it is 16–19 digits
    starting with a card-scheme digit, a mobile number when it is 11 digits (with ``86`` or ``0086``
    before them). The engine-side validators of :mod:`opdomain.privacy.identifiers` decide exactly
    that, for a whole column at once (the tests hold the two to each other)."""
    rules = (  # in detect_identifiers' order of precedence; a cheap shape test first, then the check
        (IdentifierType.RESIDENT_ID, f"regexp_full_match(v, '[0-9]{{17}}[0-9Xx]') AND {resident_id_valid_sql('v')}"),
        (IdentifierType.CREDIT_CODE, f"length(v) = 18 AND {credit_code_valid_sql('v')}"),
        (IdentifierType.BANK_CARD, f"regexp_full_match(v, '[34569][0-9]{{15,18}}') AND {luhn_valid_sql('v')}"),
        (IdentifierType.MOBILE, "regexp_full_match(v, '(?:0086|86)?1[3-9][0-9]{9}')"),
    )
    found: dict[str, IdentifierType] = {}
    con.register("opd_tokens", pa.table({"v": tokens}))
    try:
        for kind, condition in rules:
            for (value,) in con.sql(f"SELECT v FROM opd_tokens WHERE {condition}").fetchall():
                found.setdefault(value, kind)
    finally:
        con.unregister("opd_tokens")
    return found


def _kinds(candidates: pa.Array, con: duckdb.DuckDBPyConnection) -> dict[str, frozenset[IdentifierType]]:
    """Identifier types per distinct candidate value: bare tokens in bulk, the rest in Python."""
    bare = pc.fill_null(pc.match_substring_regex(candidates, r"^[0-9A-Za-z]+$"), False)
    kinds_of = {v: frozenset({kind}) for v, kind in classify_tokens(pc.filter(candidates, bare), con).items()}
    for value in pc.filter(candidates, pc.invert(bare)).to_pylist():
        kinds = frozenset(m.type for m in detect_identifiers(value))
        if kinds:
            kinds_of[value] = kinds
    return kinds_of


def _scan_column(
    name: str, text: pa.ChunkedArray, con: duckdb.DuckDBPyConnection, *, allowed: bool, limit: int
) -> list[Finding]:
    candidate = pc.fill_null(pc.match_substring_regex(text, CANDIDATE), False)
    if not pc.any(candidate).as_py():
        return []
    kinds_of = _kinds(pc.unique(pc.filter(text, candidate).combine_chunks()), con)
    found = []
    shown = len(text) - text.null_count
    for kind in IdentifierType:
        values = [v for v, kinds in kinds_of.items() if kind in kinds]
        if not values:
            continue
        rows = np.flatnonzero(pc.is_in(text, value_set=pa.array(values, pa.string())).to_numpy(zero_copy_only=False))
        cells = [Cell(int(r), name) for r in rows[:limit]]
        examples = ", ".join(mask(v, kind) for v in values[:EXAMPLES])
        kind_zh, kind_en = msg.IDENTIFIER_NAMES[kind]
        common = {"column": name, "cells": int(rows.size), "kind_zh": kind_zh, "kind_en": kind_en}
        details = {"identifier": str(kind), "examples": [mask(v, kind) for v in values[:EXAMPLES]]}
        if allowed:
            message = msg.SUBJECT_KEY_ALLOWED.format(**common)
            found.append(
                finding(
                    "identifiers",
                    Outcome.PASS,
                    "R1.1b",
                    Code.SUBJECT_KEY_ALLOWED,
                    message,
                    cells,
                    limit=limit,
                    total=int(rows.size),
                    **details,
                )
            )
        elif kind == IdentifierType.PERSON_NAME and rows.size < NAME_SHARE * shown and not NAME_COLUMN.search(name):
            message = msg.NAME_SUSPECTED.format(column=name, cells=int(rows.size), example=examples)
            found.append(
                finding(
                    "identifiers",
                    Outcome.REVIEW,
                    "R1.1b",
                    Code.NAME_SUSPECTED,
                    message,
                    cells,
                    limit=limit,
                    total=int(rows.size),
                    **details,
                )
            )
        else:
            message = msg.IDENTIFIER.format(**common, example=examples)
            found.append(
                finding(
                    "identifiers",
                    Outcome.FAIL,
                    "R1.1b",
                    Code.IDENTIFIER,
                    message,
                    cells,
                    limit=limit,
                    total=int(rows.size),
                    **details,
                )
            )
    return found
