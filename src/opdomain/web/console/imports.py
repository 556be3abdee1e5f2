"""Import pages: the list of imports with their quality reports, and the provider's upload form.

The upload takes the descriptor *and* its data file: the descriptor's own ``path`` is ignored
here, so a descriptor can never make the server read a file of its choosing.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from opdomain.catalog import ingest
from opdomain.catalog import service as catalog
from opdomain.errors import DomainError, Message
from opdomain.identity.api import runtime
from opdomain.web.console import messages as msg
from opdomain.web.console.guard import page
from opdomain.web.console.render import PageContext, is_htmx, render

router = APIRouter(include_in_schema=False)
DATA_SUFFIXES = (".csv", ".parquet")
_UNSAFE = re.compile(r"[^\w.\-]+")


def upload_name(filename: str | None, default: str) -> str:
    """A safe local name that keeps the provider's file name (it becomes the version's source name)."""
    name = _UNSAFE.sub("_", Path(filename or "").name).strip("._") or default
    stem, suffix = Path(name).stem[:100], Path(name).suffix.lower()
    return f"{stem or default}{suffix}"


def _imports_page(request: Request, ctx: PageContext, *, status: int = 200, error: Message | None = None,
                  error_details: list[str] | None = None) -> Response:
    assert ctx.principal is not None
    imports = catalog.list_imports(runtime(request), ctx.principal)
    ctx = replace(ctx, here="/imports")  # also after a POST: the language switch comes back to the list
    return render(ctx, "imports/index.html", status=status, section="imports", imports=imports, error=error,
                  error_details=error_details or [])


def _go(request: Request, target: str) -> Response:
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


@router.get("/imports")
def imports_index(request: Request, ctx: PageContext = Depends(page("imports.read"))) -> Response:
    return _imports_page(request, ctx)


@router.post("/imports")
def imports_upload(request: Request, descriptor: UploadFile | None = File(None), data: UploadFile | None = File(None),
                   ctx: PageContext = Depends(page("dataset.import"))) -> Response:
    if descriptor is None or not descriptor.filename or data is None or not data.filename:
        return _imports_page(request, ctx, status=422, error=msg.UPLOAD_MISSING)
    data_name = upload_name(data.filename, "data")
    if Path(data_name).suffix not in DATA_SUFFIXES:
        return _imports_page(request, ctx, status=422, error=msg.UPLOAD_BAD_FORMAT)
    rt = runtime(request)
    rt.settings.work_dir.mkdir(parents=True, exist_ok=True)
    upload_dir = Path(tempfile.mkdtemp(prefix="console-upload-", dir=rt.settings.work_dir))
    try:
        descriptor_path = upload_dir / "descriptor.json"
        data_path = upload_dir / data_name
        with descriptor_path.open("wb") as f:
            shutil.copyfileobj(descriptor.file, f)
        with data_path.open("wb") as f:
            shutil.copyfileobj(data.file, f, length=1 << 20)
        assert ctx.principal is not None
        run = ingest.import_dataset(rt, ctx.principal, descriptor_path, data_file=data_path)
    except DomainError as exc:
        import_id = exc.details.get("import_id")
        if import_id:  # rejected with a quality report: show the report
            return _go(request, f"/imports/{import_id}")
        problems = exc.details.get("problems")
        return _imports_page(request, ctx, status=exc.status, error=exc.message,
                             error_details=[str(p) for p in problems] if isinstance(problems, list) else None)
    finally:
        shutil.rmtree(upload_dir, ignore_errors=True)
    return _go(request, f"/imports/{run.id}")


@router.get("/imports/{import_id}")
def import_detail(import_id: str, request: Request, ctx: PageContext = Depends(page("imports.read"))) -> Response:
    assert ctx.principal is not None
    run = catalog.get_import(runtime(request), ctx.principal, import_id)
    return render(ctx, "imports/detail.html", section="imports", run=run)
