"""The airlock service (出域审核): release requests, the two reviewers' votes, decisions. Every view, vote,
comment and decision is audited (rules 一.(六) R1.6b, 四.(四) R4.4a/R4.4c, 五.(一) R5.1a/R5.1b).

The analyst groups releasable outputs of a domain job into a request, giving each file's context and the
disclosure controls applied; each file is frozen by digest and checked (``check_output``) at once; a
request with a failing file cannot be submitted. Two different reviewers, neither the author nor of the
operator, vote per file without seeing each other's votes, submit their independent reviews, then see
each other's and consolidate; the request is approved (both approve every file at its current digest),
returned for changes, or rejected; the author may withdraw it. Changing a file resets its votes.
Releasing an approved request is :func:`opdomain.products.service.release_request`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from opdomain.compute.jobs import load_job
from opdomain.compute.jobs_run import read_output
from opdomain.egress import airlock_files as files
from opdomain.egress import airlock_messages as msg
from opdomain.egress import airlock_policy as rules
from opdomain.egress.airlock_models import AirlockFile, ReleaseRequest, RequestFile, Review, Vote
from opdomain.egress.airlock_policy import RequestStatus, VoteFacts
from opdomain.errors import DomainError, InvalidInput, NotFound
from opdomain.identity.models import Organization
from opdomain.identity.service import Principal, authorize
from opdomain.lifecycle.grants import get_grant, workspace_grant
from opdomain.runtime import Runtime
from opdomain.store.db import new_id, utcnow

REVIEW_ROLES = frozenset({"reviewer"})


def _load(s: Session, request_id: str) -> ReleaseRequest:
    row = s.get(ReleaseRequest, request_id)
    if row is None:
        raise NotFound("airlock.request_not_found", msg.REQUEST_NOT_FOUND.format(request_id=request_id))
    return row


def transition(rt: Runtime, s: Session, req: ReleaseRequest, target: RequestStatus, actor: Any, *,
               reason: str = "", details: Mapping[str, Any] | None = None) -> None:
    """The one way a request changes status: checked against the table, audited in the same transaction."""
    action = rules.check_transition(req.status, target)
    before = req.status
    req.status, req.updated_at = target.value, utcnow()
    rt.audit.record(s, actor, f"airlock.{action}", "release_request", req.id, grant_id=req.grant_id, reason=reason,
                    details={"from": before, "to": target.value, "round": req.round, **(details or {})})


def _refusing(rt: Runtime, principal: Principal, action: str, request_id: str, grant_id: str | None = None):  # type: ignore[no-untyped-def]
    """Context manager: audits a DomainError as a refusal of ``action`` and re-raises it."""
    from contextlib import contextmanager

    @contextmanager
    def guard():  # type: ignore[no-untyped-def]
        try:
            yield
        except DomainError as exc:
            rt.audit.record_refusal(principal, action, "release_request", request_id, reason=exc.code,
                                    grant_id=grant_id, details={"message_en": exc.message.en})
            raise

    return guard()


# -- the author ---------------------------------------------------------------------------------------------


def create_request(rt: Runtime, principal: Principal, grant_id: str, *, title: str, recipient: str,
                   product_name: str, product_type: str = "data_package") -> dict[str, Any]:
    authorize(rt, principal, "airlock.author", object_type="grant", object_id=grant_id)
    grant = workspace_grant(rt, principal, grant_id, action="airlock.create")
    with _refusing(rt, principal, "airlock.create", grant_id, grant_id):
        rules.check_product_type(product_type)
        if not title.strip() or not product_name.strip():
            raise InvalidInput("airlock.title_required", msg.CONTEXT_REQUIRED)
        with rt.store.session() as s:
            org = s.scalar(select(Organization).where(Organization.code == recipient))
            if org is None or not (org.kind == "consumer" or org.code == grant.operator_code):
                raise InvalidInput("airlock.bad_recipient", msg.BAD_RECIPIENT.format(code=recipient))
            req = ReleaseRequest(id=new_id(), grant_id=grant_id, title=title.strip()[:200], author=principal.username,
                                 recipient=recipient, product_name=product_name.strip()[:200],
                                 product_type=product_type, status=RequestStatus.DRAFT.value)
            s.add(req)
            s.flush()
            rt.audit.record(s, principal, "airlock.create", "release_request", req.id, grant_id=grant_id,
                            details={"title": req.title, "recipient": recipient, "product": req.product_name,
                                     "product_type": product_type})
            request_id = req.id
    return get_request(rt, principal, request_id, audit_view=False)


def add_file(rt: Runtime, principal: Principal, request_id: str, *, job_id: str, output: str, context: str,
             controls: str, name: str | None = None, shape: str | None = None) -> dict[str, Any]:
    """Adds (or replaces) a file: a releasable output of a succeeded domain job of the grant, frozen by
    digest and checked. A per-subject output needs a declared shape (``shape``, default: the output's
    stem) and keeps only consenting subjects' rows. Replacing a file resets its votes."""
    authorize(rt, principal, "airlock.author", object_type="release_request", object_id=request_id)
    req = _view_row(rt, request_id)
    with _refusing(rt, principal, "airlock.add_file", request_id, req["grant_id"]):
        rules.check_author(req["author"], principal.username)
        rules.check_editable(req["status"])
        rules.check_context(context, controls)
        grant = workspace_grant(rt, principal, req["grant_id"], action="airlock.add_file")
        job = load_job(rt, job_id)
        if job.grant_id != grant.id:
            raise InvalidInput("airlock.other_grant", msg.OTHER_GRANT.format(job_id=job_id))
        if job.environment != "domain" or job.status != "succeeded":
            raise InvalidInput("airlock.job_not_domain", msg.JOB_NOT_DOMAIN)
        out = job.outputs.get(output)
        if out is None:
            raise NotFound("job.output_not_found", msg.FILE_NOT_FOUND.format(name=output))
        if out["label"] != "releasable":
            raise InvalidInput("airlock.internal_output", msg.OUTPUT_NOT_RELEASABLE.format(name=output))
        kind = out["kind"]
        data = read_output(rt, job_id, output)
        derivation: dict[str, Any] = {"job": job_id, "output": output, "output_sha256": out["sha256"]}
        declared = None
        if kind == "per_subject":
            stem = shape or output.rsplit(".", 1)[0]
            declared = files.declared_shapes(rt, grant.id).get(stem)
            if declared is None:
                raise InvalidInput("airlock.undeclared_shape", msg.UNDECLARED_SHAPE.format(name=output),
                                   details={"rule": "R4.2b"})
            data, note = files.consent_filter(rt, grant, declared, data, output)
            derivation.update(note, shape=declared.name)
        frozen = files.freeze(rt, principal, grant_id=grant.id, job_id=job_id, output_name=output, data=data,
                              derivation=derivation)
        report = files.run_checks(rt, grant, data, name or output, kind, declared)
    fname = (name or output)[:200]
    with rt.store.session() as s:
        row = s.scalar(select(RequestFile).where(RequestFile.request_id == request_id, RequestFile.name == fname))
        reset = False
        if row is None:
            row = RequestFile(id=new_id(), request_id=request_id, name=fname)
            s.add(row)
        elif row.sha256 != frozen.sha256 or row.context != context or row.controls != controls:
            s.execute(delete(Vote).where(Vote.file_id == row.id))
            reset = True
        row.airlock_file_id, row.kind, row.context, row.controls = frozen.id, kind, context, controls
        row.sha256, row.report, row.outcome = frozen.sha256, json.dumps(report.to_dict(), ensure_ascii=False), \
            str(report.outcome)
        row.updated_at = utcnow()
        rt.audit.record(s, principal, "airlock.add_file", "release_request", request_id, grant_id=grant.id,
                        details={"file": fname, "sha256": frozen.sha256, "kind": kind, "checks": str(report.outcome),
                                 "codes": sorted(report.codes()), "votes_reset": reset,
                                 "derivation": derivation})
    return get_request(rt, principal, request_id, audit_view=False)


