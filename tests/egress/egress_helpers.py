"""Builders shared by the egress tests: output files, scenario-like tables, a tiny ONNX writer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import csv

from opdomain.egress.checks import OutputContext, check_output
from opdomain.scenarios.identifiers import credit_codes, to_string_array

GRADE_SHARES = (0.1, 0.2, 0.2, 0.3, 0.2)  # 1:2:2:3:2 (SCENARIO.md)


def write(path: Path, table: pa.Table) -> Path:
    """A table as CSV or Parquet, by the suffix of ``path``."""
    if path.suffix == ".parquet":
        pq.write_table(table, path)
    else:
        csv.write_csv(table, path)
    return path


def write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def write_json(path: Path, document: object) -> Path:
    return write_text(path, json.dumps(document, ensure_ascii=False))


def check(path: Path, **context: object):
    return check_output(path, context=OutputContext(**context))


def rating_list(n: int = 1290, seed: int = 2023) -> pa.Table:
    """A scenario-like rating list: valid fictional credit codes, 30 % above scale, grades 1:2:2:3:2
    within each category."""
    rng = np.random.default_rng(seed)
    uscc = to_string_array(credit_codes(rng.choice(31**6, n, replace=False)))
    above = rng.random(n) < 0.3
    grades = np.empty(n, dtype=object)
    for flag in (True, False):
        members = np.flatnonzero(above == flag)
        rng.shuffle(members)
        bounds = np.round(np.cumsum(GRADE_SHARES) * members.size).astype(int)
        start = 0
        for grade, end in zip("ABCDE", bounds, strict=True):
            grades[members[start:end]] = grade
            start = end
    return pa.table(
        {
            "uscc": uscc,
            "category": pa.array(np.where(above, "规上", "规下")),
            "grade": pa.array(grades.tolist()),
        }
    )


def grade_distribution(ratings: pa.Table) -> pa.Table:
    """Grade distribution per category (long layout: category, grade, n), as the job would release."""
    counts = ratings.group_by(["category", "grade"]).aggregate([("uscc", "count")])
    counts = counts.rename_columns(["category", "grade", "n"])
    return counts.sort_by([("category", "ascending"), ("grade", "ascending")])


# --- a minimal protobuf writer, enough for ONNX ModelProto -----------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes | int) -> bytes:
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def onnx_model(*shapes: tuple[int, ...], external: bool = False) -> bytes:
    """An ONNX ModelProto whose graph has one float initializer per shape (packed dims)."""
    graph = b""
    for i, shape in enumerate(shapes):
        dims = b"".join(_varint(d) for d in shape)
        tensor = _field(1, dims) + _field(2, 1) + _field(8, f"w{i}".encode())
        if external:
            tensor += _field(14, 1)
        else:
            tensor += _field(9, bytes(4 * int(np.prod(shape))))
        graph += _field(5, tensor)
    graph += _field(2, b"g")
    return _field(1, 8) + _field(2, b"test") + _field(7, graph)
