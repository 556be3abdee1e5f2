"""Ingestion: rows/s and peak memory importing hrss.insured_employees generated with
--enterprises 100000, as a ratio to DuckDB reading the same CSV with no checks (target ≤ 3×)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import duckdb

from bench.harness import BenchContext, Figure

CHILD = r"""
import json, sys, time, resource
from pathlib import Path
from opdomain.audit.log import SYSTEM
from opdomain.config import Settings
from opdomain.runtime import open_runtime
from opdomain.identity.service import create_organization, create_user, principal_for
from opdomain.catalog.ingest import import_dataset
from opdomain.demo import _fictional_resident_id
home, desc = Path(sys.argv[1]), Path(sys.argv[2])
rt = open_runtime(Settings(home=home))
create_organization(rt, SYSTEM, kind="provider", code="hrss", name="人社局")
create_user(rt, SYSTEM, username="hrss-staff", password="bench-password-1", real_name="测试",
            resident_id=_fictional_resident_id(1), phone="13800000001", role="provider", organization_code="hrss")
p = principal_for(rt, "hrss-staff")
t = time.perf_counter()
v = import_dataset(rt, p, desc)
print(json.dumps({"seconds": time.perf_counter() - t, "rows": v.rows_total,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(ctx: BenchContext) -> list[Figure]:
    from opdomain.scenarios.generate import generate

    n = 5_000 if ctx.quick else 100_000
    data = ctx.scratch / f"scenario-{n}"
    if not data.exists():
        generate(data, enterprises=n, seed=2023)
    desc = data / "hrss" / "insured_employees.resource.json"
    csv = data / "hrss" / "insured_employees.csv"
    t = time.perf_counter()
    con = duckdb.connect()
    rows = con.execute(f"SELECT count(*) FROM (SELECT * FROM read_csv('{csv}', header=true))").fetchall()[0][0]
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{csv}', header=true)")
    raw_s = time.perf_counter() - t
    con.close()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(ctx.scratch / "ingest-home"), str(desc)],
        capture_output=True,
        text=True,
        check=True,
    )
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    return [
        Figure(
            f"import hrss ({rows:,} rows)",
            "rows/s",
            res["rows"] / res["seconds"],
            baseline=rows / raw_s,
            baseline_name="raw DuckDB read_csv, no checks",
            target="within 3× raw read",
            better="higher",
        ),
        Figure(
            "import hrss time", "s", res["seconds"], baseline=raw_s, baseline_name="raw DuckDB read_csv", target="≤ 3×"
        ),
        Figure("import hrss peak memory", "MiB", res["peak_mb"], notes="peak RSS of the importing process"),
    ]
