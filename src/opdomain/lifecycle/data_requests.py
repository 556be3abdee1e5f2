"""Data requests (数据需求申请, rules 四.(二) R4.2a/b) inside an active grant.

The operator requests columns of one dataset, each with its purpose, within the agreement's scope (the
application's data requirement list); the provider department that holds the dataset reviews the request
and approves all, some or none of the columns; approved columns open to the grant at once
(:func:`opdomain.lifecycle.grants.add_columns`) — masked per grade by the governed-query engine, or
unmasked only for consenting subjects where the grant requires consent (R4.2b).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opdomain.catalog.models import Dataset
from opdomain.errors import Conflict, DomainError, NotFound, PermissionDenied
from opdomain.identity.models import Organization
from opdomain.identity.service import Principal, authorize
from opdomain.lifecycle import grants, machine
from opdomain.lifecycle import messages_process as pmsg
from opdomain.lifecycle import policy_process as rules
from opdomain.lifecycle.models import Grant
from opdomain.lifecycle.models_process import Application, DataRequest
from opdomain.runtime import Runtime
from opdomain.store.db import new_id, utcnow


@dataclass(frozen=True)
class DataRequestView:
    id: str
    grant_id: str
    dataset: str
    columns: dict[str, str]
    status: str
    approved: list[str]
    requested_by: str
    requested_at: datetime
    reviewed_by: str | None
    review_note: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "grant_id": self.grant_id, "dataset": self.dataset, "columns": self.columns,
                "status": self.status, "approved": self.approved, "requested_by": self.requested_by,
                "requested_at": self.requested_at.isoformat(), "reviewed_by": self.reviewed_by,
                "review_note": self.review_note}


def _view(r: DataRequest) -> DataRequestView:
    return DataRequestView(r.id, r.grant_id, r.dataset, json.loads(r.columns), r.status, json.loads(r.approved),
                           r.requested_by, r.requested_at, r.reviewed_by, r.review_note)


def agreement_scope(s: Session, grant: Grant) -> dict[str, set[str]]:
    """dataset → columns of the data requirement lists of the grant's applications (first and renewals)."""
    scope: dict[str, set[str]] = {}
    apps = s.scalars(select(Application).where(Application.grant_id == grant.id, Application.state == "active"))
    for app in apps:
        for r in json.loads(app.requirements):
            scope.setdefault(r["dataset"], set()).update(r["columns"])
    return scope


def request_data(rt: Runtime, principal: Principal, grant_id: str, *, dataset: str,
                 columns: Mapping[str, str]) -> DataRequestView:
    authorize(rt, principal, "data_request.create", object_type="grant", object_id=grant_id)
    try:
        with rt.store.session() as s:
            g = grants._load(s, grant_id)
            if g.operator.code != principal.organization_code:
                raise PermissionDenied("grant.other_operator", pmsg.OWN_APPLICATION_ONLY)
            if g.status not in machine.OPEN_GRANT_STATES:
                raise Conflict("data_request.grant_not_open", pmsg.GRANT_NOT_OPEN.format(
                    status=g.status, status_zh=pmsg.GRANT_STATUS_ZH.get(g.status, g.status)))
            rules.check_request_in_scope(dataset, columns, agreement_scope(s, g))
            r = DataRequest(id=new_id(), grant_id=grant_id, dataset=dataset,
                            columns=json.dumps(dict(columns), ensure_ascii=False), requested_by=principal.username)
            s.add(r)
            s.flush()
            rt.audit.record(s, principal, "data_request.create", "grant", grant_id, grant_id=grant_id,
                            details={"request_id": r.id, "dataset": dataset, "columns": list(columns),
                                     "rule": "R4.2a"})
            return _view(r)
    except DomainError as exc:
        rt.audit.record_refusal(principal, "data_request.create", "grant", grant_id, reason=exc.code,
                                grant_id=grant_id, details={"dataset": dataset, "rule": exc.details.get("rule", "")})
        raise


def review_data_request(rt: Runtime, principal: Principal, request_id: str, *, approve: Sequence[str],
                        note: str = "") -> DataRequestView:
    """The dataset's own department approves ``approve`` (a subset of the request; empty = reject)."""
    authorize(rt, principal, "data_request.review", object_type="data_request", object_id=request_id)
    grant_id = None
    try:
        with rt.store.session() as s:
            r = s.get(DataRequest, request_id)
            if r is None:
                raise NotFound("data_request.not_found", pmsg.REQUEST_NOT_FOUND.format(id=request_id))
            grant_id = r.grant_id
            ds = s.scalar(select(Dataset).where(Dataset.name == r.dataset))
            dept = s.get(Organization, ds.department_id) if ds else None
            if dept is None or dept.code != principal.organization_code:
                raise PermissionDenied("data_request.other_provider", pmsg.OTHER_PROVIDER, details={"rule": "R4.2a"})
            if r.status != "pending":
                raise Conflict("data_request.decided", pmsg.REQUEST_DECIDED)
            g = grants._load(s, r.grant_id)
            if g.status not in machine.OPEN_GRANT_STATES:
                raise Conflict("data_request.grant_not_open", pmsg.GRANT_NOT_OPEN.format(
                    status=g.status, status_zh=pmsg.GRANT_STATUS_ZH.get(g.status, g.status)))
            requested = json.loads(r.columns)
            chosen = [c for c in dict.fromkeys(approve)]
            rules.check_request_in_scope(r.dataset, {c: requested.get(c, "") for c in chosen} or {"-": "-"},
                                         {r.dataset: set(requested)}) if chosen else None
            opened = grants.add_columns(rt, s, r.grant_id, r.dataset, chosen) if chosen else []
            r.status = "approved" if chosen else "rejected"
            r.approved, r.reviewed_by, r.review_note, r.reviewed_at = json.dumps(chosen), principal.username, note, \
                utcnow()
            rt.audit.record(s, principal, "data_request.review", "grant", r.grant_id, grant_id=r.grant_id,
                            details={"request_id": r.id, "dataset": r.dataset, "approved": chosen,
                                     "opened": opened, "rule": "R4.2a"})
            return _view(r)
    except DomainError as exc:
        rt.audit.record_refusal(principal, "data_request.review", "data_request", request_id, reason=exc.code,
                                grant_id=grant_id, details={"rule": exc.details.get("rule", "")})
        raise


def list_data_requests(rt: Runtime, principal: Principal, *, grant_id: str | None = None,
                       pending_only: bool = False) -> list[DataRequestView]:
    """Operator staff see their grants' requests, providers those on their own datasets, the authority all."""
    authorize(rt, principal, "data_request.read", object_type="data_request", object_id=grant_id or "*")
    with rt.store.session() as s:
        stmt = select(DataRequest)
        if grant_id:
            stmt = stmt.where(DataRequest.grant_id == grant_id)
        if pending_only:
            stmt = stmt.where(DataRequest.status == "pending")
        rows = list(s.scalars(stmt.order_by(DataRequest.requested_at.desc())))
        if principal.role in ("operator_admin", "analyst"):
            own = set(s.scalars(select(Grant.id).join(Organization, Organization.id == Grant.operator_id)
                                .where(Organization.code == principal.organization_code)))
            rows = [r for r in rows if r.grant_id in own]
        elif principal.role == "provider":
            names = set(s.scalars(select(Dataset.name).join(Organization, Organization.id == Dataset.department_id)
                                  .where(Organization.code == principal.organization_code)))
            rows = [r for r in rows if r.dataset in names]
        return [_view(r) for r in rows]
