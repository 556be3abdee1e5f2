"""HTTP API of the audit log, for auditors and the authority (read and verify only).

Lives in ``web`` because the audit slice sits below identity and must not import its guard.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from opdomain.audit.query import AuditFilter, search
from opdomain.audit.verify import verify_chain
from opdomain.identity.api import require, runtime
from opdomain.identity.service import Principal

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


def record_dict(r: Any) -> dict[str, Any]:
    import json

    return {
        "seq": r.seq,
        "at": r.at.isoformat(),
        "actor": r.actor,
        "role": r.role,
        "organization": r.organization,
        "action": r.action,
        "object_type": r.object_type,
        "object_id": r.object_id,
        "grant_id": r.grant_id,
        "outcome": r.outcome,
        "reason": r.reason,
        "request_id": r.request_id,
        "details": json.loads(r.details or "{}"),
        "hash": r.hash,
    }


@router.get("/records")
def records(
    request: Request,
    actor: str | None = None,
    action: str | None = None,
    outcome: str | None = Query(default=None, pattern="^(allowed|refused|failed)$"),
    grant_id: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_seq: int | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
    principal: Principal = Depends(require("audit.read")),
) -> dict[str, Any]:
    f = AuditFilter(
        actor=actor,
        action=action,
        outcome=outcome,
        grant_id=grant_id,
        object_id=object_id,
        since=since,
        until=until,
        before_seq=before_seq,
        limit=limit,
    )
    rows = search(runtime(request).store, f)
    return {"records": [record_dict(r) for r in rows], "next_before_seq": rows[-1].seq if len(rows) == limit else None}


@router.post("/verify")
def verify(request: Request, principal: Principal = Depends(require("audit.verify"))) -> dict[str, Any]:
    rt = runtime(request)
    result = verify_chain(rt.store, rt.audit.signer.public_key())
    with rt.store.session() as s:
        rt.audit.record(
            s,
            principal,
            "audit.verify",
            "audit_log",
            "chain",
            outcome="allowed" if result.ok else "failed",
            reason=result.problem,
            details={"records": result.records, "checkpoints": result.checkpoints},
        )
    return {
        "ok": result.ok,
        "records": result.records,
        "checkpoints": result.checkpoints,
        "first_bad_seq": result.first_bad_seq,
        "problem": result.problem,
    }