def remove_file(rt: Runtime, principal: Principal, request_id: str, name: str) -> dict[str, Any]:
    authorize(rt, principal, "airlock.author", object_type="release_request", object_id=request_id)
    req = _view_row(rt, request_id)
    with _refusing(rt, principal, "airlock.remove_file", request_id, req["grant_id"]):
        rules.check_author(req["author"], principal.username)
        rules.check_editable(req["status"])
        with rt.store.session() as s:
            row = s.scalar(select(RequestFile).where(RequestFile.request_id == request_id, RequestFile.name == name))
            if row is None:
                raise NotFound("airlock.file_not_found", msg.FILE_NOT_FOUND.format(name=name))
            s.execute(delete(Vote).where(Vote.file_id == row.id))
            s.delete(row)
            rt.audit.record(s, principal, "airlock.remove_file", "release_request", request_id,
                            grant_id=req["grant_id"], details={"file": name})
    return get_request(rt, principal, request_id, audit_view=False)


def submit_request(rt: Runtime, principal: Principal, request_id: str) -> dict[str, Any]:
    """draft → submitted, or returned → submitted (a new review round). Refused while a file fails the
    automated checks."""
    authorize(rt, principal, "airlock.author", object_type="release_request", object_id=request_id)
    req = _view_row(rt, request_id)
    with _refusing(rt, principal, "airlock.submit", request_id, req["grant_id"]):
        rules.check_author(req["author"], principal.username)
        with rt.store.session() as s:
            row = _load(s, request_id)
            rows = list(s.scalars(select(RequestFile).where(RequestFile.request_id == request_id)))
            if not rows:
                raise InvalidInput("airlock.no_files", msg.NO_FILES)
            for f in rows:
                if f.outcome == "fail":
                    codes = [x["code"] for x in json.loads(f.report)["findings"] if x["outcome"] == "fail"]
                    raise InvalidInput("airlock.checks_failed", msg.CHECKS_FAILED.format(name=f.name,
                                                                                         codes=", ".join(codes)),
                                       details={"file": f.name, "codes": codes})
            if row.status == RequestStatus.RETURNED.value:
                row.round += 1
            transition(rt, s, row, RequestStatus.SUBMITTED, principal,
                       details={"files": {f.name: f.sha256 for f in rows}})
    return get_request(rt, principal, request_id, audit_view=False)


