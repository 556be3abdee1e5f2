"""HTTP API of the airlock (出域审核).

- ``POST /api/v1/grants/{grant_id}/output-shapes``            airlock.declare_output (authority)
- ``POST /api/v1/grants/{grant_id}/release-requests``         airlock.author
- ``GET  /api/v1/release-requests``                           airlock.read
- ``GET  /api/v1/release-requests/{id}``                      airlock.read (audited view; votes per the rules)
- ``POST /api/v1/release-requests/{id}/files``                airlock.author
- ``DELETE /api/v1/release-requests/{id}/files/{name}``       airlock.author
- ``POST /api/v1/release-requests/{id}/submit``               airlock.author
- ``POST /api/v1/release-requests/{id}/withdraw``             airlock.author
- ``POST /api/v1/release-requests/{id}/votes``                airlock.review
- ``POST /api/v1/release-requests/{id}/review``               airlock.review (submit the independent review)
- ``POST /api/v1/release-requests/{id}/decision``             airlock.review (approve | return | reject)
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from opdomain.egress import airlock
from opdomain.egress.airlock_files import declare_output
from opdomain.identity.api import require, runtime
from opdomain.identity.service import Principal

router = APIRouter(prefix="/api/v1", tags=["airlock"])


class ShapeBody(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    subject_type: Literal["person", "enterprise"]
    columns: list[str] = Field(min_length=1)


class CreateBody(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    recipient: str = Field(min_length=1, max_length=64)
    product_name: str = Field(min_length=1, max_length=200)
    product_type: str = "data_package"


class FileBody(BaseModel):
    job_id: str
    output: str
    context: str
    controls: str
    name: str | None = None
    shape: str | None = None


class VoteBody(BaseModel):
    file: str
    vote: Literal["approve", "changes"]
    comment: str = ""


class DecisionBody(BaseModel):
    decision: Literal["approve", "return", "reject"]
    reason: str = ""


class ReasonBody(BaseModel):
    reason: str = ""


@router.post("/grants/{grant_id}/output-shapes", status_code=201)
def shape(grant_id: str, body: ShapeBody, request: Request,
          principal: Principal = Depends(require("airlock.declare_output"))) -> dict[str, Any]:
    s = declare_output(runtime(request), principal, grant_id, name=body.name, subject_type=body.subject_type,
                       columns=body.columns)
    return {"name": s.name, "subject_type": s.subject_type, "columns": list(s.columns)}


@router.post("/grants/{grant_id}/release-requests", status_code=201)
def create(grant_id: str, body: CreateBody, request: Request,
           principal: Principal = Depends(require("airlock.author"))) -> dict[str, Any]:
    return airlock.create_request(runtime(request), principal, grant_id, title=body.title, recipient=body.recipient,
                                  product_name=body.product_name, product_type=body.product_type)


@router.get("/release-requests")
def list_requests(request: Request, grant_id: str | None = None, status: str | None = None,
                  principal: Principal = Depends(require("airlock.read"))) -> list[dict[str, Any]]:
    return airlock.list_requests(runtime(request), principal, grant_id=grant_id, status=status)


@router.get("/release-requests/{request_id}")
def get(request_id: str, request: Request, principal: Principal = Depends(require("airlock.read"))) -> dict:
    return airlock.get_request(runtime(request), principal, request_id)


@router.post("/release-requests/{request_id}/files")
def add_file(request_id: str, body: FileBody, request: Request,
             principal: Principal = Depends(require("airlock.author"))) -> dict[str, Any]:
    return airlock.add_file(runtime(request), principal, request_id, job_id=body.job_id, output=body.output,
                            context=body.context, controls=body.controls, name=body.name, shape=body.shape)


@router.delete("/release-requests/{request_id}/files/{name}")
def remove_file(request_id: str, name: str, request: Request,
                principal: Principal = Depends(require("airlock.author"))) -> dict[str, Any]:
    return airlock.remove_file(runtime(request), principal, request_id, name)


@router.post("/release-requests/{request_id}/submit")
def submit(request_id: str, request: Request, principal: Principal = Depends(require("airlock.author"))) -> dict:
    return airlock.submit_request(runtime(request), principal, request_id)


@router.post("/release-requests/{request_id}/withdraw")
def withdraw(request_id: str, request: Request, body: ReasonBody | None = None,
             principal: Principal = Depends(require("airlock.author"))) -> dict[str, Any]:
    return airlock.withdraw_request(runtime(request), principal, request_id, reason=body.reason if body else "")


@router.post("/release-requests/{request_id}/votes")
def vote(request_id: str, body: VoteBody, request: Request,
         principal: Principal = Depends(require("airlock.review"))) -> dict[str, Any]:
    return airlock.vote(runtime(request), principal, request_id, body.file, body.vote, comment=body.comment)


@router.post("/release-requests/{request_id}/review")
def submit_review(request_id: str, request: Request,
                  principal: Principal = Depends(require("airlock.review"))) -> dict[str, Any]:
    return airlock.submit_review(runtime(request), principal, request_id)


@router.post("/release-requests/{request_id}/decision")
def decide(request_id: str, body: DecisionBody, request: Request,
           principal: Principal = Depends(require("airlock.review"))) -> dict[str, Any]:
    return airlock.decide(runtime(request), principal, request_id, body.decision, reason=body.reason)
