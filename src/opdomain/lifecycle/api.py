"""HTTP API of grants and consent (授权、个人/企业授权). Routers are thin: they call services.

Routes and permissions (deny by default, identity.roles.PERMISSIONS):

- ``GET  /api/v1/grants``                  grant.read (operator staff: their organization's only)
- ``POST /api/v1/grants``                  grant.create — always refused (409 ``grant.lifecycle_only``): a grant
  exists only through the authorization process, ``/api/v1/applications`` (lifecycle.api_process)
- ``GET  /api/v1/grants/{grant_id}``       grant.read
- ``POST /api/v1/grants/{grant_id}/suspend`` / ``/resume``   grant.manage (authority)
- ``GET  /api/v1/consents``                consent.read (current consents, ids masked)
- ``POST /api/v1/consents``                consent.manage (record one consent, R4.2b / R5.1a)
- ``POST /api/v1/consents/withdraw``       consent.manage
- ``POST /api/v1/consents/history``        consent.read (one subject's acts; the id travels in the body,
  never in a URL that access logs keep)
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from opdomain.errors import Conflict
from opdomain.identity.api import require, runtime
from opdomain.identity.service import Principal
from opdomain.lifecycle import consent, grants
from opdomain.lifecycle.messages_process import GRANT_ONLY_THROUGH_LIFECYCLE

router = APIRouter(prefix="/api/v1", tags=["grants", "consent"])


class GrantCreate(BaseModel):
    operator: str = Field(min_length=1, max_length=64, description="operator organization code")
    scenario: str = Field(min_length=1, max_length=200, description="application scenario (应用场景)")
    domain_area: str = Field(min_length=1, max_length=32, description="priority domain area, e.g. 普惠金融")
    columns: dict[str, list[str]] = Field(description="dataset → the exact columns approved")
    starts_on: date
    ends_on: date
    k: int = Field(default=10, description="minimum distinct data subjects per output group")
    consent_subjects: list[Literal["person", "enterprise"]] = Field(default_factory=list)


class StatusChange(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


@router.get("/grants")
def list_grants(request: Request, principal: Principal = Depends(require("grant.read"))) -> list[dict[str, Any]]:
    return [g.to_dict() for g in grants.list_grants(runtime(request), principal)]


@router.post("/grants", status_code=201)
def create_grant(body: GrantCreate, request: Request,
                 principal: Principal = Depends(require("grant.create"))) -> dict[str, Any]:
    """Refused: grants come only from the authorization process (rules 三; docs/lifecycle.md)."""
    exc = Conflict("grant.lifecycle_only", GRANT_ONLY_THROUGH_LIFECYCLE, details={"rule": "R3"})
    runtime(request).audit.record_refusal(principal, "grant.create", "grant", body.operator, reason=exc.code)
    raise exc


@router.get("/grants/{grant_id}")
def get_grant(grant_id: str, request: Request,
              principal: Principal = Depends(require("grant.read"))) -> dict[str, Any]:
    return grants.get_grant(runtime(request), principal, grant_id).to_dict()


@router.post("/grants/{grant_id}/suspend")
def suspend_grant(grant_id: str, body: StatusChange, request: Request,
                  principal: Principal = Depends(require("grant.manage"))) -> dict[str, Any]:
    return grants.suspend_grant(runtime(request), principal, grant_id, reason=body.reason).to_dict()


@router.post("/grants/{grant_id}/resume")
def resume_grant(grant_id: str, body: StatusChange, request: Request,
                 principal: Principal = Depends(require("grant.manage"))) -> dict[str, Any]:
    return grants.resume_grant(runtime(request), principal, grant_id, reason=body.reason).to_dict()


class ConsentAct(BaseModel):
    subject_type: Literal["person", "enterprise"]
    subject_id: str = Field(min_length=1, max_length=32, description="resident ID or credit code")
    scenario: str = Field(min_length=1, max_length=200)
    operator: str = Field(min_length=1, max_length=64)
    channel: str = Field(default="counter", description="counter | online | paper | api | batch")
    note: str = Field(default="", max_length=2000)


class ConsentLookup(BaseModel):
    subject_type: Literal["person", "enterprise"]
    subject_id: str = Field(min_length=1, max_length=32)
    scenario: str | None = None
    operator: str | None = None


def _result(r: consent.BatchResult) -> dict[str, Any]:
    return {"recorded": r.recorded, "unchanged": r.unchanged, "digest": r.digest}


@router.get("/consents")
def list_consents(request: Request, scenario: str | None = None, operator: str | None = None,
                  subject_type: str | None = None, include_withdrawn: bool = False, limit: int = 200,
                  offset: int = 0, principal: Principal = Depends(require("consent.read"))) -> dict[str, Any]:
    """Current consents, newest first: ``count`` is the total, ``items`` one page of it."""
    items = consent.list_consents(runtime(request), principal, scenario=scenario, operator_code=operator,
                                  subject_type=subject_type, include_withdrawn=include_withdrawn, limit=10**9)
    page = items[max(0, offset):max(0, offset) + max(1, min(limit, 1000))]
    return {"count": len(items), "items": [c.to_dict() for c in page]}


@router.post("/consents", status_code=201)
def record_consent(body: ConsentAct, request: Request,
                   principal: Principal = Depends(require("consent.manage"))) -> dict[str, Any]:
    return _result(consent.record_consent(runtime(request), principal, subject_type=body.subject_type,
                                          subject_id=body.subject_id, scenario=body.scenario,
                                          operator_code=body.operator, channel=body.channel, note=body.note))


@router.post("/consents/withdraw")
def withdraw_consent(body: ConsentAct, request: Request,
                     principal: Principal = Depends(require("consent.manage"))) -> dict[str, Any]:
    return _result(consent.withdraw_consent(runtime(request), principal, subject_type=body.subject_type,
                                            subject_id=body.subject_id, scenario=body.scenario,
                                            operator_code=body.operator, channel=body.channel, note=body.note))


@router.post("/consents/history")
def consent_history(body: ConsentLookup, request: Request,
                    principal: Principal = Depends(require("consent.read"))) -> list[dict[str, Any]]:
    return [c.to_dict() for c in consent.consent_history(runtime(request), principal, subject_type=body.subject_type,
                                                         subject_id=body.subject_id, scenario=body.scenario,
                                                         operator_code=body.operator)]
