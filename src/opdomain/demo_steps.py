"""Demo steps of the later capabilities (grants, consent, dev data, governed queries), run through the
real services as the named demo users — nothing here bypasses a rule.

泵阀共富贷 (SCENARIO.md): the authority grants operator ``oujiang-data`` the columns the 14-indicator
rating needs (subject keys and indicator inputs; no names, phones or resident IDs) for 3 years (R3.9a),
consent required for enterprises (R4.2b, R5.1a); about 85 % of the enterprises consent; the analyst
builds the dev copy (R4.4d) and runs governed queries on real data (R4.4c), one of which is refused.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from opdomain.runtime import Runtime

OPERATOR = "oujiang-data"
SCENARIO = "泵阀共富贷融资能力评价"
DOMAIN_AREA = "普惠金融"
#: the columns the rating needs (SCENARIO.md "The 14 indicators"): subject keys and indicator inputs
BENGFA_COLUMNS: dict[str, list[str]] = {
    "amr.enterprise_registry": ["uscc"],
    "amr.certifications": ["uscc", "cert_type"],
    "tax.annual_tax": ["uscc", "year", "total_tax", "tax_credit_grade"],
    "eit.mu_efficiency": ["uscc", "year", "tax_per_mu", "value_added_per_mu", "is_above_scale", "honors"],
    "stats.sales_profit": ["uscc", "year", "sales_revenue", "total_profit", "labor_productivity"],
    "eco.green_lowcarbon": ["uscc", "year", "value_added_per_energy", "env_credit_color"],
    "sci.innovation": ["uscc", "year", "rd_expense", "invention_patents"],
    "hrss.insured_employees": ["uscc", "person_id"],
    "fin.shareholding_reform": ["uscc", "stage"],
}
CONSENT_SHARE = 0.85

QUERIES: tuple[tuple[str, str, str], ...] = (
    ("规上/规下企业数与平均销售收入 enterprises and mean sales revenue, above/below scale",
     "domain",
     "SELECT CASE WHEN e.is_above_scale THEN '规上' ELSE '规下' END AS category, "
     "count(*) AS enterprises, round(avg(s.sales_revenue) / 10000, 1) AS avg_sales_revenue_10k_yuan "
     "FROM eit.mu_efficiency e JOIN stats.sales_profit s ON e.uscc = s.uscc GROUP BY 1 ORDER BY 1"),
    ("参保职工人数分布 distribution of insured employees per enterprise",
     "domain",
     "SELECT CASE WHEN n < 10 THEN '1-9' WHEN n < 50 THEN '10-49' ELSE '50+' END AS employees, "
     "count(*) AS enterprises FROM (SELECT uscc, count(*) AS n FROM hrss.insured_employees GROUP BY uscc) t "
     "GROUP BY 1 ORDER BY 1"),
    ("纳税信用等级分布 tax credit grades (dev data: sampled, masked)",
     "dev",
     "SELECT tax_credit_grade, count(*) AS enterprises FROM tax.annual_tax GROUP BY 1 ORDER BY 1"),
    ("逐人工资明细（应被拒绝：未授权字段）per-person wages (must be refused: not granted)",
     "domain",
     "SELECT person_id, monthly_wage FROM hrss.insured_employees"),
    ("逐企业销售收入（应被拒绝：个体数据）per-enterprise revenue (must be refused: individual rows)",
     "domain",
     "SELECT uscc, sales_revenue FROM stats.sales_profit"),
)


def _consenting(usccs: list[str]) -> list[str]:
    """A deterministic ~85 % of the enterprises (by a hash of the credit code)."""
    cut = int(CONSENT_SHARE * 2**32)
    return [u for u in usccs if int(hashlib.sha256(u.encode()).hexdigest()[:8], 16) < cut]


def establish_grant(rt: Runtime, say: Console) -> tuple[str, str]:
    """The 泵阀共富贷 grant, through the nine steps of rules 三 by the demo's people; then the analyst
    becomes a safe person (R4.1, R4.4b) and the providers open the requested columns (R4.2a).
    Returns (grant id, path of the sealed agreement)."""
    from datetime import timedelta

    from opdomain.identity.service import principal_for
    from opdomain.lifecycle import agreement, applications, data_requests, people
    from opdomain.lifecycle.policy import three_year_term
    from opdomain.lifecycle.policy_process import REQUIRED_MATERIALS

    who = {u: principal_for(rt, u) for u in ("admin", "opadmin", "analyst", "expert1", "expert2", "expert3")}
    admin, opadmin = who["admin"], who["opadmin"]
    today = date.today()
    starts_on, ends_on = three_year_term(today)
    ann = applications.create_announcement(
        rt, admin, title="温州市普惠金融领域公共数据授权运营公告（演示）", domain_areas=[DOMAIN_AREA, "工业制造"],
        conditions="满足浙政办发〔2023〕44号基本安全、技术安全、应用场景安全要求", opens_on=today - timedelta(days=20),
        closes_on=today + timedelta(days=40))
    purposes = {"uscc": "企业关联键（不输出）", "person_id": "参保职工计数（不输出）"}
    app = applications.create_application(
        rt, opadmin, announcement_id=ann["id"], starts_on=starts_on, ends_on=ends_on, pricing_mode="time_limited_free",
        fees="", k=10, consent_subjects=["enterprise"], today=today,
        scenarios=[{"name": SCENARIO, "domain_area": DOMAIN_AREA, "goals": "为永嘉泵阀企业评价融资能力，支持银行授信",
                    "plan": "首年两家试点银行，次年全县推广，三年覆盖规上规下企业",
                    "security_measures": "运营域内加工、结果出域审核、企业授权同意"}],
        requirements=[{"dataset": d, "columns": {c: purposes.get(c, "14 项评价指标的输入") for c in cols}}
                      for d, cols in BENGFA_COLUMNS.items()])
    for kind, name in REQUIRED_MATERIALS.items():
        applications.add_material(rt, opadmin, app.id, kind=kind, filename=f"{kind}.pdf",
                                  data=f"%PDF-1.7 演示材料 {name}".encode())
    applications.submit(rt, opadmin, app.id)
    applications.begin_pre_review(rt, admin, app.id)
    applications.pass_pre_review(rt, admin, app.id, experts=["expert1", "expert2", "expert3"])
    for i, e in enumerate(("expert1", "expert2", "expert3")):
        applications.submit_expert_review(rt, who[e], app.id,
                                          scores={"security": 86 + i, "credit": 90, "technical": 84},
                                          opinion="场景明确，数据最小必要，安全措施可行，同意授权")
    applications.conclude_expert_review(rt, admin, app.id, conclusion="专家组一致同意")
    # 演示：公示期（7 天）按日期模拟为已届满
    applications.approve(rt, admin, app.id, reasons="终审通过，列入建议名单报市政府审核确定", publicity_days=7,
                         today=today - timedelta(days=8))
    applications.file_with_government(rt, admin, app.id, reference="温政数备〔演示〕1号", filed_with="浙江省人民政府",
                                      today=today)
    applications.sign_agreement(rt, admin, app.id)
    applications.file_emergency_plan(rt, admin, app.id, title="泵阀共富贷授权运营应急预案",
                                     text="一授权一预案：数据泄露、越权访问、服务中断的处置流程与联系人。")
    view = applications.activate(rt, admin, app.id)
    grant_id = view.grant_id or ""
    sealed = agreement.sealed_path(rt, view.agreement_id or "")
    for ev in applications.timeline(rt, admin, "application", app.id):
        if ev["action"] not in ("add_material", "expert_review"):
            say.print(f"  · {ev['action']:<24} {ev['from'] or '-':>17} → {ev['to']:<17} {ev['actor']}")
    say.print(f"  ✓ 授权 grant {grant_id}: {OPERATOR} · {SCENARIO} · {starts_on} – {ends_on}; "
              f"运营协议 sealed agreement {sealed}")

    # safe people: real-name verification, the training exam, the confidentiality agreement (R4.1, R4.4b)
    qids = [people.add_question(rt, admin, text=t, choices=c, answer=a) for t, c, a in (
        ("原始数据能否带出运营域？", ["可以",
         "不可以"], 1), ("加工结果出域前须经过什么？", ["出域审核", "无需审核"], 0),
        ("发现数据泄露应当？", ["立即报告主管部门", "自行处理"], 0))]
    people.verify_real_name(rt, admin, "analyst")
    score = people.take_exam(rt, who["analyst"], {q: a for q, a in zip(qids, (1, 0, 0), strict=True)})["score"]
    people.sign_confidentiality(rt, who["analyst"], document="数据加工人员保密协议（演示）")
    say.print(f"  ✓ 数据加工人员 analyst 吴思远: 实名认证、岗前考核 {score} 分、保密协议已签署")

    # data requests: each department reviews its own datasets (R4.2a)
    from opdomain.catalog.service import get_dataset

    for dataset, cols in BENGFA_COLUMNS.items():
        req = data_requests.request_data(rt, opadmin, grant_id, dataset=dataset,
                                         columns={c: purposes.get(c, "14 项评价指标的输入") for c in cols})
        dept = get_dataset(rt, None, dataset).department_code
        data_requests.review_data_request(rt, principal_for(rt, f"{dept}-staff"), req.id, approve=cols,
                                          note="符合需求清单，同意")
    say.print(f"  ✓ 数据需求申请 data requests: {len(BENGFA_COLUMNS)} datasets approved by their departments")
    return grant_id, str(sealed)


def consent_and_queries(rt: Runtime, say: Console, grant_id: str) -> None:
    """Enterprises' consents, the dev data, and governed queries — one refused with its reason."""
    from opdomain.catalog.ingest import read_version
    from opdomain.compute.devdata import build_dev_data
    from opdomain.compute.service import run_query
    from opdomain.errors import DomainError
    from opdomain.identity.service import principal_for
    from opdomain.lifecycle.consent import record_consents

    analyst = principal_for(rt, "analyst")
    # consent is recorded by the department that holds the enterprises' registration (市场监管)
    usccs = [str(u) for u in read_version(rt, "amr.enterprise_registry").column("uscc").to_pylist()]
    consenting = _consenting(usccs)
    result = record_consents(rt, principal_for(rt, "amr-staff"), subject_type="enterprise",
                             subject_ids=consenting, scenario=SCENARIO, operator_code=OPERATOR, channel="batch",
                             note="演示：企业授权书批量录入")
    say.print(f"  ✓ 企业授权 consent: {result.recorded} of {len(usccs)} enterprises "
              f"({100 * result.recorded / max(1, len(usccs)):.0f} %)")

    build = build_dev_data(rt, analyst, grant_id)
    ent = build.manifest["sample"]["subjects"].get("enterprise", {})
    say.print(f"  ✓ 开发环境数据 dev data {build.id}: {ent.get('sampled', 0)} of {ent.get('population', 0)} "
              "consenting enterprises sampled, identifiers pseudonymised, L3/L4 values masked")

    say.print("  受管控查询 governed queries (as analyst 吴思远):")
    for title, env, sql in QUERIES:
        say.print(f"  [bold]{title}[/bold]  [dim][{'运营域 domain' if env == 'domain' else '开发环境 dev'}][/dim]")
        say.print(f"    [dim]{escape(sql)}[/dim]", highlight=False)
        try:
            r = run_query(rt, analyst, grant_id, sql, env)
        except DomainError as exc:
            rule = exc.details.get("rule", "-")
            say.print(f"    [yellow]✗ 已拒绝 refused[/yellow] [dim]({exc.code}, rule {rule})[/dim]\n"
                      f"      {escape(exc.message.zh)}\n      {escape(exc.message.en)}")
            continue
        t = Table(*[str(c) for c in r["columns"]], padding=(0, 1))
        for row in r["rows"]:
            t.add_row(*["" if v is None else str(v) for v in row])
        say.print(t)


