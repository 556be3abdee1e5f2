"""Jobs (作业): submit, follow, cancel; the state machine's transitions, each audited.

Rules 四.(四) R4.4a (raw data never leaves: outputs of real-data runs go to the airlock only), R4.4c
(every operation recorded; logs never hold a data value), R4.4d (developed on dev data: the same
definition, with the same code digest, runs on the dev copy for the analyst and on real data inside the
domain). A job is queued here; a worker (:mod:`opdomain.compute.worker`) claims and runs it
(:mod:`opdomain.compute.jobs_run`). When a grant ends (``grant.ended``), its queued and running jobs are
cancelled.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opdomain.audit.log import SYSTEM, ActorLike
from opdomain.compute import jobs_messages as msg
from opdomain.compute import jobs_policy as rules
from opdomain.compute.jobs_models import Job
from opdomain.compute.jobs_policy import JobStatus
from opdomain.errors import DomainError, InvalidInput, NotFound
from opdomain.identity.service import Principal, authorize
from opdomain.lifecycle.grants import get_grant, workspace_grant
from opdomain.runtime import Runtime
from opdomain.store.db import new_id, utcnow

ENVIRONMENTS = ("dev", "domain")


@dataclass(frozen=True)
class JobView:
    id: str
    grant_id: str
    name: str
    environment: str
    status: str
    code_digest: str
    submitted_by: str
    submitted_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    cancel_requested: bool
    error_code: str
    log: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    definition: dict[str, Any]

    def to_dict(self, *, with_definition: bool = False) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in ("id", "grant_id", "name", "environment", "status", "code_digest",
                                           "submitted_by", "cancel_requested", "error_code", "log", "inputs")}
        d["outputs"] = {n: {k: v for k, v in o.items() if k != "file"} for n, o in self.outputs.items()}
        for k in ("submitted_at", "started_at", "finished_at"):
            v = getattr(self, k)
            d[k] = v.isoformat() if v else None
        if with_definition:
            d["definition"] = self.definition
        return d


def view(j: Job) -> JobView:
    return JobView(j.id, j.grant_id, j.name, j.environment, j.status, j.code_digest, j.submitted_by,
                   j.submitted_at, j.started_at, j.finished_at, j.cancel_requested, j.error_code, j.log,
                   json.loads(j.inputs or "{}"), json.loads(j.outputs or "{}"), json.loads(j.definition))


def transition(rt: Runtime, s: Session, job: Job, target: JobStatus, actor: ActorLike, *, reason: str = "",
               details: Mapping[str, Any] | None = None) -> None:
    """The one way a job changes status: checked against the table, audited in the same transaction."""
    name = rules.check_transition(job.status, target)
    before = job.status
    job.status = target.value
    if target is JobStatus.RUNNING:
        job.started_at = utcnow()
    if target in rules.FINAL:
        job.finished_at = utcnow()
    rt.audit.record(s, actor, f"job.{name}", "job", job.id, grant_id=job.grant_id, reason=reason,
                    outcome="allowed" if target is not JobStatus.FAILED else "failed",
                    details={"from": before, "to": target.value, "environment": job.environment,
                             "code_digest": job.code_digest, **(details or {})})


def submit_job(rt: Runtime, principal: Principal, grant_id: str, definition: Mapping[str, Any], environment: str,
               *, today: date | None = None) -> JobView:
    """Queues a job on dev data or real data. Only an analyst of the grant's operator, grant active (R4.4c);
    inputs only the grant's datasets (R4.5a). Refusals are audited."""
    authorize(rt, principal, "jobs.submit", object_type="grant", object_id=grant_id)
    digest = rules.code_digest(definition) if isinstance(definition, Mapping) else ""
    grant = workspace_grant(rt, principal, grant_id, action="job.submit", today=today)  # audits its refusal
    try:
        if environment not in ENVIRONMENTS:
            raise InvalidInput("job.bad_environment", msg.BAD_ENVIRONMENT.format(value=environment))
        spec = rules.parse_definition(definition, grant.datasets)
    except DomainError as exc:
        rt.audit.record_refusal(principal, "job.submit", "grant", grant_id, reason=exc.code, grant_id=grant_id,
                                details={"code_digest": digest, "message_en": exc.message.en})
        raise
    with rt.store.session() as s:
        job = Job(id=new_id(), grant_id=grant_id, name=spec.name, environment=environment,
                  status=JobStatus.QUEUED.value, definition=rules.canonical(definition), code_digest=digest,
                  submitted_by=principal.username)
        s.add(job)
        s.flush()
        rt.audit.record(s, principal, "job.submit", "job", job.id, grant_id=grant_id,
                        details={"environment": environment, "code_digest": digest, "name": spec.name,
                                 "actions": [a.name for a in spec.actions],
                                 "outputs": {o.name: o.label for a in spec.actions for o in a.outputs}})
        return view(job)


