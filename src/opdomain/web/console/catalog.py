"""Catalog pages: provider departments, their datasets, and each dataset's graded columns (SPEC §4)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from opdomain.catalog import service as catalog
from opdomain.identity.api import runtime
from opdomain.web.console.guard import page
from opdomain.web.console.labels import GRADES
from opdomain.web.console.render import PageContext, render

router = APIRouter(include_in_schema=False)
_GRADE_ORDER = {g: i for i, g in enumerate(GRADES)}


def highest_grade(dataset: catalog.DatasetView) -> str | None:
    grades = [c.grade for c in dataset.columns if c.grade in _GRADE_ORDER]
    return max(grades, key=_GRADE_ORDER.__getitem__) if grades else None


@router.get("/catalog")
def catalog_index(request: Request, department: str = "", q: str = "", grade: str = "",
                  ctx: PageContext = Depends(page("catalog.read"))) -> Response:
    rt = runtime(request)
    assert ctx.principal is not None
    datasets = catalog.list_datasets(rt, ctx.principal)
    needle = q.strip().lower()
    shown = [
        d for d in datasets
        if (not department or d.department_code == department)
        and (not needle or needle in d.name.lower() or needle in d.title.lower()
             or any(needle in c.name.lower() or needle in c.title.lower() for c in d.columns))
        and (grade not in GRADES or highest_grade(d) == grade)
    ]
    return render(ctx, "catalog/index.html", section="catalog", departments=catalog.list_departments(rt),
                  datasets=shown, total=len(datasets), department=department, q=q.strip(),
                  grade=grade if grade in GRADES else "", highest_grade=highest_grade)


@router.get("/catalog/{name}")
def dataset_page(name: str, request: Request, ctx: PageContext = Depends(page("catalog.read"))) -> Response:
    dataset = catalog.get_dataset(runtime(request), ctx.principal, name)
    return render(ctx, "catalog/dataset.html", section="catalog", dataset=dataset,
                  highest=highest_grade(dataset))
