"""The job worker (``opdomain worker``): polls the queue and runs jobs one at a time.

Several workers may run against one records database: a job is claimed with ``FOR UPDATE SKIP LOCKED``
on PostgreSQL and under ``BEGIN IMMEDIATE`` on SQLite, so each job runs once.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from opdomain.compute.jobs import JobView, load_job
from opdomain.compute.jobs_run import claim_next_job, run_job, worker_name
from opdomain.runtime import Runtime


def run_next_job(rt: Runtime, *, worker: str | None = None) -> JobView | None:
    """Claims and runs the oldest queued job; returns it finished, or None when the queue is empty."""
    job_id = claim_next_job(rt, worker)
    if job_id is None:
        return None
    run_job(rt, job_id)
    return load_job(rt, job_id)


def run_worker(rt: Runtime, *, once: bool = False, poll_seconds: float = 2.0,
               on_job: Callable[[JobView], None] | None = None, stop: Callable[[], bool] | None = None) -> int:
    """Runs jobs until stopped (``once``: until the queue is empty). Returns how many ran."""
    name = worker_name()
    ran = 0
    while not (stop and stop()):
        job = run_next_job(rt, worker=name)
        if job is None:
            if once:
                break
            time.sleep(poll_seconds)
            continue
        ran += 1
        if on_job:
            on_job(job)
    return ran
