"""HTTP API of products: release, list, download (the recipient only, watermarked), verify, trace, lineage.

- ``POST /api/v1/release-requests/{id}/release``   airlock.release
- ``GET  /api/v1/releases``                        products.read
- ``GET  /api/v1/releases/{id}``                   products.read
- ``GET  /api/v1/releases/{id}/files/{name}``      products.download (watermarked for the caller)
- ``GET  /api/v1/releases/{id}/manifest``          products.verify (manifest.json and its signature)
- ``POST /api/v1/releases/{id}/verify``            products.verify
- ``GET  /api/v1/releases/{id}/lineage``           lineage.read (OpenLineage events, graph, mermaid; ?format=svg)
- ``POST /api/v1/trace``                           products.trace (the suspect file as the request body)
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from opdomain.egress import lineage
from opdomain.identity.api import require, runtime
from opdomain.identity.service import Principal
from opdomain.products import service

router = APIRouter(prefix="/api/v1", tags=["products"])


@router.post("/release-requests/{request_id}/release", status_code=201)
def release(request_id: str, request: Request,
            principal: Principal = Depends(require("airlock.release"))) -> dict[str, Any]:
    return service.release_request(runtime(request), principal, request_id).to_dict()


@router.get("/releases")
def list_releases(request: Request, principal: Principal = Depends(require("products.read"))) -> list[dict]:
    return [r.to_dict() for r in service.list_releases(runtime(request), principal)]


@router.get("/releases/{release_id}")
def get_release(release_id: str, request: Request,
                principal: Principal = Depends(require("products.read"))) -> dict[str, Any]:
    return service.get_release(runtime(request), principal, release_id).to_dict()


@router.get("/releases/{release_id}/files/{name}")
def download(release_id: str, name: str, request: Request,
             principal: Principal = Depends(require("products.download"))) -> Response:
    data, info = service.download(runtime(request), principal, release_id, name)
    return Response(data, media_type="text/csv" if name.endswith(".csv") else "application/octet-stream",
                    headers={"content-disposition": f'attachment; filename="{name}"', "x-sha256": info["sha256"]})


@router.get("/releases/{release_id}/manifest")
def manifest(release_id: str, request: Request,
             principal: Principal = Depends(require("products.verify"))) -> dict[str, Any]:
    rt = runtime(request)
    view = service.get_release(rt, principal, release_id)
    folder = rt.settings.data_dir / "releases" / view.id
    return {"manifest": json.loads((folder / "manifest.json").read_bytes()),
            "signature": json.loads((folder / "manifest.sig").read_text("utf-8"))}


@router.post("/releases/{release_id}/verify")
def verify(release_id: str, request: Request,
           principal: Principal = Depends(require("products.verify"))) -> dict[str, Any]:
    return service.verify_release(runtime(request), principal, release_id)


@router.get("/releases/{release_id}/lineage", response_model=None)
def release_lineage(release_id: str, request: Request, format: str = "json",
                    principal: Principal = Depends(require("lineage.read"))) -> Any:
    rt = runtime(request)
    service.get_release(rt, principal, release_id)
    graph = lineage.graph(rt, release_id)
    if format == "svg":
        return Response(lineage.svg(graph), media_type="image/svg+xml")
    return {"events": lineage.events(rt, release_id), "graph": {"nodes": graph["nodes"], "edges": graph["edges"]},
            "mermaid": lineage.mermaid(graph)}


@router.post("/trace")
async def trace(request: Request, name: str = "suspect.csv",
                principal: Principal = Depends(require("products.trace"))) -> dict[str, Any]:
    body = await request.body()
    return service.trace(runtime(request), principal, body, name)
