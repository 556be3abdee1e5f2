"""Deterministic generator of the 泵阀共富贷 source data (SCENARIO.md "Source data").

``generate(out)`` writes, for each of the eight provider departments, its tables as
``out/<department>/<table>.csv`` and ``.parquet`` plus a dataset descriptor
``out/<department>/<table>.resource.json`` (docs/scenario-data.md states the contract). The data is
synthetic (合成数据): one ``numpy.random.Generator(PCG64(seed))`` draws every value, so the same seed
gives byte-identical files; identifiers are valid in form (GB 32100, GB 11643, mobile 号段) but
fictional. Values are drawn as numpy arrays for the whole population and written in chunks with
pyarrow, so memory stays bounded by the numeric arrays, not by the strings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from opdomain.scenarios import lexicon, naming
from opdomain.scenarios.descriptors import (
    DATA_YEAR,
    DEPARTMENTS,
    TABLES,
    Table,
    resource_descriptor,
    write_descriptor,
)
from opdomain.scenarios.population import Enterprises, People, draw_enterprises, draw_people

__all__ = ["DEPARTMENTS", "FORMATS", "Progress", "generate"]

FORMATS = ("csv", "parquet")
CHUNK_ROWS = 262_144
DESCRIPTOR_SUFFIX = ".resource.json"

Progress = Callable[[str, int, int], None]
"""``progress(table_name, rows_done, rows_total)``; called with 0 before a table's first chunk."""

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "integer": pa.int64(),
    "number": pa.decimal128(18, 2),
    "boolean": pa.bool_(),
    "date": pa.date32(),
}
CSV_OPTIONS = pacsv.WriteOptions(include_header=True, quoting_style="none", quoting_header="none")


def generate(
    out: Path,
    enterprises: int = 1290,
    seed: int = 2023,
    *,
    formats: tuple[str, ...] = FORMATS,
    progress: Progress | None = None,
) -> list[Path]:
    """Writes out/<dept>/<table>.csv and .parquet and out/<dept>/<table>.resource.json; returns the
    descriptor paths (in SCENARIO.md's table order)."""
    formats = tuple(formats)
    if not formats or len(set(formats)) != len(formats) or not set(formats) <= set(FORMATS):
        raise ValueError(f"formats must be distinct values among {FORMATS}, got {formats!r}")
    if isinstance(enterprises, bool) or not isinstance(enterprises, int) or enterprises < 1:
        raise ValueError(f"enterprises must be a positive integer, got {enterprises!r}")
    if enterprises > naming.MAX_ENTERPRISES:
        raise ValueError(f"at most {naming.MAX_ENTERPRISES} enterprises are supported")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")

    rng = np.random.Generator(np.random.PCG64(seed))
    ent = draw_enterprises(rng, enterprises)
    people = draw_people(rng, ent)
    names = naming.draw_enterprise_names(rng, ent)
    source = _Source(ent, people, names)

    out = Path(out)
    written: list[Path] = []
    for table in TABLES:
        directory = out / table.department
        directory.mkdir(parents=True, exist_ok=True)
        total = source.row_count(table)
        _write_table(directory, table, formats, source.chunks(table), total, progress)
        descriptor = resource_descriptor(table, formats, seed=seed, enterprises=enterprises)
        written.append(write_descriptor(descriptor, directory / f"{table.name}{DESCRIPTOR_SUFFIX}"))
    return written


def arrow_schema(table: Table) -> pa.Schema:
    return pa.schema([pa.field(c.name, ARROW_TYPES[c.type], nullable=not c.required) for c in table.columns])


def _write_table(
    directory: Path,
    table: Table,
    formats: tuple[str, ...],
    chunks: Iterator[dict[str, pa.Array]],
    total: int,
    progress: Progress | None,
) -> None:
    schema = arrow_schema(table)
    csv_writer = parquet_writer = None
    try:
        if "csv" in formats:
            csv_writer = pacsv.CSVWriter(
                str(directory / f"{table.name}.csv"), schema, write_options=CSV_OPTIONS
            )
        if "parquet" in formats:
            parquet_writer = pq.ParquetWriter(str(directory / f"{table.name}.parquet"), schema)
        done = 0
        if progress:
            progress(table.qualified_name, 0, total)
        for columns in chunks:
            batch = pa.record_batch([columns[f.name] for f in schema], schema=schema)
            if csv_writer is not None:
                csv_writer.write_batch(batch)
            if parquet_writer is not None:
                parquet_writer.write_batch(batch)
            done += batch.num_rows
            if progress:
                progress(table.qualified_name, done, total)
    finally:
        if csv_writer is not None:
            csv_writer.close()
        if parquet_writer is not None:
            parquet_writer.close()


def decimal_array(hundredths: np.ndarray) -> pa.Array:
    """Integers in hundredths as ``decimal128(18, 2)``, built from the 128-bit little-endian buffer."""
    low = np.ascontiguousarray(hundredths, dtype=np.int64)
    buffer = np.empty((low.size, 2), dtype=np.int64)
    buffer[:, 0] = low
    buffer[:, 1] = low >> 63  # sign extension
    return pa.Array.from_buffers(pa.decimal128(18, 2), low.size, [None, pa.py_buffer(buffer)])


def date_array(dates: np.ndarray) -> pa.Array:
    dates = np.asarray(dates, dtype="datetime64[D]")
    return pa.array(dates, type=pa.date32(), mask=np.isnat(dates))


def _labels(labels: tuple[str, ...], index: np.ndarray) -> pa.Array:
    return pa.array(labels).take(pa.array(index))


def _ratio(numerator_c: np.ndarray, denominator_c: np.ndarray) -> np.ndarray:
    """numerator / denominator in hundredths, both given in hundredths (exact, round half away)."""
    return np.rint(numerator_c * 100 / denominator_c).astype(np.int64)


