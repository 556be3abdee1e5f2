"""The grant as the query analyser sees it: plain values, no database (rules R1.1b, R4.2b).

A :class:`GrantPolicy` lists exactly the tables and columns a grant opened, each column with its
classification grade, its identifier type and whether it identifies the table's data subject
(数据主体). The analyser (``analysis*.py``) reads nothing else; the service layer builds a policy from
the catalog and the grant. The small ``can_*`` / ``is_*`` functions below are the per-column rules the
analysis passes apply, kept here so they read as the rules and can be tested on their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal["string", "integer", "number", "boolean", "date"]
Environment = Literal["dev", "domain"]

#: SQL types the analyser declares to sqlglot for each catalog type.
SQL_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
}
GRADES = ("L1", "L2", "L3", "L4")
SUBJECT_TYPES = ("person", "enterprise")


@dataclass(frozen=True)
class ColumnPolicy:
    name: str
    type: str
    grade: str
    identifier: str | None
    subject: str | None
    #: SQL template with ``{col}``, applied wherever the column is read in the domain env (None = clear)
    mask_expr: str | None = None

    def __post_init__(self) -> None:
        if self.grade not in GRADES:
            raise ValueError(f"grade must be one of {GRADES}: {self.grade!r}")
        if self.type not in SQL_TYPES:
            raise ValueError(f"type must be one of {tuple(SQL_TYPES)}: {self.type!r}")
        if self.subject is not None and self.subject not in SUBJECT_TYPES:
            raise ValueError(f"subject must be one of {SUBJECT_TYPES}: {self.subject!r}")
        if self.mask_expr is not None and "{col}" not in self.mask_expr:
            raise ValueError("mask_expr must contain the {col} placeholder")


@dataclass(frozen=True)
class TablePolicy:
    name: str  # qualified "schema.table"
    columns: tuple[ColumnPolicy, ...]
    #: subject types whose column is unique per row in this table (count rows instead of DISTINCT)
    subject_unique: frozenset[str] = frozenset()
    #: subject types whose column has a precomputed weight ``__od_w_<column>`` = 1 / (rows of that subject),
    #: 0 where NULL, in the engine's relation (``engine.add_subject_weights``): the k check then sums a
    #: cheap numeric column instead of counting (DISTINCT) identifiers (analysis_fastpath)
    subject_weighted: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.name.count(".") != 1:
            raise ValueError(f"table names are qualified as schema.table: {self.name!r}")

    @property
    def schema(self) -> str:
        return self.name.split(".")[0].lower()

    @property
    def table(self) -> str:
        return self.name.split(".")[1].lower()

    def column(self, name: str) -> ColumnPolicy | None:
        lowered = name.lower()
        for col in self.columns:
            if col.name.lower() == lowered:
                return col
        return None

    @property
    def subject_columns(self) -> tuple[ColumnPolicy, ...]:
        return tuple(c for c in self.columns if c.subject is not None)


@dataclass(frozen=True)
class GrantPolicy:
    grant_id: str
    tables: tuple[TablePolicy, ...]
    k: int = 10
    #: subject types for which only consenting subjects' rows are visible (relation consent_<type>)
    consent_subjects: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.k < 2:
            raise ValueError("k must be at least 2")

    def table(self, qualified: str) -> TablePolicy | None:
        lowered = qualified.lower()
        for t in self.tables:
            if t.name.lower() == lowered:
                return t
        return None

    def tables_named(self, short_name: str) -> list[TablePolicy]:
        lowered = short_name.lower()
        return [t for t in self.tables if t.table == lowered]

    def sqlglot_schema(self) -> dict[str, dict[str, dict[str, str]]]:
        """The granted columns only, as sqlglot's nested schema mapping (schema → table → column → type)."""
        out: dict[str, dict[str, dict[str, str]]] = {}
        for t in self.tables:
            out.setdefault(t.schema, {})[t.table] = {c.name.lower(): SQL_TYPES[c.type] for c in t.columns}
        return out


def grade_level(grade: str) -> int:
    return GRADES.index(grade) + 1


def is_identifier(col: ColumnPolicy) -> bool:
    return col.identifier is not None or col.subject is not None


def is_sensitive(col: ColumnPolicy) -> bool:
    """An identifier or an L4 column: never in a governed query's output or group keys (R1.1b)."""
    return is_identifier(col) or grade_level(col.grade) >= 4


def can_order_statistic(col: ColumnPolicy) -> bool:
    """min/max/median/quantile/mode return one member's value: only over L1/L2 data (R1.1b)."""
    return grade_level(col.grade) <= 2 and not is_identifier(col)


def weight_column(name: str) -> str:
    """The precomputed weight of subject column ``name`` (see ``TablePolicy.subject_weighted``)."""
    return f"__od_w_{name.lower()}"


def consent_relation(subject_type: str) -> str:
    """The relation the engine provides with the consenting subjects of one type (R4.2b)."""
    if subject_type not in SUBJECT_TYPES:
        raise ValueError(f"unknown subject type {subject_type!r}")
    return f"consent_{subject_type}"
