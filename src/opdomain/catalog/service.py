"""Catalog services: departments, datasets, columns with grades, versions and imports (SPEC §4).

Rules enforced here: a provider registers and imports only its own department's datasets
(R2.5); a dataset may be marked forbidden to open (禁止开放, R1.1c, R1.6c).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from opdomain.catalog import messages as msg
from opdomain.catalog.descriptor import FORBIDDEN_CATEGORIES
from opdomain.catalog.models import Dataset, DatasetVersion, ImportRun
from opdomain.errors import InvalidInput, NotFound
from opdomain.identity.models import Organization
from opdomain.identity.roles import Role
from opdomain.identity.service import Principal, check_same_organization
from opdomain.runtime import Runtime


@dataclass(frozen=True)
class ColumnView:
    name: str
    title: str
    type: str
    grade: str
    identifier: str | None
    subject: str | None
    required: bool
    unique: bool


@dataclass(frozen=True)
class VersionView:
    version: int
    rows: int
    created_at: datetime
    source_name: str
    source_sha256: str
    import_id: str


@dataclass(frozen=True)
class DatasetView:
    name: str
    title: str
    description: str
    department_code: str
    department_name: str
    forbidden: bool
    forbidden_category: str | None
    forbidden_reason: str | None
    primary_key: tuple[str, ...]
    current_version: int | None
    rows: int | None
    columns: tuple[ColumnView, ...]
    versions: tuple[VersionView, ...]


@dataclass(frozen=True)
class ImportView:
    id: str
    dataset_name: str
    department_code: str
    actor: str
    status: str
    source_name: str
    rows_total: int
    rows_bad: int
    version: int | None
    started_at: datetime
    finished_at: datetime | None
    report: dict[str, Any]


def _dataset_view(ds: Dataset, dept: Organization, versions: list[DatasetVersion]) -> DatasetView:
    current = next((v for v in versions if v.version == ds.current_version), None)
    return DatasetView(
        name=ds.name,
        title=ds.title,
        description=ds.description,
        department_code=dept.code,
        department_name=dept.name,
        forbidden=ds.forbidden,
        forbidden_category=ds.forbidden_category,
        forbidden_reason=ds.forbidden_reason,
        primary_key=tuple(k for k in ds.primary_key.split(",") if k),
        current_version=ds.current_version,
        rows=current.rows if current else None,
        columns=tuple(
            ColumnView(c.name, c.title, c.type, c.grade, c.identifier, c.subject, c.required, c.unique)
            for c in ds.columns
        ),
        versions=tuple(
            VersionView(v.version, v.rows, v.created_at, v.source_name, v.source_sha256, v.import_id)
            for v in sorted(versions, key=lambda v: -v.version)
        ),
    )


def import_view(run: ImportRun) -> ImportView:
    return ImportView(
        run.id,
        run.dataset_name,
        run.department_code,
        run.actor,
        run.status,
        run.source_name,
        run.rows_total,
        run.rows_bad,
        run.version,
        run.started_at,
        run.finished_at,
        json.loads(run.report or "{}"),
    )


def list_departments(rt: Runtime) -> list[tuple[str, str, int]]:
    with rt.store.session() as s:
        rows = s.execute(
            select(Organization.code, Organization.name, func.count(Dataset.id))
            .outerjoin(Dataset, Dataset.department_id == Organization.id)
            .where(Organization.kind == "provider")
            .group_by(Organization.code, Organization.name)
            .order_by(Organization.code)
        ).all()
        return [(r[0], r[1], int(r[2])) for r in rows]


def list_datasets(rt: Runtime, principal: Principal) -> list[DatasetView]:
    with rt.store.session() as s:
        out = []
        for ds, dept in s.execute(select(Dataset, Organization).join(Organization).order_by(Dataset.name)).all():
            versions = list(s.scalars(select(DatasetVersion).where(DatasetVersion.dataset_id == ds.id)))
            out.append(_dataset_view(ds, dept, versions))
        return out


def get_dataset(rt: Runtime, principal: Principal | None, name: str) -> DatasetView:
    with rt.store.session() as s:
        row = s.execute(select(Dataset, Organization).join(Organization).where(Dataset.name == name)).first()
        if row is None:
            raise NotFound("dataset.not_found", msg.DATASET_NOT_FOUND.format(name=name))
        ds, dept = row
        versions = list(s.scalars(select(DatasetVersion).where(DatasetVersion.dataset_id == ds.id)))
        return _dataset_view(ds, dept, versions)


def _visible_imports(principal: Principal):  # type: ignore[no-untyped-def]
    stmt = select(ImportRun)
    if principal.role == Role.PROVIDER:
        stmt = stmt.where(ImportRun.department_code == principal.organization_code)
    return stmt


def list_imports(rt: Runtime, principal: Principal, limit: int = 200) -> list[ImportView]:
    with rt.store.session() as s:
        stmt = _visible_imports(principal).order_by(ImportRun.started_at.desc()).limit(limit)
        return [import_view(r) for r in s.scalars(stmt)]


def get_import(rt: Runtime, principal: Principal, import_id: str) -> ImportView:
    with rt.store.session() as s:
        run = s.get(ImportRun, import_id)
        if run is None:
            raise NotFound("import.not_found", msg.DATASET_NOT_FOUND.format(name=import_id))
        if principal.role == Role.PROVIDER:
            check_same_organization(principal, run.department_code, "import")
        return import_view(run)


def mark_forbidden(rt: Runtime, principal: Principal, name: str, *, category: str | None, reason: str) -> DatasetView:
    """Marks (or, with ``category=None``, unmarks) a dataset forbidden to open (R1.1c, R1.6c)."""
    if category is not None and category not in FORBIDDEN_CATEGORIES:
        raise InvalidInput("dataset.bad_forbidden_category", msg.FORBIDDEN_BAD_CATEGORY.format(category=category))
    with rt.store.session() as s:
        row = s.execute(select(Dataset, Organization).join(Organization).where(Dataset.name == name)).first()
        if row is None:
            raise NotFound("dataset.not_found", msg.DATASET_NOT_FOUND.format(name=name))
        ds, dept = row
        if principal.role == Role.PROVIDER:
            check_same_organization(principal, dept.code, "dataset")
        ds.forbidden = category is not None
        ds.forbidden_category = category
        ds.forbidden_reason = reason if category else None
        rt.audit.record(
            s,
            principal,
            "dataset.forbid" if category else "dataset.unforbid",
            "dataset",
            name,
            reason=reason,
            details={"category": category},
        )
    return get_dataset(rt, principal, name)


def granted_columns(rt: Runtime, name: str) -> list[ColumnView]:
    return list(get_dataset(rt, None, name).columns)


def current_file(rt: Runtime, name: str) -> tuple[Path, bytes | None, str, int]:
    """Path, wrapped key, cipher and version of a dataset's current version (for the domain's engines)."""
    with rt.store.session() as s:
        ds = s.scalar(select(Dataset).where(Dataset.name == name))
        if ds is None:
            raise NotFound("dataset.not_found", msg.DATASET_NOT_FOUND.format(name=name))
        if ds.current_version is None:
            raise NotFound("dataset.no_version", msg.NO_VERSION.format(name=name))
        v = s.scalar(
            select(DatasetVersion).where(
                DatasetVersion.dataset_id == ds.id, DatasetVersion.version == ds.current_version
            )
        )
        assert v is not None
        return rt.settings.data_dir / v.file, v.wrapped_key, v.cipher, v.version
