"""HTTP API of the catalog and ingestion."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, File, Request, UploadFile
from pydantic import BaseModel, Field

from opdomain.catalog import ingest, service
from opdomain.identity.api import require, runtime
from opdomain.identity.service import Principal

router = APIRouter(prefix="/api/v1", tags=["catalog"])


def _plain(obj: Any) -> Any:
    return dataclasses.asdict(obj) if dataclasses.is_dataclass(obj) and not isinstance(obj, type) else obj


@router.get("/departments")
def departments(request: Request, _: Principal = Depends(require("catalog.read"))) -> list[dict[str, Any]]:
    return [{"code": c, "name": n, "datasets": k} for c, n, k in service.list_departments(runtime(request))]


@router.get("/datasets")
def datasets(request: Request, principal: Principal = Depends(require("catalog.read"))) -> list[dict[str, Any]]:
    return [_plain(d) for d in service.list_datasets(runtime(request), principal)]


@router.get("/datasets/{name}")
def dataset(name: str, request: Request, principal: Principal = Depends(require("catalog.read"))) -> dict[str, Any]:
    return _plain(service.get_dataset(runtime(request), principal, name))  # type: ignore[no-any-return]


class ForbidRequest(BaseModel):
    category: str | None = Field(description="null to lift the mark")
    reason: str = Field(min_length=1, max_length=2000)


@router.post("/datasets/{name}/forbidden")
def forbid(
    name: str, body: ForbidRequest, request: Request, principal: Principal = Depends(require("dataset.forbid"))
) -> dict[str, Any]:
    rt = runtime(request)
    try:
        return _plain(service.mark_forbidden(rt, principal, name, category=body.category, reason=body.reason))  # type: ignore[no-any-return]
    except Exception as exc:
        from opdomain.errors import DomainError

        if isinstance(exc, DomainError):
            rt.audit.record_refusal(principal, "dataset.forbid", "dataset", name, reason=exc.code)
        raise


@router.get("/imports")
def imports(request: Request, principal: Principal = Depends(require("imports.read"))) -> list[dict[str, Any]]:
    return [_plain(i) for i in service.list_imports(runtime(request), principal)]


@router.get("/imports/{import_id}")
def import_detail(
    import_id: str, request: Request, principal: Principal = Depends(require("imports.read"))
) -> dict[str, Any]:
    return _plain(service.get_import(runtime(request), principal, import_id))  # type: ignore[no-any-return]


@router.post("/imports", status_code=201)
def create_import(
    request: Request,
    descriptor: UploadFile = File(...),
    data: UploadFile = File(...),
    principal: Principal = Depends(require("dataset.import")),
) -> dict[str, Any]:
    """Uploads a descriptor and its CSV or Parquet file; the import runs before the response."""
    rt = runtime(request)
    upload_dir = Path(tempfile.mkdtemp(prefix="upload-", dir=rt.settings.work_dir))
    try:
        dpath = upload_dir / "descriptor.json"
        with dpath.open("wb") as f:
            shutil.copyfileobj(descriptor.file, f)
        suffix = Path(data.filename or "data.csv").suffix.lower()
        fpath = upload_dir / f"{Path(data.filename or 'data').stem}{suffix}"
        with fpath.open("wb") as f:
            shutil.copyfileobj(data.file, f)
        return _plain(ingest.import_dataset(rt, principal, dpath, data_file=fpath))  # type: ignore[no-any-return]
    finally:
        shutil.rmtree(upload_dir, ignore_errors=True)
