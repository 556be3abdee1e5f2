"""The job queue on both records stores: concurrent workers never claim the same job.

PostgreSQL claims with ``SELECT … FOR UPDATE SKIP LOCKED``, SQLite with ``BEGIN IMMEDIATE``; both
are driven here by several threads racing for the same queue (R4.4c: every claim audited).
"""

from __future__ import annotations

import threading
from datetime import date, timedelta

from sqlalchemy import select

from opdomain.audit.query import AuditFilter, search
from opdomain.compute.jobs_models import Job
from opdomain.compute.jobs_run import claim_next_job
from opdomain.identity.models import Organization
from opdomain.lifecycle.models import Grant
from opdomain.runtime import Runtime
from tests.conftest import seed_people

JOBS = 12
WORKERS = 4


def queue_jobs(rt: Runtime) -> set[str]:
    seed_people(rt)
    with rt.store.session() as s:
        operator = s.scalars(select(Organization).where(Organization.code == "op1")).one()
        grant = Grant(
            operator_id=operator.id,
            scenario="测试场景",
            domain_area="普惠金融",
            starts_on=date.today(),
            ends_on=date.today() + timedelta(days=30),
            status="active",
            created_by="admin",
        )
        s.add(grant)
        s.flush()
        ids = set()
        for i in range(JOBS):
            job = Job(
                grant_id=grant.id,
                name=f"job-{i}",
                environment="dev",
                status="queued",
                definition="{}",
                code_digest="0" * 64,
                submitted_by="analyst",
            )
            s.add(job)
            s.flush()
            ids.add(job.id)
        return ids


def test_concurrent_workers_claim_each_job_exactly_once(rt: Runtime) -> None:
    queued = queue_jobs(rt)
    claimed: list[str] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            while (job_id := claim_next_job(rt, worker=f"w{n}")) is not None:
                with lock:
                    claimed.append(job_id)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == []
    assert sorted(claimed) == sorted(queued), "a job was claimed twice or not at all"
    with rt.store.session() as s:
        statuses = {j.status for j in s.scalars(select(Job))}
    assert statuses == {"running"}
    assert claim_next_job(rt) is None
    transitions = search(rt.store, AuditFilter(action="job.", limit=1000))
    assert len([r for r in transitions if r.object_id in queued]) >= JOBS
