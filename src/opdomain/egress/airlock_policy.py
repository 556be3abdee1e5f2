"""Pure rules of the airlock (出域审核): the release request's state machine as data and the two-reviewer
rules. ``check_*`` raise, ``can_*`` return a bool; no I/O (STYLE).

Rules 一.(六) R1.6b (a legality/compliance review before a product is provided), 四.(四) R4.4a (nothing
restorable leaves), 五.(一) R5.1a (egress review), SPEC §6 (two different reviewers). A request needs two
different reviewers, neither from the operator nor its author; each votes per file without seeing the
other's votes; when both submitted their independent reviews they see each other's and consolidate; an
approval is bound to the digest of exactly what was approved.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from opdomain.egress import airlock_messages as msg
from opdomain.errors import Conflict, InvalidInput, PermissionDenied

VOTES = ("approve", "changes")
DECISIONS = ("approve", "return", "reject")
PRODUCT_TYPES = ("data_package", "data_model", "data_interface", "data_service", "data_report", "business_service")
REVIEWERS_NEEDED = 2


class RequestStatus(StrEnum):
    DRAFT = "draft"  # 草稿
    SUBMITTED = "submitted"  # 已提交
    IN_REVIEW = "in_review"  # 审核中
    RETURNED = "returned"  # 退回修改
    APPROVED = "approved"  # 已批准
    RELEASED = "released"  # 已发布
    REJECTED = "rejected"  # 已驳回
    WITHDRAWN = "withdrawn"  # 已撤回


S = RequestStatus
#: (from, to) → (action, 中文). One function per transition in ``egress.airlock``; audit action ``airlock.<action>``
TRANSITIONS: dict[tuple[RequestStatus, RequestStatus], tuple[str, str]] = {
    (S.DRAFT, S.SUBMITTED): ("submit", "提交"),
    (S.RETURNED, S.SUBMITTED): ("resubmit", "重新提交"),
    (S.SUBMITTED, S.IN_REVIEW): ("start_review", "开始审核"),
    (S.IN_REVIEW, S.RETURNED): ("return", "退回"),
    (S.IN_REVIEW, S.APPROVED): ("approve", "批准"),
    (S.IN_REVIEW, S.REJECTED): ("reject", "驳回"),
    (S.APPROVED, S.RELEASED): ("release", "发布"),
    (S.DRAFT, S.WITHDRAWN): ("withdraw", "撤回"),
    (S.SUBMITTED, S.WITHDRAWN): ("withdraw", "撤回"),
    (S.IN_REVIEW, S.WITHDRAWN): ("withdraw", "撤回"),
    (S.RETURNED, S.WITHDRAWN): ("withdraw", "撤回"),
}
EDITABLE = frozenset({S.DRAFT, S.RETURNED})
FINAL = frozenset({S.RELEASED, S.REJECTED, S.WITHDRAWN})


def check_transition(current: str, target: RequestStatus) -> str:
    key = (RequestStatus(current), target)
    if key not in TRANSITIONS:
        zh = next((z for (_, t), (_, z) in TRANSITIONS.items() if t is target), target.value)
        raise Conflict("airlock.bad_transition", msg.BAD_TRANSITION.format(current=current, action=target.value,
                                                                           action_zh=zh))
    return TRANSITIONS[key][0]


def can_transition(current: str, target: RequestStatus) -> bool:
    return (RequestStatus(current), target) in TRANSITIONS


def mermaid() -> str:
    """The release request's state machine as a mermaid diagram, generated from :data:`TRANSITIONS`."""
    lines = ["stateDiagram-v2", f"  [*] --> {S.DRAFT.value}"]
    lines += [f"  {a.value} --> {b.value}: {name}" for (a, b), (name, _) in TRANSITIONS.items()]
    lines += [f"  {s.value} --> [*]" for s in RequestStatus if s in FINAL]
    return "\n".join(lines)


def check_editable(current: str) -> None:
    if RequestStatus(current) not in EDITABLE:
        raise Conflict("airlock.not_editable", msg.BAD_TRANSITION.format(current=current, action="changed",
                                                                         action_zh="修改"))


def check_author(author: str, username: str) -> None:
    if author != username:
        raise PermissionDenied("airlock.not_author", msg.NOT_AUTHOR)


def check_can_review(*, reviewer: str, reviewer_org: str, author: str, operator: str) -> None:
    """Neither the author nor anyone of the operator reviews (SPEC §6, R1.6b)."""
    if reviewer == author:
        raise PermissionDenied("airlock.own_request", msg.OWN_REQUEST)
    if reviewer_org == operator:
        raise PermissionDenied("airlock.operator_reviewer", msg.OPERATOR_REVIEWER.format(operator=operator))


def check_reviewer_slot(reviewers: Iterable[str], me: str) -> None:
    current = sorted(set(reviewers))
    if me not in current and len(current) >= REVIEWERS_NEEDED:
        raise Conflict("airlock.reviewers_full", msg.THIRD_REVIEWER.format(reviewers=", ".join(current)))


def check_vote(vote: str) -> None:
    if vote not in VOTES:
        raise InvalidInput("airlock.bad_vote", msg.BAD_VOTE)


def check_context(context: str, controls: str) -> None:
    if not (context or "").strip() or not (controls or "").strip():
        raise InvalidInput("airlock.context_required", msg.CONTEXT_REQUIRED)


@dataclass(frozen=True)
class VoteFacts:
    reviewer: str
    vote: str
    sha256: str


def can_see_other_votes(submitted: Mapping[str, bool]) -> bool:
    """Both reviewers submitted their independent reviews: each now sees the other's votes."""
    return len(submitted) >= REVIEWERS_NEEDED and all(submitted.values())


def approval_problems(files: Mapping[str, str], votes: Mapping[str, list[VoteFacts]],
                      submitted: Mapping[str, bool]) -> list[str]:
    """Why a request cannot be approved yet (empty when it can): two distinct reviewers, both reviews
    submitted, and both approving every file at the file's current digest (``files``: name → sha256)."""
    problems = []
    if not can_see_other_votes(submitted):
        problems.append("two independent reviews")
    reviewers = {r for r, done in submitted.items() if done}
    for name, sha in files.items():
        approving = {v.reviewer for v in votes.get(name, []) if v.vote == "approve" and v.sha256 == sha}
        if len(approving & reviewers) < REVIEWERS_NEEDED:
            problems.append(name)
    return problems


def check_decision(decision: str, reason: str) -> None:
    if decision not in DECISIONS:
        raise InvalidInput("airlock.bad_decision", msg.BAD_DECISION)
    if decision != "approve" and not (reason or "").strip():
        raise InvalidInput("airlock.reason_required", msg.REASON_REQUIRED)


def check_product_type(value: str) -> None:
    if value not in PRODUCT_TYPES:
        raise InvalidInput("airlock.bad_product_type", msg.BAD_PRODUCT_TYPE.format(value=value))
