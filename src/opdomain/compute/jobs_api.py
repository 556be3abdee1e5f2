"""HTTP API of jobs (作业).

- ``POST /api/v1/grants/{grant_id}/jobs``            jobs.submit  ``{"definition", "environment"}``
- ``GET  /api/v1/grants/{grant_id}/jobs``            jobs.read
- ``GET  /api/v1/jobs/{job_id}``                     jobs.read    (status, log, outputs: names and digests)
- ``POST /api/v1/jobs/{job_id}/cancel``              jobs.cancel
- ``GET  /api/v1/jobs/{job_id}/outputs/{name}``      jobs.read    (dev-data runs only: real-data outputs leave
  only through the airlock)
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel

from opdomain.compute import jobs
from opdomain.compute import jobs_messages as msg
from opdomain.compute.jobs_run import read_output
from opdomain.errors import PermissionDenied
from opdomain.identity.api import require, runtime
from opdomain.identity.service import Principal

router = APIRouter(prefix="/api/v1", tags=["jobs"])


class SubmitJob(BaseModel):
    definition: dict[str, Any]
    environment: Literal["dev", "domain"] = "dev"


class CancelJob(BaseModel):
    reason: str = ""


@router.post("/grants/{grant_id}/jobs", status_code=201)
def submit(grant_id: str, body: SubmitJob, request: Request,
           principal: Principal = Depends(require("jobs.submit"))) -> dict[str, Any]:
    return jobs.submit_job(runtime(request), principal, grant_id, body.definition, body.environment).to_dict()


@router.get("/grants/{grant_id}/jobs")
def list_jobs(grant_id: str, request: Request, principal: Principal = Depends(require("jobs.read"))) -> list[dict]:
    return [j.to_dict() for j in jobs.list_jobs(runtime(request), principal, grant_id)]


@router.get("/jobs/{job_id}")
def get_job(job_id: str, request: Request, principal: Principal = Depends(require("jobs.read"))) -> dict[str, Any]:
    return jobs.get_job(runtime(request), principal, job_id).to_dict(with_definition=True)


@router.post("/jobs/{job_id}/cancel")
def cancel(job_id: str, request: Request, body: CancelJob | None = None,
           principal: Principal = Depends(require("jobs.cancel"))) -> dict[str, Any]:
    return jobs.cancel_job(runtime(request), principal, job_id, reason=(body.reason if body else "")).to_dict()


@router.get("/jobs/{job_id}/outputs/{name}")
def dev_output(job_id: str, name: str, request: Request,
               principal: Principal = Depends(require("jobs.read"))) -> Response:
    rt = runtime(request)
    job = jobs.get_job(rt, principal, job_id)
    if job.environment != "dev":
        rt.audit.record_refusal(principal, "job.read_output", "job", job_id, reason="job.domain_output",
                                grant_id=job.grant_id, details={"output": name})
        raise PermissionDenied("job.domain_output", msg.DOMAIN_OUTPUT_HIDDEN)
    data = read_output(rt, job_id, name)
    with rt.store.session() as s:
        rt.audit.record(s, principal, "job.read_output", "job", job_id, grant_id=job.grant_id,
                        details={"output": name, "environment": "dev"})
    return Response(data, media_type="application/octet-stream",
                    headers={"content-disposition": f'attachment; filename="{name}"'})
