"""HTTP API of the workspace (工作区): governed queries, dev data, the grant's schema, query history.

The query route is a fixed contract (SPEC §9): ``POST /api/v1/grants/{grant_id}/queries`` with
``{"sql", "environment": "dev" | "domain"}`` → 200 ``{"columns": [...], "rows": [[...]], ...}``, or the
error shape ``{"error": {"code", "message", "message_en"}}`` with a stable code — 422 for a rule
violation, 403 for scope or access (R4.4c, R4.5a).

- ``POST /api/v1/grants/{grant_id}/queries``   workspace.use
- ``GET  /api/v1/grants/{grant_id}/queries``   grant.read (the workspace's history)
- ``POST /api/v1/grants/{grant_id}/dev-data``  workspace.use (build the dev copy, R4.4d)
- ``GET  /api/v1/grants/{grant_id}/dev-data``  grant.read (the builds, counts only)
- ``GET  /api/v1/grants/{grant_id}/schema``    grant.read (granted columns, grades, masks)
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from opdomain.compute import devdata, service
from opdomain.identity.api import require, runtime
from opdomain.identity.service import Principal
from opdomain.lifecycle.grants import get_grant

router = APIRouter(prefix="/api/v1", tags=["workspace"])


class QueryRequest(BaseModel):
    sql: str = Field(min_length=1, max_length=100_000)
    environment: Literal["dev", "domain"] = "dev"


@router.post("/grants/{grant_id}/queries")
def run_query(grant_id: str, body: QueryRequest, request: Request,
              principal: Principal = Depends(require("workspace.use"))) -> dict[str, Any]:
    return service.run_query(runtime(request), principal, grant_id, body.sql, body.environment)


@router.get("/grants/{grant_id}/queries")
def list_queries(grant_id: str, request: Request, limit: int = 200,
                 principal: Principal = Depends(require("grant.read"))) -> list[dict[str, Any]]:
    return [q.to_dict() for q in service.list_queries(runtime(request), principal, grant_id, limit=limit)]


@router.post("/grants/{grant_id}/dev-data", status_code=201)
def build_dev_data(grant_id: str, request: Request,
                   principal: Principal = Depends(require("workspace.use"))) -> dict[str, Any]:
    return devdata.build_dev_data(runtime(request), principal, grant_id).to_dict()


@router.get("/grants/{grant_id}/dev-data")
def dev_data_builds(grant_id: str, request: Request,
                    principal: Principal = Depends(require("grant.read"))) -> list[dict[str, Any]]:
    rt = runtime(request)
    get_grant(rt, principal, grant_id)
    return [b.to_dict() for b in devdata.list_builds(rt, grant_id)]


@router.get("/grants/{grant_id}/schema")
def grant_schema(grant_id: str, request: Request,
                 principal: Principal = Depends(require("grant.read"))) -> dict[str, Any]:
    return service.grant_schema(runtime(request), principal, grant_id)
