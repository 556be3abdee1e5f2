"""The process steps from the command line (``opdomain lifecycle …``, ``opdomain people …``): each acts
``--as`` a named person through the API's permission; refusals print both languages, exit non-zero and
are audited. SQLite only: the CLI opens the data directory by ``--home``."""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from tests.lifecycle.domain_setup import seed_domain
from tests.lifecycle.process_setup import REQUIREMENTS, SCENARIOS, TABLES, add_experts, announce, apply, walk_to_active
from typer.testing import CliRunner, Result

from opdomain.audit.query import AuditFilter, search
from opdomain.audit.verify import verify_chain
from opdomain.cli import app as cli
from opdomain.identity.service import principal_for
from opdomain.lifecycle import applications, people
from opdomain.lifecycle.policy_process import REQUIRED_MATERIALS
from opdomain.runtime import Runtime


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def prt(rt: Runtime, bengfa: Path) -> Runtime:
    seed_domain(rt, bengfa, tables=TABLES)
    add_experts(rt)
    return rt


def run(rt: Runtime, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, [*args, "--home", str(rt.settings.home)], input=input)


def ok(rt: Runtime, *args: str, input: str | None = None) -> str:
    r = run(rt, *args, input=input)
    assert r.exit_code == 0, r.output
    return r.output


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1].strip()


def test_announcement_to_expert_scores_and_publicity_through_the_cli(prt: Runtime, tmp_path: Path) -> None:
    rt, today = prt, date.today()
    ann = last_line(ok(rt, "lifecycle", "announce", "--title", "2025 年普惠金融领域授权运营公告",
                       "--domain-area", "普惠金融", "--domain-area", "工业制造", "--conditions", "满足安全要求",
                       "--opens", (today - timedelta(days=1)).isoformat(),
                       "--closes", (today + timedelta(days=30)).isoformat(), "--as", "admin"))
    assert [a["id"] for a in applications.list_announcements(rt)] == [ann]

    body = tmp_path / "application.json"
    body.write_text(json.dumps({"scenarios": SCENARIOS, "requirements": REQUIREMENTS,
                                "starts_on": today.isoformat(), "ends_on": (today + timedelta(days=700)).isoformat(),
                                "pricing_mode": "time_limited_free", "consent_subjects": ["enterprise"]},
                               ensure_ascii=False), encoding="utf-8")
    app_id = last_line(ok(rt, "lifecycle", "apply", "--announcement", ann, "--file", str(body), "--as", "opadmin"))

    for kind in REQUIRED_MATERIALS:
        f = tmp_path / f"{kind}.pdf"
        f.write_bytes(f"%PDF {kind}".encode())
        shown = ok(rt, "lifecycle", "material", "add", app_id, "--kind", kind, str(f), "--as", "opadmin")
        assert hashlib.sha256(f.read_bytes()).hexdigest() in shown
        assert applications.sm3_hex(f.read_bytes()) in shown

    ok(rt, "lifecycle", "step", app_id, "submit", "--as", "opadmin")
    ok(rt, "lifecycle", "step", app_id, "begin_pre_review", "--as", "admin")
    ok(rt, "lifecycle", "step", app_id, "pass_pre_review", "--data",
       json.dumps({"experts": ["expert1", "expert2", "expert3"]}), "--as", "admin")
    for i, e in enumerate(("expert1", "expert2", "expert3")):
        ok(rt, "lifecycle", "score", app_id, "--security", str(80 + i), "--credit", "85", "--technical", "78",
           "--opinion", "同意", "--as", e)
    view = applications.get_application(rt, principal_for(rt, "admin"), app_id)
    assert {e["expert"]: e["status"] for e in view.experts} == dict.fromkeys(("expert1", "expert2", "expert3"),
                                                                            "submitted")
    assert view.experts[1]["scores"] == {"security": 81, "credit": 85, "technical": 78}

    ok(rt, "lifecycle", "step", app_id, "conclude_expert_review", "--reason", "专家组一致同意", "--as", "admin")
    ok(rt, "lifecycle", "step", app_id, "approve", "--reason", "终审通过", "--as", "admin")
    # publicity: anyone objects without an account; the authority answers
    oid = last_line(ok(rt, "lifecycle", "objection", "file", app_id, "--text", "请说明数据安全措施",
                       "--name", "张三"))
    ok(rt, "lifecycle", "objection", "answer", oid, "--answer", "已在应急预案中说明", "--as", "admin")
    view = applications.get_application(rt, principal_for(rt, "admin"), app_id)
    assert view.state == "publicity" and view.objections[0]["answered_by"] == "admin"
    steps = [(e["action"], e["actor"]) for e in applications.timeline(rt, principal_for(rt, "admin"), "application",
                                                                      app_id)]
    assert ("submit", "opadmin") in steps and ("expert_review", "expert3") in steps
    assert verify_chain(rt.store, rt.audit.signer.public_key()).ok


