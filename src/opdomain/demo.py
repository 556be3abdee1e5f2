"""``opdomain demo``: a fresh domain with the 泵阀共富贷 scenario, run through the real flows.

Demo mode only: the accounts get random passwords, printed once and written to
``<home>/demo.json`` (SPEC §9). Nothing here bypasses a service: every department imports its
own tables as its own user, exactly as through the API.
"""

from __future__ import annotations

import json
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from opdomain.audit.log import SYSTEM
from opdomain.config import Settings
from opdomain.runtime import Runtime, open_runtime

AUTHORITY = ("authority", "wzdata", "温州市大数据发展管理局", "温州市人民政府")
OPERATOR = ("operator", "oujiang-data", "瓯江数据运营有限公司（演示）", "")
EXPERTS = ("expert_group", "expert-group", "温州市公共数据授权运营专家组", "温州市人民政府")
ASSESSOR = ("assessor", "assessor", "第三方安全评估机构（演示）", "")


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    organization: str
    real_name: str


def _accounts(departments: dict[str, str]) -> list[DemoAccount]:
    accs = [
        DemoAccount("admin", "authority_admin", AUTHORITY[1], "陈建国"),
        DemoAccount("reviewer1", "reviewer", AUTHORITY[1], "林晓燕"),
        DemoAccount("reviewer2", "reviewer", AUTHORITY[1], "黄志明"),
        DemoAccount("opadmin", "operator_admin", OPERATOR[1], "周文博"),
        DemoAccount("analyst", "analyst", OPERATOR[1], "吴思远"),
        DemoAccount("expert1", "expert", EXPERTS[1], "郑立群"),
        DemoAccount("expert2", "expert", EXPERTS[1], "王海涛"),
        DemoAccount("expert3", "expert", EXPERTS[1], "李佳慧"),
        DemoAccount("auditor", "auditor", ASSESSOR[1], "孙明哲"),
    ]
    names = ["张伟", "刘洋", "杨静", "赵磊", "徐丽", "朱军", "胡敏", "郭强"]
    for (code, _), name in zip(departments.items(), names, strict=False):
        accs.append(DemoAccount(f"{code}-staff", "provider", code, name))
    return accs


def _fictional_resident_id(i: int) -> str:
    """A valid GB 11643 number for a fictional person (born 1980-01-01 + i days, Yongjia)."""
    from datetime import date, timedelta

    from opdomain.privacy.identifiers import resident_id_check_digit

    born = date(1980, 1, 1) + timedelta(days=97 * i)
    body = f"330324{born:%Y%m%d}{(900 + i) % 1000:03d}"
    return body + resident_id_check_digit(body)


def run_demo(home: Path, *, enterprises: int = 1290, seed: int = 2023, console: Console | None = None) -> Runtime:
    from opdomain.catalog.ingest import import_dataset
    from opdomain.identity.service import create_organization, create_user, principal_for
    from opdomain.scenarios.generate import DEPARTMENTS, generate

    say = console or Console()
    home = home.expanduser().resolve()
    if home.exists():
        shutil.rmtree(home)
    rt = open_runtime(Settings(home=home, demo_mode=True))
    say.print(f"[bold]opdomain demo[/bold] — 数据目录 data directory: {home}")

    for kind, code, name, gov in (AUTHORITY, OPERATOR, EXPERTS, ASSESSOR):
        create_organization(rt, SYSTEM, kind=kind, code=code, name=name, government=gov)
    for code, name in DEPARTMENTS.items():
        create_organization(rt, SYSTEM, kind="provider", code=code, name=name, government="永嘉县人民政府")
    passwords: dict[str, str] = {}
    accounts = _accounts(DEPARTMENTS)
    for i, acc in enumerate(accounts):
        pw = secrets.token_urlsafe(12)
        passwords[acc.username] = pw
        create_user(
            rt,
            SYSTEM,
            username=acc.username,
            password=pw,
            real_name=acc.real_name,
            resident_id=_fictional_resident_id(i),
            phone=f"1380057{i:04d}",
            role=acc.role,
            organization_code=acc.organization,
        )
    say.print(f"  ✓ {len(accounts)} 实名账号 real-name accounts in {4 + len(DEPARTMENTS)} organizations")

    scenario_dir = home / "scenario"
    descriptors = generate(scenario_dir, enterprises=enterprises, seed=seed)
    say.print(f"  ✓ 泵阀共富贷 scenario generated: {enterprises} enterprises, {len(descriptors)} tables")
    for dpath in sorted(descriptors):
        dept = json.loads(dpath.read_text(encoding="utf-8"))["department"]
        principal = principal_for(rt, f"{dept}-staff")
        view = import_dataset(rt, principal, dpath)
        say.print(f"  ✓ {dept}-staff imported {view.dataset_name}: {view.rows_total} rows (v{view.version}, encrypted)")

    from opdomain.demo_steps import run_later_steps

    extra: dict[str, Any] = run_later_steps(rt, say, passwords)

    rt.audit.checkpoint_now()
    from opdomain.audit.verify import verify_chain

    result = verify_chain(rt.store, rt.audit.signer.public_key())
    if not result.ok:
        raise RuntimeError(f"audit verify failed: {result.problem}")
    say.print(
        f"  ✓ 审计日志校验通过 audit log verified: {result.records} records, {result.checkpoints} signed checkpoints"
    )

    demo = {
        "accounts": [
            {"username": a.username, "password": passwords[a.username], "role": a.role, "organization": a.organization}
            for a in accounts
        ]
        + extra.get("accounts", []),
        "scenario_data": str(scenario_dir),
        "grants": extra.get("grants", {}),
        "agreements": extra.get("agreements", {}),
        "releases": extra.get("releases", {}),
        "products": extra.get("products", {}),
        "consumer_keys": extra.get("consumer_keys", {}),
    }
    (home / "demo.json").write_text(json.dumps(demo, ensure_ascii=False, indent=2), encoding="utf-8")
    (home / "demo.json").chmod(0o600)

    t = Table(title="演示账号 demo accounts (demo mode only — 仅限演示)")
    for col in ("username", "password", "role", "organization"):
        t.add_column(col)
    for a in accounts:
        t.add_row(a.username, passwords[a.username], a.role, a.organization)
    for acc in extra.get("accounts", []):
        t.add_row(acc["username"], acc["password"], acc["role"], acc["organization"])
    say.print(t)
    say.print(f"  demo.json: {home / 'demo.json'}")
    return rt
