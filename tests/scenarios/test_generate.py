"""The generator's files, formats and descriptors (SCENARIO.md "Source data"; docs/scenario-data.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from opdomain.scenarios import DEPARTMENTS, generate, load_descriptor
from opdomain.scenarios.descriptors import TABLES, TABLES_BY_NAME
from opdomain.scenarios.generate import arrow_schema

TABLE_NAMES = [t.qualified_name for t in TABLES]

# SCENARIO.md "Source data", the table's last column: grades of the sensitive columns.
SENSITIVE_GRADES = {
    "amr.enterprise_registry": {
        "legal_rep_name": "L4",
        "legal_rep_id": "L4",
        "phone": "L4",
        "name": "L3",
        "address": "L3",
    },
    "tax.annual_tax": {"total_tax": "L3"},
    "stats.sales_profit": {"sales_revenue": "L3", "total_profit": "L3"},
    "sci.innovation": {"rd_expense": "L3"},
    "hrss.insured_employees": {"person_id": "L4", "name": "L4", "birth_date": "L4", "monthly_wage": "L4"},
}

# SCENARIO.md "Source data": the columns of each table, in order.
SCENARIO_COLUMNS = {
    "amr.enterprise_registry": [
        "uscc",
        "name",
        "legal_rep_name",
        "legal_rep_id",
        "phone",
        "address",
        "registered_capital",
        "established_on",
        "is_joint_stock",
    ],
    "amr.certifications": ["uscc", "cert_type", "issued_on"],
    "tax.annual_tax": ["uscc", "year", "total_tax", "tax_credit_grade"],
    "eit.mu_efficiency": [
        "uscc",
        "year",
        "land_mu",
        "value_added",
        "tax_per_mu",
        "value_added_per_mu",
        "is_above_scale",
        "honors",
    ],
    "stats.sales_profit": ["uscc", "year", "sales_revenue", "total_profit", "labor_productivity"],
    "eco.green_lowcarbon": ["uscc", "year", "energy_tce", "value_added_per_energy", "env_credit_color"],
    "sci.innovation": ["uscc", "year", "rd_expense", "invention_patents"],
    "hrss.insured_employees": [
        "uscc",
        "person_id",
        "name",
        "birth_date",
        "gender",
        "monthly_wage",
        "insured_since",
    ],
    "fin.shareholding_reform": ["uscc", "stage", "completed_on"],
}

PARQUET_TYPE_OF = {
    "string": pa.string(),
    "integer": pa.int64(),
    "number": pa.decimal128(18, 2),
    "boolean": pa.bool_(),
    "date": pa.date32(),
}


def _all_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_writes_csv_parquet_and_descriptor_for_every_table_of_the_eight_departments(small):
    # Arrange
    expected = {
        f"{n.split('.')[0]}/{n.split('.')[1]}.{ext}"
        for n in TABLE_NAMES
        for ext in ("csv", "parquet", "resource.json")
    }

    # Act
    written = set(_all_files(small.out))

    # Assert
    assert written == expected
    assert {t.department for t in TABLES} == set(DEPARTMENTS) and len(DEPARTMENTS) == 8
    assert [p.relative_to(small.out).as_posix() for p in small.descriptors] == [
        f"{n.replace('.', '/')}.resource.json" for n in TABLE_NAMES
    ]


def test_same_seed_gives_byte_identical_files(tmp_path, small):
    # Act
    generate(tmp_path, enterprises=small.enterprises, seed=2023)

    # Assert
    assert _all_files(tmp_path) == _all_files(small.out)


def test_different_seed_gives_different_data(tmp_path, small):
    # Act
    generate(tmp_path, enterprises=small.enterprises, seed=2024)

    # Assert
    for name in TABLE_NAMES:
        department, table = name.split(".")
        assert (tmp_path / department / f"{table}.csv").read_bytes() != small.path(name, "csv").read_bytes()


def test_tables_have_exactly_the_scenario_columns(generated):
    for name, columns in SCENARIO_COLUMNS.items():
        # Act
        header = generated.path(name, "csv").read_text(encoding="utf-8").split("\n", 1)[0]

        # Assert
        assert header.split(",") == columns
        assert generated.table(name).column_names == columns


def test_csv_is_utf8_with_header_iso_dates_true_false_and_empty_nulls(small):
    # Arrange
    date = re.compile(r"^\d{4}-\d{2}-\d{2}$")
    number = re.compile(r"^-?\d+\.\d{2}$")

    for name in TABLE_NAMES:
        schema = arrow_schema(TABLES_BY_NAME[name])
        # Act
        raw = small.path(name, "csv").read_bytes()
        lines = raw.decode("utf-8").split("\n")

        # Assert
        assert b'"' not in raw and b"\r" not in raw
        assert lines[-1] == "" and all(lines[:-1])
        for line in lines[1:-1]:
            cells = line.split(",")
            assert len(cells) == len(schema.names)
            for cell, field in zip(cells, schema, strict=True):
                if pa.types.is_boolean(field.type):
                    assert cell in ("true", "false")
                elif pa.types.is_date(field.type):
                    assert date.match(cell) or (field.nullable and cell == ""), (name, field.name, cell)
                elif pa.types.is_decimal(field.type):
                    assert number.match(cell), (name, field.name, cell)
                else:
                    assert cell != ""
    completed_on = [
        line.split(",")[2]
        for line in small.path("fin.shareholding_reform", "csv").read_text("utf-8").split("\n")[1:-1]
    ]
    assert "" in completed_on and any(completed_on)


def test_csv_and_parquet_hold_the_same_rows(generated):
    for name in TABLE_NAMES:
        # Arrange
        schema = arrow_schema(TABLES_BY_NAME[name])
        options = pacsv.ConvertOptions(column_types=schema, strings_can_be_null=False)

        # Act
        from_csv = pacsv.read_csv(generated.path(name, "csv"), convert_options=options)
        from_parquet = pq.read_table(generated.path(name, "parquet"))

        # Assert
        assert from_parquet.schema.equals(schema)
        assert from_csv.num_rows == from_parquet.num_rows
        assert from_csv.cast(schema).equals(from_parquet), name


def test_descriptors_declare_the_files_columns_types_and_keys(generated):
    for name in TABLE_NAMES:
        # Arrange
        table = generated.table(name)
        department, short = name.split(".")

        # Act
        d = generated.descriptor(name)

        # Assert
        assert d["name"] == name and d["department"] == department
        assert d["department_name"] == DEPARTMENTS[department]
        assert (d["path"], d["format"], d["encoding"]) == (f"{short}.csv", "csv", "utf-8")
        assert d["opdomain:alternates"] == {"parquet": f"{short}.parquet"}
        assert "opdomain:forbidden" in d and d["opdomain:forbidden"] is None
        fields = d["schema"]["fields"]
        assert [f["name"] for f in fields] == table.column_names
        for f in fields:
            assert table.schema.field(f["name"]).type == PARQUET_TYPE_OF[f["type"]]
            assert f["opdomain:grade"] in ("L1", "L2", "L3", "L4")
            assert f["title"]
            if f["constraints"]["required"]:
                assert table.column(f["name"]).null_count == 0
        key = d["schema"]["primaryKey"]
        key_rows = list(zip(*(table.column(k).to_pylist() for k in key), strict=True))
        assert len(set(key_rows)) == len(key_rows)
        assert d["schema"]["foreignKeys"] == []


def test_descriptor_grades_follow_the_scenario_and_default_to_l2(small):
    for name in TABLE_NAMES:
        # Act
        grades = {f["name"]: f["opdomain:grade"] for f in small.descriptor(name)["schema"]["fields"]}

        # Assert
        for column, grade in grades.items():
            expected = SENSITIVE_GRADES.get(name, {}).get(column, "L1" if column == "year" else "L2")
            assert grade == expected, (name, column)


def test_descriptor_marks_identifiers_and_data_subjects(small):
    # Act
    fields = {n: {f["name"]: f for f in small.descriptor(n)["schema"]["fields"]} for n in TABLE_NAMES}

    # Assert
    for name in TABLE_NAMES:
        assert fields[name]["uscc"]["opdomain:identifier"] == "credit_code"
        assert fields[name]["uscc"]["opdomain:subject"] == "enterprise"
        subjects = {c: f["opdomain:subject"] for c, f in fields[name].items() if "opdomain:subject" in f}
        expected = (
            {"uscc": "enterprise", "person_id": "person"}
            if name.startswith("hrss.")
            else {"uscc": "enterprise"}
        )
        assert subjects == expected
    registry = fields["amr.enterprise_registry"]
    assert registry["legal_rep_id"]["opdomain:identifier"] == "resident_id"
    assert registry["legal_rep_name"]["opdomain:identifier"] == "person_name"
    assert registry["phone"]["opdomain:identifier"] == "mobile"
    assert registry["address"]["opdomain:identifier"] == "address"
    hrss = fields["hrss.insured_employees"]
    assert hrss["person_id"]["opdomain:identifier"] == "resident_id"
    assert hrss["name"]["opdomain:identifier"] == "person_name"


def test_only_completed_on_is_nullable(small):
    # Act
    optional = {
        (n, f["name"])
        for n in TABLE_NAMES
        for f in small.descriptor(n)["schema"]["fields"]
        if not f["constraints"]["required"]
    }

    # Assert
    assert optional == {("fin.shareholding_reform", "completed_on")}


def test_primary_keys_are_uscc_person_id_and_uscc_with_cert_type(small):
    # Act
    keys = {n: small.descriptor(n)["schema"]["primaryKey"] for n in TABLE_NAMES}

    # Assert
    assert keys.pop("hrss.insured_employees") == ["person_id"]
    assert keys.pop("amr.certifications") == ["uscc", "cert_type"]
    assert set(map(tuple, keys.values())) == {("uscc",)}


def test_parquet_only_writes_no_csv_and_points_the_descriptor_at_parquet(tmp_path):
    # Act
    descriptors = generate(tmp_path, enterprises=20, seed=7, formats=("parquet",))

    # Assert
    assert not list(tmp_path.rglob("*.csv"))
    d = load_descriptor(descriptors[0])
    assert (d["path"], d["format"], d["opdomain:alternates"]) == (
        "enterprise_registry.parquet",
        "parquet",
        {},
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"enterprises": 0},
        {"enterprises": -5},
        {"seed": -1},
        {"formats": ("xlsx",)},
        {"formats": ()},
        {"formats": ("csv", "csv")},
    ],
)
def test_rejects_invalid_arguments(tmp_path, kwargs):
    with pytest.raises(ValueError):
        generate(tmp_path, **kwargs)


def test_progress_reports_every_table_from_zero_to_its_row_count(tmp_path):
    # Arrange
    calls: list[tuple[str, int, int]] = []

    # Act
    generate(tmp_path, enterprises=30, seed=1, progress=lambda t, done, total: calls.append((t, done, total)))

    # Assert
    by_table: dict[str, list[tuple[int, int]]] = {}
    for table, done, total in calls:
        by_table.setdefault(table, []).append((done, total))
    assert list(by_table) == TABLE_NAMES
    for table, reports in by_table.items():
        rows = pq.read_metadata(tmp_path / f"{table.replace('.', '/')}.parquet").num_rows
        assert reports[0] == (0, rows)
        assert reports[-1] == (rows, rows)
    assert by_table["amr.enterprise_registry"][-1] == (30, 30)