def withdraw_request(rt: Runtime, principal: Principal, request_id: str, *, reason: str = "") -> dict[str, Any]:
    authorize(rt, principal, "airlock.author", object_type="release_request", object_id=request_id)
    req = _view_row(rt, request_id)
    with _refusing(rt, principal, "airlock.withdraw", request_id, req["grant_id"]):
        rules.check_author(req["author"], principal.username)
        with rt.store.session() as s:
            transition(rt, s, _load(s, request_id), RequestStatus.WITHDRAWN, principal, reason=reason)
    return get_request(rt, principal, request_id, audit_view=False)


# -- the reviewers ------------------------------------------------------------------------------------------


def _reviews(s: Session, req: ReleaseRequest) -> dict[str, bool]:
    rows = s.scalars(select(Review).where(Review.request_id == req.id, Review.round == req.round))
    return {r.reviewer: r.submitted for r in rows}


def _check_reviewer(rt: Runtime, s: Session, req: ReleaseRequest, principal: Principal) -> None:
    rules.check_can_review(reviewer=principal.username, reviewer_org=principal.organization_code, author=req.author,
                           operator=_operator_of(s, req.grant_id))
    rules.check_reviewer_slot(_reviews(s, req), principal.username)


def _operator_of(s: Session, grant_id: str) -> str:
    from opdomain.lifecycle.models import Grant

    return str(s.scalar(select(Organization.code).join(Grant, Grant.operator_id == Organization.id)
                        .where(Grant.id == grant_id)))


def _join_review(rt: Runtime, s: Session, req: ReleaseRequest, principal: Principal) -> Review:
    _check_reviewer(rt, s, req, principal)
    if req.status == RequestStatus.SUBMITTED.value:
        transition(rt, s, req, RequestStatus.IN_REVIEW, principal)
    elif req.status != RequestStatus.IN_REVIEW.value:
        rules.check_transition(req.status, RequestStatus.IN_REVIEW)
    review = s.scalar(select(Review).where(Review.request_id == req.id, Review.round == req.round,
                                           Review.reviewer == principal.username))
    if review is None:
        review = Review(request_id=req.id, round=req.round, reviewer=principal.username)
        s.add(review)
        s.flush()
    return review


def vote(rt: Runtime, principal: Principal, request_id: str, file_name: str, vote_: str, *,
         comment: str = "") -> dict[str, Any]:
    """A reviewer's vote on one file, bound to the file's current digest. Before both reviews are
    submitted it is independent; after, a reviewer may change it while consolidating."""
    authorize(rt, principal, "airlock.review", object_type="release_request", object_id=request_id)
    req0 = _view_row(rt, request_id)
    with _refusing(rt, principal, "airlock.vote", request_id, req0["grant_id"]):
        rules.check_vote(vote_)
        with rt.store.session() as s:
            req = _load(s, request_id)
            review = _join_review(rt, s, req, principal)
            submitted = _reviews(s, req)
            if review.submitted and not rules.can_see_other_votes(submitted):
                raise InvalidInput("airlock.review_submitted", msg.REVIEW_ALREADY_SUBMITTED)
            f = s.scalar(select(RequestFile).where(RequestFile.request_id == request_id,
                                                   RequestFile.name == file_name))
            if f is None:
                raise NotFound("airlock.file_not_found", msg.FILE_NOT_FOUND.format(name=file_name))
            row = s.scalar(select(Vote).where(Vote.file_id == f.id, Vote.reviewer == principal.username))
            if row is None:
                row = Vote(request_id=request_id, file_id=f.id, reviewer=principal.username, round=req.round,
                           vote=vote_, sha256=f.sha256)
                s.add(row)
            row.vote, row.comment, row.sha256, row.round, row.at = vote_, comment, f.sha256, req.round, utcnow()
            rt.audit.record(s, principal, "airlock.vote", "release_request", request_id, grant_id=req.grant_id,
                            details={"file": file_name, "vote": vote_, "sha256": f.sha256, "round": req.round,
                                     "comment": comment[:2000],
                                     "phase": "consolidation" if rules.can_see_other_votes(submitted)
                                     else "independent"})
    return get_request(rt, principal, request_id, audit_view=False)


