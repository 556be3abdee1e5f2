"""Products (数据产品) and tracing (监管溯源) in the console: releases, the signed manifest, verify,
downloads for the recipient, the lineage graph, and the trace of a leaked copy.

Rules 一.(三) R1.3c, 四.(五) R4.5a/R4.5b (watermarked per recipient, traceable), 五.(一) R5.1b. The pages
call ``products.service`` and ``egress.lineage`` like the API (``products/api.py``); a download link is
shown only to a person of the release's recipient organization, and the download route itself is
refused by the service to anyone else.

- ``GET  /products``                        products.read      releases (a consumer: its own)
- ``GET  /products/{id}``                   products.read      files, manifest (products.verify), lineage (lineage.read)
- ``POST /products/{id}/verify``            products.verify    signature and every file's digests
- ``GET  /products/{id}/files/{name}``      products.download  a copy watermarked for the caller (recipient only)
- ``GET  /products/{id}/lineage.svg``       lineage.read       the server-rendered lineage graph (an <img>)
- ``GET  /trace``, ``POST /trace``          products.trace     upload a suspect file → release and recipient
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, File, Request, UploadFile
from starlette.responses import Response

from opdomain.egress import lineage
from opdomain.errors import DomainError
from opdomain.identity.api import runtime
from opdomain.products import service
from opdomain.web.console.airlock_pages import PRODUCT_TYPE_NAMES
from opdomain.web.console.guard import page
from opdomain.web.console.i18n import N_
from opdomain.web.console.labels import NavItem, add_nav_item
from opdomain.web.console.render import PageContext, render, secure_headers

router = APIRouter(include_in_schema=False)

SECTION = "products"
TRACE_SECTION = "trace"
#: the largest suspect file the trace form takes
TRACE_MAX_BYTES = 64 * 1024 * 1024
RELEASE_STATUSES = {"active": N_("有效"), "disabled": N_("已停用")}

add_nav_item(NavItem("/products", N_("数据产品"), "products.read", SECTION, N_("数据出域")))
add_nav_item(NavItem("/trace", N_("溯源"), "products.trace", TRACE_SECTION, N_("监督审计")))


class ProductLabels:
    STATUSES = RELEASE_STATUSES
    PRODUCT_TYPES = PRODUCT_TYPE_NAMES


def _page(ctx: PageContext, template: str, *, status: int = 200, section: str = SECTION, **data: Any) -> Response:
    return render(ctx, template, status=status, section=section, pl=ProductLabels, **data)


@router.get("/products")
def products_index(request: Request, ctx: PageContext = Depends(page("products.read"))) -> Response:
    releases = service.list_releases(runtime(request), ctx.principal)  # type: ignore[arg-type]
    return _page(ctx, "products/index.html", releases=releases)


def _manifest(request: Request, release: service.ReleaseView) -> tuple[str, str]:
    """The signed manifest, pretty-printed, and its signature (as the API's ``/manifest`` reads them)."""
    folder = runtime(request).settings.data_dir / "releases" / release.id
    try:
        manifest = json.dumps(json.loads((folder / "manifest.json").read_bytes()), ensure_ascii=False, indent=2)
        signature = json.dumps(json.loads((folder / "manifest.sig").read_text("utf-8")), ensure_ascii=False,
                               indent=2)
    except (OSError, ValueError):
        return "", ""
    return manifest, signature


def _release_page(request: Request, ctx: PageContext, release_id: str, *, status: int = 200,
                  verified: dict[str, Any] | None = None) -> Response:
    release = service.get_release(runtime(request), ctx.principal, release_id)  # type: ignore[arg-type]
    manifest, signature = _manifest(request, release) if ctx.can("products.verify") else ("", "")
    recipient = ctx.principal is not None and ctx.principal.organization_code == release.recipient
    can_download = recipient and ctx.can("products.download") and release.status == "active"
    return _page(ctx, "products/release.html", status=status, release=release, manifest=manifest,
                 signature=signature, verified=verified, can_download=can_download)


@router.get("/products/{release_id}")
def product_release(release_id: str, request: Request, ctx: PageContext = Depends(page("products.read"))) -> Response:
    return _release_page(request, ctx, release_id)


@router.post("/products/{release_id}/verify")
def product_verify(release_id: str, request: Request,
                   ctx: PageContext = Depends(page("products.verify"))) -> Response:
    result = service.verify_release(runtime(request), ctx.principal, release_id)  # type: ignore[arg-type]
    return _release_page(request, ctx, release_id, verified=result)


@router.get("/products/{release_id}/files/{name}")
def product_download(release_id: str, name: str, request: Request,
                     ctx: PageContext = Depends(page("products.download"))) -> Response:
    data, info = service.download(runtime(request), ctx.principal, release_id, name)  # type: ignore[arg-type]
    safe = "".join(c for c in name if c.isalnum() or c in "._-") or "file"
    response = Response(data, media_type="text/csv" if name.endswith(".csv") else "application/octet-stream",
                        headers={"content-disposition": f'attachment; filename="{safe}"', "x-sha256": info["sha256"]})
    secure_headers(response, ctx.lang)
    return response


@router.get("/products/{release_id}/lineage.svg")
def product_lineage_svg(release_id: str, request: Request,
                        ctx: PageContext = Depends(page("lineage.read"))) -> Response:
    rt = runtime(request)
    service.get_release(rt, ctx.principal, release_id)  # type: ignore[arg-type]
    response = Response(lineage.svg(lineage.graph(rt, release_id)), media_type="image/svg+xml")
    secure_headers(response, ctx.lang)
    return response


@router.get("/trace")
def trace_form(ctx: PageContext = Depends(page("products.trace"))) -> Response:
    return _page(ctx, "products/trace.html", section=TRACE_SECTION, result=None, error=None, name="")


@router.post("/trace")
async def trace_file(request: Request, file: UploadFile = File(...),
                     ctx: PageContext = Depends(page("products.trace"))) -> Response:
    name = (file.filename or "suspect.csv").rsplit("/", 1)[-1][:200]
    data = await file.read(TRACE_MAX_BYTES + 1)
    result, error = None, None
    try:
        result = service.trace(runtime(request), ctx.principal, data[:TRACE_MAX_BYTES], name)  # type: ignore[arg-type]
    except DomainError as exc:
        if exc.status == 401:
            raise
        error = exc
    return _page(ctx, "products/trace.html", status=error.status if error else 200, section=TRACE_SECTION,
                 result=result, error=error, name=name)
