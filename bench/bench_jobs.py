"""Jobs and the airlock (issue 5): job start overhead — claim from the queue, materialise the grant's data,
start the sandbox, keep the outputs — median over empty jobs, against ``python -c pass`` in the same run;
and the automated checks' throughput in cells/s on a 1,000,000-cell output (aim > 1,000,000 cells/s)."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta

from bench.harness import BenchContext, Figure
from opdomain.audit.log import SYSTEM
from opdomain.config import Settings
from opdomain.runtime import open_runtime


def _domain(ctx: BenchContext):  # type: ignore[no-untyped-def]
    from opdomain.catalog.ingest import import_dataset
    from opdomain.demo import _fictional_resident_id
    from opdomain.identity.service import create_organization, create_user, principal_for
    from opdomain.lifecycle.grants import create_grant
    from opdomain.scenarios.generate import generate

    rt = open_runtime(Settings(home=ctx.scratch / "jobs-home"))
    create_organization(rt, SYSTEM, kind="authority", code="wzdata", name="温州市大数据发展管理局")
    create_organization(rt, SYSTEM, kind="operator", code="op1", name="运营单位")
    create_organization(rt, SYSTEM, kind="provider", code="eit", name="经信局")
    for i, (user, role, org) in enumerate((("admin", "authority_admin", "wzdata"), ("eit-staff", "provider", "eit"))):
        create_user(rt, SYSTEM, username=user, password="bench-password-123", real_name=f"基准{i}",
                    resident_id=_fictional_resident_id(70 + i), phone=f"1390000{70 + i:04d}", role=role,
                    organization_code=org)
    scenario = ctx.scratch / "jobs-scenario"
    descriptors = generate(scenario, enterprises=200, seed=5)
    desc = next(d for d in descriptors if d.name.startswith("mu_efficiency"))
    import_dataset(rt, principal_for(rt, "eit-staff"), desc)
    grant = create_grant(rt, principal_for(rt, "admin"), operator_code="op1", scenario="泵阀共富贷融资能力评价",
                         domain_area="普惠金融", columns={"eit.mu_efficiency": ["uscc", "is_above_scale"]},
                         starts_on=date.today() - timedelta(days=1), ends_on=date.today() + timedelta(days=300))
    return rt, grant.id


def _queue(rt, grant_id: str) -> None:  # type: ignore[no-untyped-def]
    """A queued empty job, written straight to the queue (the bench measures starting, not submitting)."""
    from opdomain.compute import jobs_policy
    from opdomain.compute.jobs_models import Job

    definition = {"name": "empty", "files": {"job.py": ""},
                  "actions": [{"name": "run", "type": "python", "script": "job.py", "outputs": []}]}
    with rt.store.session() as s:
        s.add(Job(grant_id=grant_id, name="empty", environment="domain", status="queued",
                  definition=jobs_policy.canonical(definition), code_digest=jobs_policy.code_digest(definition),
                  submitted_by="bench"))


def run(ctx: BenchContext) -> list[Figure]:
    from opdomain.compute.sandbox import sandbox_available
    from opdomain.compute.worker import run_next_job
    from opdomain.egress.checks import bench_cells_per_second

    figures: list[Figure] = []
    if sandbox_available():
        rt, grant_id = _domain(ctx)
        n = 5 if ctx.quick else 15
        plain, started = [], []
        _queue(rt, grant_id)
        run_next_job(rt)  # warm caches
        for _ in range(n):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], check=True)
            plain.append(time.perf_counter() - t)
            _queue(rt, grant_id)
            t = time.perf_counter()
            job = run_next_job(rt)
            started.append(time.perf_counter() - t)
            assert job is not None and job.status == "succeeded", json.dumps(job.to_dict() if job else {})
        rt.close()
        figures.append(Figure("job start overhead (queue + data + sandbox), median", "ms",
                              statistics.median(started) * 1000, statistics.median(plain) * 1000,
                              "python -c pass", "< 1000 ms", "lower",
                              notes=f"{n} empty jobs on a 200-enterprise table"))
    rows = 10_000 if ctx.quick else 100_000
    result = bench_cells_per_second(rows, folder=ctx.scratch)
    figures.append(Figure("airlock checks throughput", "cells/s", result["cells_per_second"], None, "",
                          "> 1,000,000 cells/s", "higher", notes=f"{int(result['cells']):,} cells"))
    return figures
