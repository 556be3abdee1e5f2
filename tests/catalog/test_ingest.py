"""Ingestion (R4.2a, R1.1a): validated row by row, encrypted at rest, atomic, versioned.

Bad input of every kind named in issue 2 gets a clear bilingual error and leaves the domain
exactly as it was — including a process killed midway.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from opdomain.audit.query import AuditFilter, search
from opdomain.catalog.ingest import import_dataset, read_version, sweep_interrupted
from opdomain.catalog.service import get_dataset, list_imports
from opdomain.errors import InvalidInput, NotFound, PermissionDenied
from opdomain.identity.service import principal_for
from opdomain.runtime import Runtime
from tests.conftest import seed_people

AMR = "amr/enterprise_registry.resource.json"
HRSS = "hrss/insured_employees.resource.json"


@pytest.fixture
def people(rt: Runtime) -> dict[str, str]:
    return seed_people(rt)


def copy_table(scenario: Path, tmp_path: Path, rel: str) -> Path:
    """A private copy of one table's folder, so a test may corrupt it."""
    src = (scenario / rel).parent
    dst = tmp_path / "src" / src.name
    shutil.copytree(src, dst)
    return dst / Path(rel).name


def rewrite_csv(desc: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    path = desc.parent / json.loads(desc.read_text())["path"]
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    edit(rows)
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    return path


def test_import_lands_encrypted_and_readable_inside_the_domain(rt: Runtime, people, scenario: Path) -> None:
    amr = principal_for(rt, "amr-staff")
    view = import_dataset(rt, amr, scenario / AMR)
    assert view.status == "landed" and view.version == 1 and view.rows_total == 60
    ds = get_dataset(rt, amr, "amr.enterprise_registry")
    assert ds.current_version == 1 and ds.rows == 60
    grades = {c.name: c.grade for c in ds.columns}
    assert grades["legal_rep_id"] == "L4" and grades["name"] == "L3"
    assert {c.name: c.subject for c in ds.columns}["uscc"] == "enterprise"
    # at rest: no identifier of the source appears in the stored bytes
    stored = next((rt.settings.data_dir / "amr.enterprise_registry").glob("*.enc")).read_bytes()
    with (scenario / "amr" / "enterprise_registry.csv").open(encoding="utf-8") as f:
        first = next(csv.DictReader(f))
    assert first["uscc"].encode() not in stored and first["legal_rep_id"].encode() not in stored
    table = read_version(rt, "amr.enterprise_registry")
    assert table.num_rows == 60 and first["uscc"] in table.column("uscc").to_pylist()


def test_parquet_file_imports_the_same_rows(rt: Runtime, people, scenario: Path) -> None:
    amr = principal_for(rt, "amr-staff")
    import_dataset(rt, amr, scenario / AMR, data_file=scenario / "amr" / "enterprise_registry.parquet")
    assert read_version(rt, "amr.enterprise_registry").num_rows == 60


def test_reimport_creates_a_new_version(rt: Runtime, people, scenario: Path) -> None:
    amr = principal_for(rt, "amr-staff")
    import_dataset(rt, amr, scenario / AMR)
    second = import_dataset(rt, amr, scenario / AMR)
    assert second.version == 2
    ds = get_dataset(rt, amr, "amr.enterprise_registry")
    assert ds.current_version == 2 and [v.version for v in ds.versions] == [2, 1]


@pytest.mark.parametrize(
    ("column", "value", "code"),
    [
        ("legal_rep_id", "330324198001010000", "resident_id"),  # wrong check digit
        ("uscc", "91330324MA2ABCDE1X", "credit_code"),
        ("registered_capital", "lots", "type"),
        ("established_on", "2021-13-45", "type"),
        ("name", "", "required"),
        ("phone", "1234", "mobile"),
    ],
)
def test_bad_cell_rejects_the_import_with_its_row_and_reason(
    rt: Runtime, people, scenario: Path, tmp_path: Path, column: str, value: str, code: str
) -> None:
    amr = principal_for(rt, "amr-staff")
    import_dataset(rt, amr, scenario / AMR)  # version 1, to be left intact
    desc = copy_table(scenario, tmp_path, AMR)

    def edit(rows: list[list[str]]) -> None:
        rows[5][rows[0].index(column)] = value  # data row 5 = file line 6

    rewrite_csv(desc, edit)
    with pytest.raises(InvalidInput) as err:
        import_dataset(rt, amr, desc)
    assert err.value.code == "import.bad_rows"
    assert err.value.message.zh and err.value.message.en
    issue = err.value.details["issues"][0]
    assert (issue["row"], issue["line"], issue["column"], issue["code"]) == (5, 6, column, code)
    assert get_dataset(rt, amr, "amr.enterprise_registry").current_version == 1
    assert read_version(rt, "amr.enterprise_registry").num_rows == 60
    rejected = [i for i in list_imports(rt, amr) if i.status == "rejected"]
    assert rejected and rejected[0].rows_bad == 1 and rejected[0].report["issues"][0]["code"] == code


def test_duplicate_key_is_reported_on_both_rows(rt: Runtime, people, scenario: Path, tmp_path: Path) -> None:
    amr = principal_for(rt, "amr-staff")
    desc = copy_table(scenario, tmp_path, AMR)
    rewrite_csv(desc, lambda rows: rows.__setitem__(3, list(rows[2])))
    with pytest.raises(InvalidInput) as err:
        import_dataset(rt, amr, desc)
    dupes = {i["row"] for i in err.value.details["issues"] if i["code"] == "unique"}
    assert dupes == {2, 3}
    with pytest.raises(NotFound):
        get_dataset(rt, amr, "amr.enterprise_registry")


def test_file_not_matching_the_descriptor_is_refused(rt: Runtime, people, scenario: Path, tmp_path: Path) -> None:
    amr = principal_for(rt, "amr-staff")
    desc = copy_table(scenario, tmp_path, AMR)
    rewrite_csv(desc, lambda rows: [r.pop() for r in rows])
    with pytest.raises(InvalidInput) as err:
        import_dataset(rt, amr, desc)
    assert err.value.code == "import.columns_mismatch" and "is_joint_stock" in err.value.message.en


def test_malformed_descriptor_lists_every_problem(rt: Runtime, people, tmp_path: Path) -> None:
    amr = principal_for(rt, "amr-staff")
    bad = tmp_path / "bad.resource.json"
    bad.write_text(
        json.dumps(
            {
                "name": "amr.x",
                "department": "amr",
                "path": "x.csv",
                "format": "csv",
                "schema": {"fields": [{"name": "a", "type": "money", "opdomain:grade": "L9"}]},
            }
        )
    )
    with pytest.raises(InvalidInput) as err:
        import_dataset(rt, amr, bad)
    assert err.value.code == "descriptor.invalid"
    problems = err.value.details["problems"]
    assert any("type" in p for p in problems) and any("grade" in p for p in problems)
    refusals = search(rt.store, AuditFilter(action="dataset.import", outcome="refused"))
    assert refusals and refusals[0].reason == "descriptor.invalid"


def test_unknown_department_is_refused(rt: Runtime, people, scenario: Path, tmp_path: Path) -> None:
    amr = principal_for(rt, "amr-staff")
    desc = copy_table(scenario, tmp_path, AMR)
    raw = json.loads(desc.read_text())
    raw["department"], raw["name"] = "nowhere", "nowhere.enterprise_registry"
    desc.write_text(json.dumps(raw))
    with pytest.raises(NotFound) as err:
        import_dataset(rt, amr, desc)
    assert err.value.code == "import.unknown_department"


def test_provider_cannot_import_another_departments_dataset(rt: Runtime, people, scenario: Path) -> None:
    hrss = principal_for(rt, "hrss-staff")
    with pytest.raises(PermissionDenied):
        import_dataset(rt, hrss, scenario / AMR)
    assert search(rt.store, AuditFilter(actor="hrss-staff", outcome="refused"))


KILL_CHILD = r"""
import sys
from pathlib import Path
from opdomain.config import Settings
from opdomain.runtime import open_runtime
from opdomain.identity.service import principal_for
from opdomain.catalog.ingest import import_dataset
import opdomain.catalog.ingest as ingest
ingest._BATCH_ROWS = 64
rt = open_runtime(Settings(home=Path(sys.argv[1]), database_url=sys.argv[3] or None), schema=sys.argv[4] or None)
def progress(stage, done, total):
    if stage == "write" and done > 0:
        print("WRITING", flush=True)
        import time; time.sleep(30)
import_dataset(rt, principal_for(rt, "hrss-staff"), Path(sys.argv[2]), progress=progress)
"""


def test_import_killed_midway_leaves_previous_version_intact(
    rt: Runtime, people, scenario: Path, request: pytest.FixtureRequest
) -> None:
    hrss = principal_for(rt, "hrss-staff")
    first = import_dataset(rt, hrss, scenario / HRSS)
    before = read_version(rt, "hrss.insured_employees")
    url = rt.settings.database_url or ""
    schema = rt.store.schema or ""
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_CHILD, str(rt.settings.home), str(scenario / HRSS), url, schema],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    assert proc.stdout is not None
    deadline = time.time() + 60
    line = ""
    while time.time() < deadline and "WRITING" not in line:
        line = proc.stdout.readline()
    assert "WRITING" in line, "child never reached the write phase"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    ds = get_dataset(rt, hrss, "hrss.insured_employees")
    assert ds.current_version == first.version == 1
    assert read_version(rt, "hrss.insured_employees").equals(before)
    assert list((rt.settings.data_dir / "hrss.insured_employees").glob("*.partial")), "a partial file was being written"
    assert sweep_interrupted(rt) == 1
    assert not list((rt.settings.data_dir / "hrss.insured_employees").glob("*.partial"))
    statuses = sorted(i.status for i in list_imports(rt, hrss))
    assert statuses == ["failed", "landed"]