def run_later_steps(rt: Runtime, say: Console, passwords: dict[str, str]) -> dict[str, Any]:
    """The demo's story after the foundation: one function per capability, in the order of the rules."""
    out: dict[str, Any] = {}
    grant_id, agreement_path = establish_grant(rt, say)
    out["grants"] = {"bengfa": grant_id}
    out["agreements"] = {"bengfa": agreement_path}
    consent_and_queries(rt, say, grant_id)
    jobs_and_airlock(rt, say, grant_id, out)
    return out


def rating_job_definition() -> dict[str, Any]:
    """The analyst's 泵阀共富贷 rating (scenarios/jobs/rating.py) as a declared job: its outputs labelled
    internal (the scores) or releasable (the per-subject rating list, the aggregate statistics)."""
    from pathlib import Path

    import opdomain.scenarios.jobs.rating as rating

    return {
        "name": "bengfa-rating",
        "files": {"rating.py": Path(rating.__file__).read_text(encoding="utf-8")},
        "actions": [{
            "name": "rate", "type": "python", "script": "rating.py", "inputs": list(rating.TABLES),
            "outputs": [
                {"name": "scores.parquet", "label": "internal"},
                {"name": "rating_list.csv", "label": "releasable", "kind": "per_subject"},
                {"name": "grade_distribution.csv", "label": "releasable", "kind": "table"},
                {"name": "grade_means.csv", "label": "releasable", "kind": "table"},
            ]}],
    }


