"""Dataset descriptors: a Frictionless Data Resource with a Table Schema and ``opdomain:`` keys.

The format is documented in docs/scenario-data.md and docs/catalog.md. Parsing is strict: an
unknown type, grade, identifier or subject, a duplicate field or a key naming a missing field
is refused with every problem listed at once.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opdomain.catalog import messages as msg
from opdomain.errors import InvalidInput

TYPES = ("string", "integer", "number", "boolean", "date")
GRADES = ("L1", "L2", "L3", "L4")
IDENTIFIERS = ("resident_id", "credit_code", "mobile", "bank_card", "person_name", "address")
SUBJECTS = ("person", "enterprise")
#: R1.6c: the categories of data that may never be opened
FORBIDDEN_CATEGORIES = ("national_security", "public_interest", "personal_or_trade_secret", "agreement", "law")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    title: str
    grade: str
    identifier: str | None
    subject: str | None
    required: bool
    unique: bool


@dataclass(frozen=True)
class Descriptor:
    name: str  # "<department>.<table>"
    department: str
    title: str
    description: str
    path: Path  # resolved data file
    format: str  # csv | parquet
    fields: tuple[FieldSpec, ...]
    primary_key: tuple[str, ...]
    forbidden: dict[str, str] | None
    sha256: str
    alternates: dict[str, Path]

    @property
    def table(self) -> str:
        return self.name.split(".", 1)[1]

    def field(self, name: str) -> FieldSpec:
        return next(f for f in self.fields if f.name == name)


def load(path: Path, *, data_file: Path | None = None) -> Descriptor:
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise InvalidInput("descriptor.unreadable", msg.DESCRIPTOR_UNREADABLE.format(path=str(path))) from exc
    try:
        raw = json.loads(raw_bytes)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput("descriptor.invalid", msg.DESCRIPTOR_INVALID.format(problems=f"JSON: {exc}")) from exc
    return parse(raw, base=path.parent, sha256=hashlib.sha256(raw_bytes).hexdigest(), data_file=data_file)


def parse(raw: Any, *, base: Path, sha256: str = "", data_file: Path | None = None) -> Descriptor:
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise InvalidInput("descriptor.invalid", msg.DESCRIPTOR_INVALID.format(problems="not a JSON object"))
    name = raw.get("name")
    department = raw.get("department")
    if not isinstance(name, str) or name.count(".") != 1 or not all(_NAME.match(p) for p in name.split(".")):
        problems.append(f"name: expected '<department>.<table>' in lower_snake_case, got {name!r}")
    if not isinstance(department, str) or not _NAME.match(department):
        problems.append(f"department: expected a department code, got {department!r}")
    elif isinstance(name, str) and not name.startswith(department + "."):
        problems.append(f"name: {name!r} must start with the department code {department!r}")
    alternates = {k: base / v for k, v in (raw.get("opdomain:alternates") or {}).items() if isinstance(v, str)}
    fmt = raw.get("format")
    if data_file is not None:
        path = data_file
        fmt = data_file.suffix.lstrip(".").lower()
    else:
        p = raw.get("path")
        path = base / p if isinstance(p, str) else base / "?"
        if not isinstance(p, str):
            problems.append("path: missing")
    if fmt not in ("csv", "parquet"):
        problems.append(f"format: expected csv or parquet, got {fmt!r}")
    schema = raw.get("schema")
    fields: list[FieldSpec] = []
    seen: set[str] = set()
    if not isinstance(schema, dict) or not isinstance(schema.get("fields"), list) or not schema["fields"]:
        problems.append("schema.fields: a non-empty list is required")
        schema = {"fields": []}
    for i, f in enumerate(schema["fields"]):
        where = f"schema.fields[{i}]"
        if not isinstance(f, dict):
            problems.append(f"{where}: not an object")
            continue
        fname = f.get("name")
        if not isinstance(fname, str) or not _NAME.match(fname):
            problems.append(f"{where}.name: invalid column name {fname!r}")
            continue
        if fname in seen:
            problems.append(f"{where}.name: duplicate column {fname!r}")
        seen.add(fname)
        ftype = f.get("type", "string")
        if ftype not in TYPES:
            problems.append(f"{fname}.type: {ftype!r} not one of {', '.join(TYPES)}")
        grade = f.get("opdomain:grade")
        if grade not in GRADES:
            problems.append(f"{fname}.opdomain:grade: {grade!r} not one of {', '.join(GRADES)}")
        ident = f.get("opdomain:identifier")
        if ident is not None and ident not in IDENTIFIERS:
            problems.append(f"{fname}.opdomain:identifier: {ident!r} not one of {', '.join(IDENTIFIERS)}")
        subject = f.get("opdomain:subject")
        if subject is not None and subject not in SUBJECTS:
            problems.append(f"{fname}.opdomain:subject: {subject!r} not one of {', '.join(SUBJECTS)}")
        cons = f.get("constraints") or {}
        fields.append(
            FieldSpec(
                fname,
                str(ftype),
                str(f.get("title", "")),
                str(grade),
                ident,
                subject,
                bool(cons.get("required", False)),
                bool(cons.get("unique", False)),
            )
        )
    subjects = [f.subject for f in fields if f.subject]
    for s in set(subjects):
        if subjects.count(s) > 1:
            problems.append(f"opdomain:subject: more than one column identifies the {s}")
    pk = schema.get("primaryKey") or []
    if isinstance(pk, str):
        pk = [pk]
    for k in pk:
        if k not in seen:
            problems.append(f"schema.primaryKey: {k!r} is not a field")
    forbidden = raw.get("opdomain:forbidden")
    if forbidden is not None and (
        not isinstance(forbidden, dict) or forbidden.get("category") not in FORBIDDEN_CATEGORIES
    ):
        problems.append(f"opdomain:forbidden: needs a category among {', '.join(FORBIDDEN_CATEGORIES)}")
    if problems:
        raise InvalidInput(
            "descriptor.invalid",
            msg.DESCRIPTOR_INVALID.format(problems="; ".join(problems)),
            details={"problems": problems},
        )
    return Descriptor(
        name=str(name),
        department=str(department),
        title=str(raw.get("title", "")),
        description=str(raw.get("description", "")),
        path=path,
        format=str(fmt),
        fields=tuple(fields),
        primary_key=tuple(pk),
        forbidden=forbidden,
        sha256=sha256,
        alternates=alternates,
    )
