"""Audit pages for auditors and the authority: search the hash-chained log, verify the chain.

Read-only by construction (rules 五.(一) R5.1b): the console offers no way to change a record.
Verifying is itself recorded, like the API's ``POST /api/v1/audit/verify``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from opdomain.audit.query import AuditFilter, search
from opdomain.audit.verify import VerifyResult, verify_chain
from opdomain.identity.api import runtime
from opdomain.web.console.guard import page
from opdomain.web.console.i18n import parse_local_time
from opdomain.web.console.labels import OUTCOMES
from opdomain.web.console.render import PageContext, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditSearch:
    """The search form's values, as typed (times in Beijing time, ``datetime-local``)."""

    actor: str = ""
    action: str = ""
    outcome: str = ""
    object_id: str = ""
    grant_id: str = ""
    since: str = ""
    until: str = ""

    def to_filter(self, before: int | None) -> AuditFilter:
        return AuditFilter(
            actor=self.actor.strip() or None, action=self.action.strip() or None,
            outcome=self.outcome if self.outcome in OUTCOMES else None,
            object_id=self.object_id.strip() or None, grant_id=self.grant_id.strip() or None,
            since=parse_local_time(self.since), until=parse_local_time(self.until),
            before_seq=before, limit=PAGE_SIZE)

    def query(self, **extra: Any) -> str:
        values = {k: v for k, v in self.__dict__.items() if v} | {k: v for k, v in extra.items() if v}
        return urlencode(values)


def details_of(record: Any) -> dict[str, Any]:
    try:
        value = json.loads(record.details or "{}")
    except ValueError:
        return {"raw": record.details}
    return value if isinstance(value, dict) else {"value": value}


def _audit_page(request: Request, ctx: PageContext, form: AuditSearch, before: int | None,
                verified: VerifyResult | None = None) -> Response:
    records = search(runtime(request).store, form.to_filter(before))
    older = records[-1].seq if len(records) == PAGE_SIZE else None
    return render(ctx, "audit/index.html", section="audit", form=form, records=records, before=before,
                  older=form.query(before=str(older)) if older else None, newest=form.query(),
                  verified=verified, details_of=details_of, outcomes=OUTCOMES, page_size=PAGE_SIZE)


@router.get("/audit")
def audit_index(request: Request, actor: str = "", action: str = "", outcome: str = "", object_id: str = "",
                grant_id: str = "", since: str = "", until: str = "", before: int | None = Query(None, ge=1),
                ctx: PageContext = Depends(page("audit.read"))) -> Response:
    form = AuditSearch(actor[:64], action[:64], outcome, object_id[:200], grant_id[:32], since, until)
    return _audit_page(request, ctx, form, before)


@router.post("/audit/verify")
def audit_verify(request: Request, ctx: PageContext = Depends(page("audit.verify"))) -> Response:
    rt = runtime(request)
    result = verify_chain(rt.store, rt.audit.signer.public_key())
    with rt.store.session() as s:
        rt.audit.record(s, ctx.principal, "audit.verify", "audit_log", "chain",  # type: ignore[arg-type]
                        outcome="allowed" if result.ok else "failed", reason=result.problem,
                        details={"records": result.records, "checkpoints": result.checkpoints})
    # the page shown is the audit page: the language switch comes back there, not to this POST
    return _audit_page(request, replace(ctx, here="/audit"), AuditSearch(), None, verified=result)