PILOT_BANK = ("pilot-bank-1", "永嘉农商银行（演示）")


def jobs_and_airlock(rt: Runtime, say: Console, grant_id: str, out: dict[str, Any]) -> None:
    """The rating job on dev data, then in the sandbox on real data; its rating list (consenting enterprises
    only) and statistics through the airlock and two reviewers; released, signed, downloaded watermarked by
    the demo recipient, and traced back to it (R1.6b, R4.4a, R4.5a, R5.1b)."""
    import secrets as _secrets

    from opdomain.audit.log import SYSTEM
    from opdomain.compute.jobs import submit_job
    from opdomain.compute.sandbox import sandbox_available
    from opdomain.compute.worker import run_next_job
    from opdomain.demo import _fictional_resident_id
    from opdomain.egress import airlock
    from opdomain.egress.airlock_files import declare_output
    from opdomain.identity.service import create_organization, create_user, principal_for
    from opdomain.products import service as products
    from opdomain.products.events import install

    install(rt)
    if not sandbox_available():
        say.print("  [yellow]! 作业沙箱不可用 job sandbox unavailable (bubblewrap): jobs and releases skipped[/yellow]")
        return
    create_organization(rt, SYSTEM, kind="consumer", code=PILOT_BANK[0], name=PILOT_BANK[1])
    bank_password = _secrets.token_urlsafe(12)
    create_user(rt, SYSTEM, username="bank1", password=bank_password, real_name="潘雅琴",
                resident_id=_fictional_resident_id(60), phone="13800579901", role="consumer",
                organization_code=PILOT_BANK[0])
    say.print(f"  ✓ 演示调用方 demo consumer {PILOT_BANK[0]} {PILOT_BANK[1]}: user bank1 / {bank_password}")
    out.setdefault("accounts", []).append(
        {"username": "bank1", "password": bank_password, "role": "consumer", "organization": PILOT_BANK[0]}
    )
    admin, analyst = principal_for(rt, "admin"), principal_for(rt, "analyst")
    declare_output(rt, admin, grant_id, name="rating_list", subject_type="enterprise",
                   columns=["uscc", "category", "grade"])
    say.print("  ✓ 协议声明的逐主体输出 declared per-subject output: rating_list (uscc, category, grade; "
              "one row per enterprise)")

    definition = rating_job_definition()
    for env in ("dev", "domain"):
        submit_job(rt, analyst, grant_id, definition, env)
        job = run_next_job(rt)
        assert job is not None
        say.print(f"  ✓ 作业 job {job.id[:8]} ({'开发环境 dev data' if env == 'dev' else '运营域 real data, sandbox'}):"
                  f" {job.status}, code {job.code_digest[:12]}…, outputs: "
                  + ", ".join(f"{n} ({o['label']})" for n, o in job.outputs.items()))
        if job.status != "succeeded":
            raise RuntimeError(f"the rating job failed: {job.error_code}\n{job.log}")
    domain_job = job
    hostile = {"name": "exfiltrate", "files": {"x.py": "import socket\nsocket.create_connection(('1.1.1.1', 80), 3)\n"},
               "actions": [{"name": "send", "type": "python", "script": "x.py", "outputs": []}]}
    submit_job(rt, analyst, grant_id, hostile, "domain")
    bad = run_next_job(rt)
    assert bad is not None
    say.print(f"  ✓ 试图联网的作业被阻止 a job trying the network: {bad.status} ({bad.error_code}, "
              f"{bad.log.splitlines()[-1].split(': ', 1)[-1]})")

    reviewers = (principal_for(rt, "reviewer1"), principal_for(rt, "reviewer2"))
    releases: dict[str, str] = {}
    products_: dict[str, str] = {}
    plans = (("rating_list", "泵阀共富贷融资能力评级名单", "data_package", [
        ("rating_list.csv", "已授权企业的评级名单：统一社会信用代码、规上/规下、等级，每企业一行",
         "仅含已授权企业；不含得分与指标值；按协议声明的字段")]),
        ("statistics", "泵阀共富贷评级统计", "data_report", [
            ("grade_distribution.csv", "各类别各等级企业数", "每格至少 10 家企业（k=10）"),
            ("grade_means.csv", "各类别各等级平均得分与各指标平均值", "均值基于至少 10 家企业；保留两位及以上小数")]))
    assert domain_job is not None
    for key, product, ptype, files in plans:
        req = airlock.create_request(rt, analyst, grant_id, title=product, recipient=PILOT_BANK[0],
                                     product_name=product, product_type=ptype)
        for output, context, controls in files:
            view = airlock.add_file(rt, analyst, req["id"], job_id=domain_job.id, output=output, context=context,
                                    controls=controls)
        for f in view["files"]:
            note = f["derivation"].get("consent_filter")
            extra = f"; {note['message']}" if isinstance(note, dict) else ""
            say.print(f"    出域文件 {f['name']}: 自动检查 checks {f['outcome']}{extra}")
        airlock.submit_request(rt, analyst, req["id"])
        for reviewer in reviewers:
            for f in view["files"]:
                airlock.vote(rt, reviewer, req["id"], f["name"], "approve", comment="符合协议与披露控制要求")
            airlock.submit_review(rt, reviewer, req["id"])
        airlock.decide(rt, reviewers[0], req["id"], "approve", reason="两名审核人一致同意")
        rel = products.release_request(rt, analyst, req["id"])
        releases[key], products_[key] = rel.id, rel.product_id
        say.print(f"  ✓ 发布 release {rel.id[:8]} · {product} v{rel.version} → {PILOT_BANK[0]} "
                  f"(reviewers reviewer1, reviewer2; manifest {rel.manifest_sha256[:12]}…, Ed25519-signed)")
    bank = principal_for(rt, "bank1")
    folder = rt.settings.home / "downloads" / PILOT_BANK[0]
    folder.mkdir(parents=True, exist_ok=True)
    data, _info = products.download(rt, bank, releases["rating_list"], "rating_list.csv")
    (folder / "rating_list.csv").write_bytes(data)
    for name in ("grade_distribution.csv", "grade_means.csv"):
        copy, _ = products.download(rt, bank, releases["statistics"], name)
        (folder / name).write_bytes(copy)
    found = products.trace(rt, admin, data, "rating_list.csv")["attributed"] or {}
    say.print(f"  ✓ 水印下载 watermarked download by bank1: {folder / 'rating_list.csv'}; "
              f"溯源 trace → release {str(found.get('release_id', '-'))[:8]}, recipient {found.get('recipient_id')}")
    out["releases"] = {"rating_list": releases["rating_list"], "rating_list_file": str(folder / "rating_list.csv"),
                       "statistics": releases["statistics"]}
    out["products"] = products_
