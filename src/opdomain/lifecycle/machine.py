"""The two state machines of the authorization lifecycle, as data (SPEC §3; rules 三 授权程序).

One table per machine: :data:`APPLICATION_TRANSITIONS` (the nine steps, 发布公告 … 协议签订 → active) and
:data:`GRANT_TRANSITIONS` (a grant's life after activation, 授权终止 and 销毁). Each row names the
transition, the states it leaves from, the state it reaches, the permission of the actor and the article
of the rules it implements. The services (``applications.py``, ``ending.py``) call exactly one function per
row, which checks :func:`check_application_transition` / :func:`check_grant_transition` first. The mermaid
diagrams of docs/lifecycle.md are generated from these same tables (:func:`mermaid`), and a test keeps
the docs in step.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from opdomain.errors import Conflict
from opdomain.lifecycle import messages_process as pmsg


class ApplicationState(StrEnum):
    """State of an application (授权申请)."""

    DRAFT = "draft"  # 草稿: under an open announcement, being prepared
    APPLIED = "applied"  # 已提交申请 (三.(二))
    PRE_REVIEW = "pre_review"  # 材料预审中 (三.(三))
    MATERIALS_REQUESTED = "materials_requested"  # 一次性告知补正 (三.(三))
    EXPERT_REVIEW = "expert_review"  # 专家审查 (三.(四))
    FINAL_REVIEW = "final_review"  # 终审 (三.(五))
    PUBLICITY = "publicity"  # 社会公开 (三.(六))
    FILED = "filed"  # 已备案 (三.(七))
    AGREEMENT_SIGNED = "agreement_signed"  # 已签订协议 (三.(八))
    ACTIVE = "active"  # 已生效: the grant exists
    REJECTED = "rejected"  # 未通过
    WITHDRAWN = "withdrawn"  # 已撤回


class GrantStatus(StrEnum):
    """Status of a grant (授权状态), SPEC §3."""

    ACTIVE = "active"  # 有效: the workspace is open within the term
    SUSPENDED = "suspended"  # 暂停: access closed for now (e.g. rectification, R6.8)
    SEALED = "sealed"  # 封存: workspace frozen, data kept
    RENEWING = "renewing"  # 续期中: a renewal application runs; the workspace stays open
    EXPIRED = "expired"  # 到期
    CANCELLED = "cancelled"  # 提前注销 (R3.9c)
    REVOKED = "revoked"  # 撤销
    DESTROYED = "destroyed"  # 已销毁: data gone (crypto-shredding), records kept


A = ApplicationState
G = GrantStatus


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[str]
    target: str
    #: the permission (identity.roles.PERMISSIONS) of whoever performs it; "system" for the scheduler
    permission: str
    rule: str
    zh: str

    def label(self) -> str:
        return f"{self.name} ({self.rule})"


def _t(name: str, sources: Iterable[StrEnum], target: StrEnum, permission: str, rule: str, zh: str) -> Transition:
    return Transition(name, frozenset(s.value for s in sources), target.value, permission, rule, zh)


_BEFORE_AGREEMENT = {A.DRAFT, A.APPLIED, A.PRE_REVIEW, A.MATERIALS_REQUESTED, A.EXPERT_REVIEW, A.FINAL_REVIEW,
                     A.PUBLICITY, A.FILED}

APPLICATION_TRANSITIONS: tuple[Transition, ...] = (
    _t("submit", {A.DRAFT}, A.APPLIED, "application.apply", "R3.2", "提交申请"),
    _t("begin_pre_review", {A.APPLIED}, A.PRE_REVIEW, "application.review", "R3.3", "开始材料预审"),
    _t("request_materials", {A.PRE_REVIEW}, A.MATERIALS_REQUESTED, "application.review", "R3.3", "一次性告知补正"),
    _t("resubmit", {A.MATERIALS_REQUESTED}, A.PRE_REVIEW, "application.apply", "R3.3", "补交材料"),
    _t("pass_pre_review", {A.PRE_REVIEW}, A.EXPERT_REVIEW, "application.review", "R3.3", "预审通过，组织专家审查"),
    _t("conclude_expert_review", {A.EXPERT_REVIEW}, A.FINAL_REVIEW, "application.review", "R3.4", "专家审查结束"),
    _t("approve", {A.FINAL_REVIEW}, A.PUBLICITY, "application.review", "R3.5", "终审通过，社会公开"),
    _t("file", {A.PUBLICITY}, A.FILED, "application.review", "R3.7", "报上级政府备案"),
    _t("sign_agreement", {A.FILED}, A.AGREEMENT_SIGNED, "agreement.seal", "R3.8", "签订协议并加盖合同专用章"),
    _t("activate", {A.AGREEMENT_SIGNED}, A.ACTIVE, "application.review", "R6.2b", "授权生效"),
    _t("reject", {A.PRE_REVIEW, A.MATERIALS_REQUESTED, A.EXPERT_REVIEW, A.FINAL_REVIEW, A.PUBLICITY},
       A.REJECTED, "application.review", "R3.3/R3.5", "不予授权"),
    _t("withdraw", _BEFORE_AGREEMENT, A.WITHDRAWN, "application.apply", "R3.2", "撤回申请"),
)

_LIVE = {G.ACTIVE, G.SUSPENDED, G.SEALED, G.RENEWING}

GRANT_TRANSITIONS: tuple[Transition, ...] = (
    _t("suspend", {G.ACTIVE, G.RENEWING}, G.SUSPENDED, "grant.manage", "R6.8", "暂停"),
    _t("resume", {G.SUSPENDED}, G.ACTIVE, "grant.manage", "R6.8", "恢复"),
    _t("seal", {G.ACTIVE, G.RENEWING, G.SUSPENDED}, G.SEALED, "grant.manage", "R3.9d", "封存"),
    _t("unseal", {G.SEALED}, G.ACTIVE, "grant.manage", "R3.9d", "解除封存"),
    _t("apply_renewal", {G.ACTIVE}, G.RENEWING, "application.apply", "R3.9b", "申请续期"),
    _t("renew", {G.RENEWING}, G.ACTIVE, "application.review", "R3.9b", "续期生效"),
    _t("renewal_lapsed", {G.RENEWING}, G.ACTIVE, "application.review", "R3.9b", "续期未获批准"),
    _t("expire", _LIVE, G.EXPIRED, "system", "R3.9a", "到期终止"),
    _t("cancel", _LIVE, G.CANCELLED, "grant.manage", "R3.9c", "提前注销"),
    _t("revoke", _LIVE, G.REVOKED, "grant.manage", "R3.9d", "撤销授权"),
    _t("destroy", {G.EXPIRED, G.CANCELLED, G.REVOKED}, G.DESTROYED, "system", "R3.9d", "销毁域内数据"),
)

APPLICATION_BY_NAME = {t.name: t for t in APPLICATION_TRANSITIONS}
GRANT_BY_NAME = {t.name: t for t in GRANT_TRANSITIONS}

#: states in which a grant's workspace may be open (R4.5a); everything else is closed
OPEN_GRANT_STATES = frozenset({G.ACTIVE.value, G.RENEWING.value})
#: states after the end of a grant (access closed for good)
ENDED_GRANT_STATES = frozenset({G.EXPIRED.value, G.CANCELLED.value, G.REVOKED.value, G.DESTROYED.value})
TERMINAL_APPLICATION_STATES = frozenset({A.ACTIVE.value, A.REJECTED.value, A.WITHDRAWN.value})


def application_targets(state: str) -> list[Transition]:
    return [t for t in APPLICATION_TRANSITIONS if state in t.sources]


def grant_targets(state: str) -> list[Transition]:
    return [t for t in GRANT_TRANSITIONS if state in t.sources]


def can_application_transition(state: str, name: str) -> bool:
    t = APPLICATION_BY_NAME.get(name)
    return t is not None and state in t.sources


def check_application_transition(state: str, name: str) -> Transition:
    """The row of ``name``; Conflict (409, code ``application.bad_transition``) if ``state`` is not a source."""
    t = APPLICATION_BY_NAME[name]
    if state not in t.sources:
        allowed = ", ".join(x.name for x in application_targets(state)) or "-"
        raise Conflict("application.bad_transition",
                       pmsg.BAD_APPLICATION_TRANSITION.format(state=state, action=name, action_zh=t.zh,
                                                              allowed=allowed),
                       details={"state": state, "transition": name, "allowed": allowed, "rule": t.rule})
    return t


def can_grant_transition(state: str, name: str) -> bool:
    t = GRANT_BY_NAME.get(name)
    return t is not None and state in t.sources


def check_grant_transition(state: str, name: str) -> Transition:
    t = GRANT_BY_NAME[name]
    if state not in t.sources:
        allowed = ", ".join(x.name for x in grant_targets(state)) or "-"
        raise Conflict("grant.bad_transition",
                       pmsg.BAD_GRANT_TRANSITION.format(state=state, action=name, action_zh=t.zh, allowed=allowed),
                       details={"state": state, "transition": name, "allowed": allowed, "rule": t.rule})
    return t


def mermaid(transitions: tuple[Transition, ...], initial: str) -> str:
    """A mermaid ``stateDiagram-v2`` of one table (sources sorted, so the text is stable)."""
    lines = ["stateDiagram-v2", f"    [*] --> {initial}"]
    for t in transitions:
        for src in sorted(t.sources):
            lines.append(f"    {src} --> {t.target}: {t.name}")
    return "\n".join(lines)


def application_mermaid() -> str:
    return mermaid(APPLICATION_TRANSITIONS, A.DRAFT.value)


def grant_mermaid() -> str:
    return mermaid(GRANT_TRANSITIONS, G.ACTIVE.value)