def submit_review(rt: Runtime, principal: Principal, request_id: str) -> dict[str, Any]:
    """Ends a reviewer's independent review of this round (every file voted)."""
    authorize(rt, principal, "airlock.review", object_type="release_request", object_id=request_id)
    req0 = _view_row(rt, request_id)
    with _refusing(rt, principal, "airlock.submit_review", request_id, req0["grant_id"]), rt.store.session() as s:
        req = _load(s, request_id)
        review = _join_review(rt, s, req, principal)
        if review.submitted:
            raise InvalidInput("airlock.review_submitted", msg.REVIEW_ALREADY_SUBMITTED)
        names = {f.id: f.name for f in s.scalars(select(RequestFile).where(RequestFile.request_id == request_id))}
        voted = {v.file_id for v in s.scalars(select(Vote).where(Vote.request_id == request_id,
                                                                 Vote.reviewer == principal.username))}
        missing = sorted(n for i, n in names.items() if i not in voted)
        if missing:
            raise InvalidInput("airlock.review_incomplete", msg.REVIEW_INCOMPLETE.format(missing=", ".join(missing)))
        review.submitted, review.submitted_at = True, utcnow()
        rt.audit.record(s, principal, "airlock.submit_review", "release_request", request_id,
                        grant_id=req.grant_id, details={"round": req.round})
    return get_request(rt, principal, request_id, audit_view=False)


def decide(rt: Runtime, principal: Principal, request_id: str, decision: str, *, reason: str = "") -> dict[str, Any]:
    """approve | return | reject, by a reviewer of the round once both independent reviews are in."""
    authorize(rt, principal, "airlock.review", object_type="release_request", object_id=request_id)
    req0 = _view_row(rt, request_id)
    with _refusing(rt, principal, f"airlock.{decision}"[:64], request_id, req0["grant_id"]):
        rules.check_decision(decision, reason)
        with rt.store.session() as s:
            req = _load(s, request_id)
            _check_reviewer(rt, s, req, principal)
            submitted = _reviews(s, req)
            if principal.username not in submitted or not rules.can_see_other_votes(submitted):
                raise InvalidInput("airlock.not_consolidating", msg.NOT_CONSOLIDATING)
            rows = list(s.scalars(select(RequestFile).where(RequestFile.request_id == request_id)))
            votes: dict[str, list[VoteFacts]] = {}
            by_id = {f.id: f.name for f in rows}
            for v in s.scalars(select(Vote).where(Vote.request_id == request_id)):
                votes.setdefault(by_id.get(v.file_id, ""), []).append(VoteFacts(v.reviewer, v.vote, v.sha256))
            if decision == "approve":
                problems = rules.approval_problems({f.name: f.sha256 for f in rows}, votes, submitted)
                if problems:
                    raise InvalidInput("airlock.approval_incomplete",
                                       msg.APPROVAL_INCOMPLETE.format(problems=", ".join(problems)))
            target = {"approve": RequestStatus.APPROVED, "return": RequestStatus.RETURNED,
                      "reject": RequestStatus.REJECTED}[decision]
            req.decision_reason = reason
            transition(rt, s, req, target, principal, reason=reason[:500],
                       details={"reviewers": sorted(submitted), "files": {f.name: f.sha256 for f in rows}})
    return get_request(rt, principal, request_id, audit_view=False)


# -- reading ------------------------------------------------------------------------------------------------


def _view_row(rt: Runtime, request_id: str) -> dict[str, Any]:
    with rt.store.session() as s:
        r = _load(s, request_id)
        return {"id": r.id, "grant_id": r.grant_id, "author": r.author, "status": r.status, "round": r.round}


@dataclass(frozen=True)
class _Visibility:
    votes_of: str | None  # only this reviewer's votes (None: all)