def test_a_refused_command_exits_non_zero_in_both_languages_and_is_audited(prt: Runtime, tmp_path: Path) -> None:
    rt, today = prt, date.today()
    r = run(rt, "lifecycle", "announce", "--title", "t", "--domain-area", "普惠金融",
            "--opens", today.isoformat(), "--closes", today.isoformat(), "--as", "analyst")
    assert r.exit_code != 0
    assert "无权执行此操作（announcement.manage）" in r.output, r.output
    assert "permission denied (announcement.manage)" in r.output and "auth.permission_denied" in r.output
    refused = search(rt.store, AuditFilter(actor="analyst", outcome="refused"))
    assert refused and refused[0].action == "announcement.manage" and refused[0].reason == "auth.permission_denied"
    assert applications.list_announcements(rt) == []

    # an expert not assigned cannot score; bad input is refused bilingually before anything runs
    app_id = apply(rt, announce(rt, today), today)
    r = run(rt, "lifecycle", "score", app_id, "--security", "80", "--credit", "80", "--technical", "80",
            "--opinion", "同意", "--as", "opadmin")
    assert r.exit_code != 0 and "auth.permission_denied" in r.output
    r = run(rt, "lifecycle", "announce", "--title", "t", "--domain-area", "普惠金融", "--opens", "tomorrow",
            "--closes", "2030-01-01", "--as", "admin")
    assert r.exit_code == 2 and "日期" in r.output and "a date is YYYY-MM-DD" in r.output


def test_data_request_and_review_through_the_cli(prt: Runtime, tmp_path: Path) -> None:
    rt, today = prt, date.today()
    grant_id = walk_to_active(rt, apply(rt, announce(rt, today), today), today)
    cols = tmp_path / "columns.json"
    cols.write_text(json.dumps({"dataset": "stats.sales_profit",
                                "columns": {"uscc": "企业关联键", "sales_revenue": "销售收入指标"}},
                               ensure_ascii=False), encoding="utf-8")
    req = last_line(ok(rt, "lifecycle", "request-data", grant_id, "--file", str(cols), "--as", "opadmin"))
    r = run(rt, "lifecycle", "review-data", req, "--approve", "--as", "hrss-staff")
    assert r.exit_code != 0 and "data_request.other_provider" in r.output
    assert run(rt, "lifecycle", "review-data", req, "--as", "stats-staff").exit_code == 2  # neither decision
    out = ok(rt, "lifecycle", "review-data", req, "--approve", "--columns", "uscc", "--reason", "最小必要",
             "--as", "stats-staff")
    assert "approved" in out and "uscc" in out and "sales_revenue" not in out


def test_exam_confidentiality_real_name_status_and_leaving(prt: Runtime, tmp_path: Path) -> None:
    rt = prt
    admin = principal_for(rt, "admin")
    for text, answer in (("数据可以带出运营域吗？", 1), ("发现泄露应当？", 0), ("口令可以共享吗？", 1)):
        people.add_question(rt, admin, text=text, choices=["可以", "不可以"] if answer else ["立即报告", "忽略"],
                            answer=answer)
    # non-interactive: answers in the order printed (questions by id)
    r = run(rt, "people", "exam", "--answers", "0,0,0", "--as", "opadmin")
    assert r.exit_code != 0 and "exam.failed" in r.output
    out = ok(rt, "people", "exam", "--answers", "1,0,1", "--as", "opadmin")
    assert "数据可以带出运营域吗？" in out and "100" in out
    # interactive: the paper is printed and the answers read one by one
    out = ok(rt, "people", "exam", "--as", "analyst", input="1\n0\n1\n")
    assert "exam passed: 100" in out

    doc = tmp_path / "保密协议.txt"
    doc.write_text("本人承诺对运营域内数据严格保密。", encoding="utf-8")
    out = ok(rt, "people", "sign-confidentiality", "--document", str(doc), "--as", "opadmin")
    assert hashlib.sha256(doc.read_text(encoding="utf-8").encode()).hexdigest() in out
    ok(rt, "people", "verify-real-name", "opadmin", "--as", "admin")
    out = ok(rt, "people", "status", "opadmin", "--as", "opadmin")
    assert "cleared for the workspace" in out

    assert "cleared for the workspace" in ok(rt, "people", "status", "analyst", "--as", "opadmin")
    r = run(rt, "people", "verify-real-name", "analyst", "--as", "opadmin")
    assert r.exit_code != 0 and "auth.permission_denied" in r.output
    r = run(rt, "people", "status", "analyst", "--as", "opadmin2")
    assert r.exit_code != 0 and "staff.other_operator" in r.output
    ok(rt, "people", "leave", "analyst", "--as", "opadmin")
    r = run(rt, "people", "status", "analyst", "--as", "opadmin")
    assert r.exit_code == 0 and "cleared for the workspace" not in r.output
    assert search(rt.store, AuditFilter(action="staff.leave", actor="opadmin", outcome="allowed"))
