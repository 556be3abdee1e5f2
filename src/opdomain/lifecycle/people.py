"""Safe people (安全人员, rules 四.(一) R4.1 and 四.(四) R4.4b): real-name verification, the training exam
(the authority keeps the question bank), the confidentiality agreement, and leaving the operator.

The records live in ``staff_records`` (one row per user); the workspace check reads them on every access
(:func:`opdomain.lifecycle.grants.staff_facts`), so access ends the moment one lapses. Experts carry their
``affiliation`` here (conflicts of interest, R3.4).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opdomain.audit.log import ActorLike
from opdomain.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from opdomain.identity.models import User
from opdomain.identity.service import Principal, authorize
from opdomain.lifecycle import grants, policy
from opdomain.lifecycle import messages_process as pmsg
from opdomain.lifecycle import policy_process as rules
from opdomain.lifecycle.models_process import ExamAttempt, ExamQuestion, StaffRecord
from opdomain.runtime import Runtime
from opdomain.store.db import utcnow

EXAM_SIZE = 5


def _user(s: Session, username: str) -> User:
    user = s.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound("user.not_found", pmsg.USER_NOT_FOUND.format(username=username))
    return user


def _record(s: Session, user: User) -> StaffRecord:
    rec = s.get(StaffRecord, user.id)
    if rec is None:
        rec = StaffRecord(user_id=user.id)
        s.add(rec)
    rec.updated_at = utcnow()
    return rec


def _act(rt: Runtime, principal: ActorLike, permission: str | None, action: str, username: str, work: Any) -> Any:
    if permission is not None and isinstance(principal, Principal):
        authorize(rt, principal, permission, object_type="user", object_id=username)
    try:
        with rt.store.session() as s:
            user = _user(s, username)
            if (principal.role == "operator_admin"
                    and user.organization.code != principal.organization_code):
                raise PermissionDenied("staff.other_operator", pmsg.OWN_APPLICATION_ONLY)
            details = work(s, user, _record(s, user))
            rt.audit.record(s, principal, action, "user", username, details=details)
            return details
    except DomainError as exc:
        rt.audit.record_refusal(principal, action, "user", username, reason=exc.code,
                                details={"rule": exc.details.get("rule", "")})
        raise


def verify_real_name(rt: Runtime, principal: ActorLike, username: str) -> dict[str, Any]:
    """实名认证 (R4.4b): the authority confirms the person's identity (resident ID checked at creation)."""
    def work(s: Session, user: User, rec: StaffRecord) -> dict[str, Any]:
        rec.real_name_verified_at, rec.real_name_verified_by = utcnow(), principal.username
        return {"rule": "R4.4b"}

    return _act(rt, principal, "user.manage", "staff.verify_real_name", username, work)


def record_departure(rt: Runtime, principal: ActorLike, username: str) -> dict[str, Any]:
    """The person leaves the operator: access ends now (R4.4b)."""
    def work(s: Session, user: User, rec: StaffRecord) -> dict[str, Any]:
        rec.left_at = utcnow()
        return {"rule": "R4.4b"}

    return _act(rt, principal, "staff.manage", "staff.leave", username, work)


def set_affiliation(rt: Runtime, principal: ActorLike, username: str, organization_code: str) -> dict[str, Any]:
    """An expert's employer, declared to the authority (conflicts of interest, R3.4)."""
    def work(s: Session, user: User, rec: StaffRecord) -> dict[str, Any]:
        rec.affiliation = organization_code or None
        return {"affiliation": organization_code, "rule": "R3.4"}

    return _act(rt, principal, "user.manage", "staff.affiliation", username, work)


def add_question(rt: Runtime, principal: ActorLike, *, text: str, choices: Sequence[str], answer: int) -> int:
    """The authority maintains the exam's question bank (R4.1)."""
    if isinstance(principal, Principal):
        authorize(rt, principal, "exam.manage", object_type="exam", object_id="*")
    if not text.strip() or len(choices) < 2 or not 0 <= answer < len(choices):
        raise InvalidInput("exam.bad_question", pmsg.BAD_QUESTION)
    with rt.store.session() as s:
        q = ExamQuestion(text=text, choices=json.dumps(list(choices), ensure_ascii=False), answer=answer,
                         created_by=principal.username)
        s.add(q)
        s.flush()
        rt.audit.record(s, principal, "exam.add_question", "exam", str(q.id), details={"rule": "R4.1"})
        return q.id


def exam_paper(rt: Runtime, principal: Principal, *, seed: int | None = None) -> list[dict[str, Any]]:
    """A paper of up to ``EXAM_SIZE`` questions from the bank, without the answers."""
    authorize(rt, principal, "exam.take", object_type="exam", object_id=principal.username)
    with rt.store.session() as s:
        qs = list(s.scalars(select(ExamQuestion).where(ExamQuestion.active.is_(True)).order_by(ExamQuestion.id)))
    if not qs:
        raise InvalidInput("exam.no_questions", pmsg.NO_QUESTIONS)
    picked = random.Random(seed).sample(qs, min(EXAM_SIZE, len(qs)))
    return [{"id": q.id, "text": q.text, "choices": json.loads(q.choices)} for q in picked]


