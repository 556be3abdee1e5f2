"""Helpers of the authorization-process tests: the 泵阀共富贷 application walked step by step by the real
roles (authority ``admin``, operator ``opadmin``, experts ``expert1``–``expert3``, the public)."""

from __future__ import annotations

from datetime import date, timedelta

from tests.conftest import resident_id

from opdomain.audit.log import SYSTEM
from opdomain.identity.service import create_user, principal_for
from opdomain.lifecycle import applications as apps
from opdomain.lifecycle.policy_process import REQUIRED_MATERIALS
from opdomain.runtime import Runtime

SCENARIOS = [{"name": "泵阀共富贷融资能力评价", "domain_area": "普惠金融",
              "goals": "为永嘉泵阀企业提供融资能力评价", "plan": "第一年试点两家银行，第二年全县推广",
              "security_measures": "运营域内加工，结果经出域审核"}]
REQUIREMENTS = [
    {"dataset": "stats.sales_profit", "columns": {"uscc": "企业关联键", "year": "年度",
                                                  "sales_revenue": "销售收入指标", "total_profit": "利润指标"}},
    {"dataset": "hrss.insured_employees", "columns": {"uscc": "企业关联键", "person_id": "参保人数计数"}},
]
TABLES = ("stats.sales_profit", "hrss.insured_employees", "amr.enterprise_registry")


def add_experts(rt: Runtime) -> None:
    for i, name in ((50, "expert2"), (51, "expert3")):
        create_user(rt, SYSTEM, username=name, password=f"pw-{name}-0123456789", real_name=f"专家{i}",
                    resident_id=resident_id(i), phone=f"139000000{i}", role="expert", organization_code="experts")


def announce(rt: Runtime, today: date) -> str:
    a = apps.create_announcement(rt, principal_for(rt, "admin"), title="2025 年普惠金融领域授权运营公告",
                                 domain_areas=["普惠金融", "工业制造"], conditions="满足浙政办发〔2023〕44号安全要求",
                                 opens_on=today - timedelta(days=1), closes_on=today + timedelta(days=30))
    return str(a["id"])


def apply(rt: Runtime, announcement_id: str, today: date, *, years: int = 2, materials: bool = True,
          **kw: object) -> str:
    op = principal_for(rt, "opadmin")
    args: dict[str, object] = {"announcement_id": announcement_id, "scenarios": SCENARIOS,
                               "requirements": REQUIREMENTS, "starts_on": today,
                               "ends_on": today + timedelta(days=365 * years - 1),
                               "pricing_mode": "time_limited_free", "consent_subjects": ["enterprise"], "today": today}
    args.update(kw)
    view = apps.create_application(rt, op, **args)  # type: ignore[arg-type]
    if materials:
        for kind in REQUIRED_MATERIALS:
            apps.add_material(rt, op, view.id, kind=kind, filename=f"{kind}.pdf", data=f"%PDF {kind}".encode())
    return view.id


def walk_to_active(rt: Runtime, app_id: str, today: date) -> str:
    """submit → pre-review → expert review → final review → publicity → filing → agreement → active."""
    admin, op = principal_for(rt, "admin"), principal_for(rt, "opadmin")
    apps.submit(rt, op, app_id)
    apps.begin_pre_review(rt, admin, app_id)
    apps.pass_pre_review(rt, admin, app_id, experts=["expert1", "expert2", "expert3"])
    for i, e in enumerate(("expert1", "expert2", "expert3")):
        apps.submit_expert_review(rt, principal_for(rt, e), app_id,
                                  scores={"security": 80 + i, "credit": 85, "technical": 78}, opinion="同意")
    apps.conclude_expert_review(rt, admin, app_id, conclusion="专家组一致同意")
    apps.approve(rt, admin, app_id, reasons="终审通过，报市政府审核确定", publicity_days=7,
                 today=today - timedelta(days=10))
    apps.file_with_government(rt, admin, app_id, reference="温政备〔2025〕1号", today=today)
    apps.sign_agreement(rt, admin, app_id)
    apps.file_emergency_plan(rt, admin, app_id, title="泵阀共富贷授权应急预案", text="数据泄露处置流程……")
    view = apps.activate(rt, admin, app_id)
    assert view.grant_id is not None
    return view.grant_id