class _Source:
    """Builds each table's columns chunk by chunk from the drawn population."""

    def __init__(self, ent: Enterprises, people: People, names: naming.EnterpriseNames) -> None:
        self.ent = ent
        self.people = people
        self.names = names
        self.rep = np.flatnonzero(people.is_rep)  # one per enterprise, in enterprise order
        self.insured = np.bincount(people.enterprise, minlength=ent.count)
        self.uscc = naming.credit_codes(names, slice(None))

    def row_count(self, table: Table) -> int:
        if table.qualified_name == "hrss.insured_employees":
            return int(self.people.enterprise.size)
        if table.qualified_name == "amr.certifications":
            return int(self.ent.cert_enterprise.size)
        return self.ent.count

    def chunks(self, table: Table) -> Iterator[dict[str, pa.Array]]:
        build = getattr(self, "_" + table.qualified_name.replace(".", "_"))
        total = self.row_count(table)
        for start in range(0, max(total, 1), CHUNK_ROWS):
            rows = slice(start, min(start + CHUNK_ROWS, total))
            yield build(rows)

    def _year(self, rows: slice) -> pa.Array:
        return pa.array(np.full(rows.stop - rows.start, DATA_YEAR, dtype=np.int64))

    def _uscc(self, rows: slice) -> pa.Array:
        return self.uscc[rows]

    def _amr_enterprise_registry(self, rows: slice) -> dict[str, pa.Array]:
        e, rep = self.ent, self.rep[rows]
        return {
            "uscc": self._uscc(rows),
            "name": naming.enterprise_names(self.names, rows),
            "legal_rep_name": naming.person_names(self.people, rep),
            "legal_rep_id": naming.resident_ids(self.people, rep),
            "phone": naming.mobiles(self.names, rows),
            "address": naming.addresses(self.names, rows),
            "registered_capital": decimal_array(e.capital_c[rows]),
            "established_on": date_array(e.established[rows]),
            "is_joint_stock": pa.array(e.joint_stock[rows]),
        }

    def _amr_certifications(self, rows: slice) -> dict[str, pa.Array]:
        e = self.ent
        return {
            "uscc": self.uscc.take(pa.array(e.cert_enterprise[rows])),
            "cert_type": _labels(tuple(c[0] for c in lexicon.CERTIFICATIONS), e.cert_type[rows]),
            "issued_on": date_array(e.cert_issued[rows]),
        }

    def _tax_annual_tax(self, rows: slice) -> dict[str, pa.Array]:
        e = self.ent
        return {
            "uscc": self._uscc(rows),
            "year": self._year(rows),
            "total_tax": decimal_array(e.tax_c[rows]),
            "tax_credit_grade": _labels(lexicon.TAX_CREDIT_GRADES, e.tax_grade[rows]),
        }

    def _eit_mu_efficiency(self, rows: slice) -> dict[str, pa.Array]:
        e = self.ent
        return {
            "uscc": self._uscc(rows),
            "year": self._year(rows),
            "land_mu": decimal_array(e.land_c[rows]),
            "value_added": decimal_array(e.value_added_c[rows]),
            "tax_per_mu": decimal_array(_ratio(e.tax_c[rows], e.land_c[rows])),
            "value_added_per_mu": decimal_array(_ratio(e.value_added_c[rows], e.land_c[rows])),
            "is_above_scale": pa.array(e.above_scale[rows]),
            "honors": pa.array(e.honors[rows]),
        }

    def _stats_sales_profit(self, rows: slice) -> dict[str, pa.Array]:
        e = self.ent
        # 全员劳动生产率 = value added / employees; employees as insured at the year's end (hrss)
        productivity_c = np.rint(e.value_added_c[rows] / self.insured[rows]).astype(np.int64)
        return {
            "uscc": self._uscc(rows),
            "year": self._year(rows),
            "sales_revenue": decimal_array(e.revenue_c[rows]),
            "total_profit": decimal_array(e.profit_c[rows]),
            "labor_productivity": decimal_array(productivity_c),
        }

    def _eco_green_lowcarbon(self, rows: slice) -> dict[str, pa.Array]:
        e = self.ent
        return {
            "uscc": self._uscc(rows),
            "year": self._year(rows),
            "energy_tce": decimal_array(e.energy_c[rows]),
            "value_added_per_energy": decimal_array(_ratio(e.value_added_c[rows], e.energy_c[rows])),
            "env_credit_color": _labels(lexicon.ENV_CREDIT_COLORS, e.env_color[rows]),
        }

    def _sci_innovation(self, rows: slice) -> dict[str, pa.Array]:
        e = self.ent
        return {
            "uscc": self._uscc(rows),
            "year": self._year(rows),
            "rd_expense": decimal_array(e.rd_c[rows]),
            "invention_patents": pa.array(e.patents[rows]),
        }

    def _hrss_insured_employees(self, rows: slice) -> dict[str, pa.Array]:
        p = self.people
        return {
            "uscc": self.uscc.take(pa.array(p.enterprise[rows])),
            "person_id": naming.resident_ids(p, rows),
            "name": naming.person_names(p, rows),
            "birth_date": date_array(p.birth[rows]),
            "gender": _labels(lexicon.GENDERS, np.where(p.male[rows], 0, 1)),
            "monthly_wage": decimal_array(p.wage[rows] * 100),
            "insured_since": date_array(p.insured_since[rows]),
        }

    def _fin_shareholding_reform(self, rows: slice) -> dict[str, pa.Array]:
        e = self.ent
        return {
            "uscc": self._uscc(rows),
            "stage": _labels(lexicon.REFORM_STAGES, e.reform_stage[rows]),
            "completed_on": date_array(e.reform_completed[rows]),
        }