def _load(s: Session, job_id: str) -> Job:
    job = s.get(Job, job_id)
    if job is None:
        raise NotFound("job.not_found", msg.JOB_NOT_FOUND.format(job_id=job_id))
    return job


def load_job(rt: Runtime, job_id: str) -> JobView:
    with rt.store.session() as s:
        return view(_load(s, job_id))


def get_job(rt: Runtime, principal: Principal, job_id: str) -> JobView:
    """A job, for operator staff of its grant, the authority and auditors."""
    authorize(rt, principal, "jobs.read", object_type="job", object_id=job_id)
    job = load_job(rt, job_id)
    get_grant(rt, principal, job.grant_id)
    return job


def list_jobs(rt: Runtime, principal: Principal, grant_id: str, *, limit: int = 200) -> list[JobView]:
    authorize(rt, principal, "jobs.read", object_type="grant", object_id=grant_id)
    get_grant(rt, principal, grant_id)
    with rt.store.session() as s:
        rows = s.scalars(select(Job).where(Job.grant_id == grant_id).order_by(Job.submitted_at.desc())
                         .limit(max(1, min(limit, 1000))))
        return [view(j) for j in rows]


def cancel_job(rt: Runtime, principal: Principal, job_id: str, *, reason: str = "") -> JobView:
    """Cancels a queued job at once; a running one is marked and stopped by its worker before its next
    action, its outputs discarded."""
    authorize(rt, principal, "jobs.cancel", object_type="job", object_id=job_id)
    job = load_job(rt, job_id)
    grant = get_grant(rt, principal, job.grant_id)
    try:
        rules.check_same_organization(grant.operator_code, principal.organization_code)
        with rt.store.session() as s:
            row = _load(s, job_id)
            if row.status == JobStatus.RUNNING.value:
                row.cancel_requested = True
                rt.audit.record(s, principal, "job.cancel_request", "job", job_id, grant_id=row.grant_id,
                                reason=reason)
            else:
                transition(rt, s, row, JobStatus.CANCELLED, principal, reason=reason)
            s.flush()
            return view(row)
    except DomainError as exc:
        rt.audit.record_refusal(principal, "job.cancel", "job", job_id, reason=exc.code, grant_id=job.grant_id)
        raise


def on_grant_ended(rt: Runtime, grant_id: str, reason: str = "", **_: Any) -> int:
    """``grant.ended`` handler: cancels the grant's queued jobs and marks its running ones (R3.9d)."""
    n = 0
    with rt.store.session() as s:
        for row in s.scalars(select(Job).where(Job.grant_id == grant_id,
                                               Job.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value]))):
            if row.status == JobStatus.RUNNING.value:
                row.cancel_requested = True
                rt.audit.record(s, SYSTEM, "job.cancel_request", "job", row.id, grant_id=grant_id,
                                reason=f"grant.ended: {reason}")
            else:
                transition(rt, s, row, JobStatus.CANCELLED, SYSTEM, reason=f"grant.ended: {reason}")
            n += 1
    return n