def take_exam(rt: Runtime, principal: Principal, answers: Mapping[int, int], *,
              valid_until: date | None = None) -> dict[str, Any]:
    """Scores the answers (question id → choice); ≥ the pass mark records the pass (R4.1). A failed
    attempt is recorded too, and refused."""
    authorize(rt, principal, "exam.take", object_type="exam", object_id=principal.username)
    with rt.store.session() as s:
        if not answers:
            raise InvalidInput("exam.bad_answers", pmsg.BAD_ANSWERS)
        qs = {q.id: q for q in s.scalars(select(ExamQuestion).where(ExamQuestion.id.in_(list(answers))))}
        if len(qs) != len(answers):
            raise InvalidInput("exam.bad_answers", pmsg.BAD_ANSWERS)
        right = sum(1 for qid, a in answers.items() if qs[qid].answer == a)
        score = round(100 * right / len(answers))
        passed = score >= rules.EXAM_PASS_MARK
        user = _user(s, principal.username)
        attempt = ExamAttempt(user_id=user.id, answers=json.dumps({str(k): v for k, v in answers.items()}),
                              score=score, passed=passed)
        s.add(attempt)
        s.flush()
        if passed:
            rec = _record(s, user)
            rec.exam_passed_at, rec.exam_score, rec.exam_attempt_id = utcnow(), score, attempt.id
            rec.exam_valid_until = valid_until
        rt.audit.record(s, principal, "exam.take", "user", principal.username, outcome="allowed" if passed else
                        "refused", reason="" if passed else "exam.failed",
                        details={"score": score, "passed": passed, "questions": len(answers), "rule": "R4.1"})
    if not passed:
        raise DomainError("exam.failed", pmsg.EXAM_FAILED.format(score=score, pass_mark=rules.EXAM_PASS_MARK),
                          status=422, details={"rule": "R4.1", "score": score})
    return {"score": score, "passed": True}


def sign_confidentiality(rt: Runtime, principal: Principal, *, document: str) -> dict[str, Any]:
    """保密协议 (R4.4b): the person signs the agreement's text; its SHA-256 is kept."""
    authorize(rt, principal, "confidentiality.sign", object_type="user", object_id=principal.username)
    if not document.strip():
        raise InvalidInput("confidentiality.empty", pmsg.PLAN_INCOMPLETE)
    digest = hashlib.sha256(document.encode()).hexdigest()

    def work(s: Session, user: User, rec: StaffRecord) -> dict[str, Any]:
        rec.confidentiality_signed_at, rec.confidentiality_sha256 = utcnow(), digest
        return {"sha256": digest, "rule": "R4.4b"}

    return _act(rt, principal, None, "staff.sign_confidentiality", principal.username, work)


def staff_status(rt: Runtime, principal: Principal, username: str, *, today: date | None = None) -> dict[str, Any]:
    """One person's safe-people record and whether the workspace would open for them."""
    if username != principal.username:
        authorize(rt, principal, "staff.read", object_type="user", object_id=username)
    today = today or date.today()
    with rt.store.session() as s:
        user = _user(s, username)
        if principal.role == "operator_admin" and user.organization.code != principal.organization_code:
            raise PermissionDenied("staff.other_operator", pmsg.OWN_APPLICATION_ONLY)
        facts = grants.staff_facts(s, user.organization_id)[username]
    try:
        policy.check_safe_person(facts, today)
        problem = None
    except DomainError as exc:
        problem = {"code": exc.code, "message": exc.message.zh, "message_en": exc.message.en}
    return {"username": username, "real_name_verified_on": _iso(facts.real_name_verified_on),
            "exam_passed_on": _iso(facts.exam_passed_on), "exam_score": facts.exam_score,
            "exam_valid_until": _iso(facts.exam_valid_until),
            "confidentiality_signed_on": _iso(facts.confidentiality_signed_on),
            "confidentiality_sha256": facts.confidentiality_digest, "left_on": _iso(facts.left_on),
            "cleared": problem is None, "problem": problem}


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def bootstrap_cleared(rt: Runtime, actor: ActorLike, username: str, *, score: int = 100) -> None:
    """Test and demo fixtures only: records a person as verified, examined and bound by confidentiality
    without sitting the exam (audited as ``staff.bootstrap``)."""
    with rt.store.session() as s:
        user = _user(s, username)
        rec = _record(s, user)
        now = utcnow()
        rec.real_name_verified_at, rec.real_name_verified_by = now, actor.username
        rec.exam_passed_at, rec.exam_score = now, score
        rec.confidentiality_signed_at = now
        rec.confidentiality_sha256 = hashlib.sha256(b"bootstrap").hexdigest()
        rt.audit.record(s, actor, "staff.bootstrap", "user", username, details={"rule": "R4.1/R4.4b"})
