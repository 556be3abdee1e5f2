"""Display helpers of the lifecycle pages: names of states and timeline actions, and which action forms
an application or grant page offers. The rules stay the machine's: a form is offered when
``machine.application_targets`` / ``machine.grant_targets`` lists the transition for the current state
and the caller's role holds the transition's permission (``PageContext.can``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from opdomain.errors import DomainError
from opdomain.lifecycle import machine
from opdomain.lifecycle import policy_process as rules
from opdomain.lifecycle.applications import ApplicationView
from opdomain.lifecycle.grants import GrantView
from opdomain.web.console.i18n import N_
from opdomain.web.console.render import PageContext

APPLICATION_STATES = {
    "draft": N_("草稿"),
    "applied": N_("已提交申请"),
    "pre_review": N_("材料预审中"),
    "materials_requested": N_("待补正材料"),
    "expert_review": N_("专家审查中"),
    "final_review": N_("终审中"),
    "publicity": N_("社会公开中"),
    "filed": N_("已备案"),
    "agreement_signed": N_("已签订协议"),
    "active": N_("已生效"),
    "rejected": N_("未通过"),
    "withdrawn": N_("已撤回"),
}

GRANT_STATES = {
    "active": N_("有效"),
    "suspended": N_("暂停"),
    "sealed": N_("封存"),
    "renewing": N_("续期中"),
    "expired": N_("到期"),
    "cancelled": N_("已注销"),
    "revoked": N_("已撤销"),
    "destroyed": N_("已销毁"),
}

#: timeline actions: the machine's transitions and the steps that change no state
ACTIONS = {
    "submit": N_("提交申请"),
    "begin_pre_review": N_("开始材料预审"),
    "request_materials": N_("一次性告知补正"),
    "resubmit": N_("补交材料"),
    "pass_pre_review": N_("预审通过，组织专家审查"),
    "conclude_expert_review": N_("专家审查结束"),
    "approve": N_("终审通过，社会公开"),
    "file": N_("报上级政府备案"),
    "sign_agreement": N_("签订协议并加盖合同专用章"),
    "activate": N_("授权生效"),
    "reject": N_("不予授权"),
    "withdraw": N_("撤回申请"),
    "create": N_("创建申请"),
    "add_material": N_("上传材料"),
    "expert_review": N_("专家评审意见"),
    "objection": N_("社会公众异议"),
    "answer_objection": N_("答复异议"),
    "file_emergency_plan": N_("备案应急预案"),
    "suspend": N_("暂停"),
    "resume": N_("恢复"),
    "seal": N_("封存"),
    "unseal": N_("解除封存"),
    "apply_renewal": N_("申请续期"),
    "renew": N_("续期生效"),
    "renewal_lapsed": N_("续期未获批准"),
    "expire": N_("到期终止"),
    "cancel": N_("提前注销"),
    "revoke": N_("撤销授权"),
    "destroy": N_("销毁域内数据"),
    "request_cancellation": N_("申请提前注销"),
    "request_data": N_("提交数据需求申请"),
    "review_data_request": N_("审核数据需求申请"),
    "sign_confidentiality": N_("签署保密协议"),
}

DATA_REQUEST_STATES = {"pending": N_("待审核"), "approved": N_("已同意"), "rejected": N_("已驳回")}

SCORES = {"security": N_("安全保障能力"), "credit": N_("信用状况"), "technical": N_("技术实力")}

#: grant transitions the authority performs from the grant page (the others are the scheduler's or a renewal's)
GRANT_PAGE_ACTIONS = ("suspend", "resume", "seal", "unseal", "cancel", "revoke")

MATERIAL_KINDS = rules.MATERIAL_KINDS


@dataclass(frozen=True)
class Step:
    at: datetime | None
    actor: str
    action: str
    before: str
    after: str
    reason: str
    details: dict[str, Any]


def steps(rows: list[dict[str, Any]]) -> list[Step]:
    """The service's timeline rows (ISO times) as the template shows them."""
    out = []
    for r in rows:
        try:
            at: datetime | None = datetime.fromisoformat(r["at"])
        except (TypeError, ValueError):
            at = None
        out.append(Step(at, r["actor"], r["action"], r["from"], r["to"], r["reason"], r.get("details") or {}))
    return out


def application_actions(ctx: PageContext, app: ApplicationView) -> set[str]:
    """The forms of this application's page: transitions the state allows and the caller's role may do,
    plus the steps that change no state (materials, an expert's review, the emergency plan)."""
    allowed = {t.name for t in machine.application_targets(app.state) if ctx.can(t.permission)}
    principal = ctx.principal
    if ctx.can("application.apply") and (machine.can_application_transition(app.state, "submit")
                                         or machine.can_application_transition(app.state, "resubmit")):
        allowed.add("add_material")
    if (ctx.can("application.expert_review") and principal is not None
            and machine.can_application_transition(app.state, "conclude_expert_review")
            and any(e["expert"] == principal.username and e["status"] == "pending" for e in app.experts)):
        allowed.add("expert_review")
    if (ctx.can("emergency_plan.manage") and not app.has_emergency_plan
            and app.state not in machine.TERMINAL_APPLICATION_STATES):
        allowed.add("emergency_plan")
    if ctx.can("application.review") and app.state == machine.ApplicationState.PUBLICITY.value:
        allowed.add("answer_objection")
    return allowed


def grant_actions(ctx: PageContext, grant: GrantView) -> list[str]:
    return [t.name for t in machine.grant_targets(grant.status)
            if t.name in GRANT_PAGE_ACTIONS and ctx.can(t.permission)]


def grant_operator_actions(ctx: PageContext, grant: GrantView) -> list[str]:
    """The operator's own steps on its grant: ask for early cancellation while the machine allows
    ``cancel``, and apply for renewal while it lists ``apply_renewal`` (a new application naming the grant)."""
    principal = ctx.principal
    if principal is None or principal.organization_code != grant.operator_code:
        return []
    targets = {t.name: t for t in machine.grant_targets(grant.status)}
    out = []
    if "cancel" in targets and ctx.can("grant.request_cancellation"):
        out.append("request_cancellation")
    if "apply_renewal" in targets and ctx.can(targets["apply_renewal"].permission):
        out.append("apply_renewal")
    return out


def objection_open(state: str, publicity_ends_on: str | date | None, today: date) -> bool:
    """Whether the public may still object (the rule's own check, R3.6)."""
    ends = date.fromisoformat(publicity_ends_on) if isinstance(publicity_ends_on, str) else publicity_ends_on
    try:
        rules.check_objection_open(state, ends, today)
    except DomainError:
        return False
    return True