def get_request(rt: Runtime, principal: Principal, request_id: str, *, audit_view: bool = True) -> dict[str, Any]:
    """A request with its files and automated findings. A reviewer sees only their own votes until both
    independent reviews are submitted; the author sees votes once a decision is made. Views are audited."""
    authorize(rt, principal, "airlock.read", object_type="release_request", object_id=request_id)
    row = _view_row(rt, request_id)
    if principal.role not in REVIEW_ROLES:
        get_grant(rt, principal, row["grant_id"])  # operator staff: only their own grants' requests
    with rt.store.session() as s:
        req = _load(s, request_id)
        submitted = _reviews(s, req)
        decided = req.status in {"returned", "approved", "released", "rejected"}
        see_all = rules.can_see_other_votes(submitted) or (decided and principal.role not in REVIEW_ROLES) \
            or principal.role in {"authority_admin", "auditor"} and decided
        mine_only = principal.username if principal.role in REVIEW_ROLES and not see_all else None
        file_rows = list(s.scalars(select(RequestFile).where(RequestFile.request_id == request_id)
                                   .order_by(RequestFile.name)))
        vote_rows = list(s.scalars(select(Vote).where(Vote.request_id == request_id)))
        frozen = {f.id: s.get(AirlockFile, f.airlock_file_id) for f in file_rows}
        out_files = []
        for f in file_rows:
            report = json.loads(f.report)
            vs = [v for v in vote_rows if v.file_id == f.id and (see_all or v.reviewer == mine_only)]
            af = frozen[f.id]
            out_files.append({
                "name": f.name, "kind": f.kind, "context": f.context, "controls": f.controls, "sha256": f.sha256,
                "outcome": f.outcome, "findings": report["findings"], "summaries": report["summaries"],
                "rows": report["rows"], "columns": report["columns"], "size": report["size"],
                "job_id": af.job_id if af else None, "output": af.output_name if af else None,
                "derivation": json.loads(af.derivation) if af else {},
                "votes": [{"reviewer": v.reviewer, "vote": v.vote, "comment": v.comment, "sha256": v.sha256,
                           "current": v.sha256 == f.sha256, "at": v.at.isoformat()} for v in vs],
            })
        result: dict[str, Any] = {"id": req.id, "grant_id": req.grant_id, "title": req.title, "author": req.author,
                  "recipient": req.recipient, "product_name": req.product_name, "product_type": req.product_type,
                  "status": req.status, "round": req.round, "decision_reason": req.decision_reason,
                  "release_id": req.release_id, "created_at": req.created_at.isoformat(),
                  "updated_at": req.updated_at.isoformat(),
                  "reviews": [{"reviewer": r, "submitted": done} for r, done in sorted(submitted.items())],
                  "votes_visible": "all" if see_all else ("own" if mine_only else "none"),
                  "files": out_files}
        if audit_view:
            rt.audit.record(s, principal, "airlock.view", "release_request", request_id, grant_id=req.grant_id,
                            details={"status": req.status, "votes_visible": result["votes_visible"]})
    if not see_all and not mine_only:
        for f in result["files"]:
            f["votes"] = []
    return result


def list_requests(rt: Runtime, principal: Principal, *, grant_id: str | None = None,
                  status: str | None = None) -> list[dict[str, Any]]:
    """Requests the caller may see: reviewers and the authority all that were submitted; operator staff
    their own operator's."""
    authorize(rt, principal, "airlock.read", object_type="release_request", object_id=grant_id or "*")
    from opdomain.lifecycle.models import Grant

    with rt.store.session() as s:
        stmt = select(ReleaseRequest, Organization.code).join(Grant, Grant.id == ReleaseRequest.grant_id) \
            .join(Organization, Organization.id == Grant.operator_id)
        if grant_id:
            stmt = stmt.where(ReleaseRequest.grant_id == grant_id)
        if status:
            stmt = stmt.where(ReleaseRequest.status == status)
        if principal.organization_kind == "operator":
            stmt = stmt.where(Organization.code == principal.organization_code)
        elif principal.role not in {"authority_admin", "auditor", "reviewer"}:
            return []
        else:
            stmt = stmt.where(ReleaseRequest.status != RequestStatus.DRAFT.value)
        rows = s.execute(stmt.order_by(ReleaseRequest.updated_at.desc()).limit(500)).all()
        return [{"id": r.id, "grant_id": r.grant_id, "title": r.title, "author": r.author, "operator": op,
                 "recipient": r.recipient, "status": r.status, "round": r.round, "release_id": r.release_id,
                 "updated_at": r.updated_at.isoformat()} for r, op in rows]
