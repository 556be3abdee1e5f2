"""Fixtures of the console tests: one seeded domain per session, an app client, a live server.

The domain is built through the real services (organizations, real-name users, dataset imports,
a forbidden mark), so the pages show what a deployment would show.
"""

from __future__ import annotations

import csv
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from opdomain.audit.log import SYSTEM
from opdomain.config import Settings
from opdomain.identity import service as identity
from opdomain.privacy.identifiers import credit_code_check_digit, org_code_check_digit, resident_id_check_digit
from opdomain.runtime import Runtime, open_runtime
from opdomain.web.app import create_app

PASSWORD = "Wenzhou-2023-pass"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def resident_id(body17: str) -> str:
    return body17 + resident_id_check_digit(body17)


def credit_code(org8: str, region: str = "330324") -> str:
    org = org8 + org_code_check_digit(org8)
    body = "91" + region + org
    return body + credit_code_check_digit(body)


ORGANIZATIONS = [
    ("authority", "wzdata", "温州市大数据发展管理局"),
    ("provider", "amr", "永嘉县市场监督管理局"),
    ("provider", "tax", "国家税务总局永嘉县税务局"),
    ("provider", "psb", "永嘉县公安局"),
    ("assessor", "zjaudit", "浙江正信数据安全评估有限公司"),
    ("operator", "wzcredit", "温州数字信用科技有限公司"),
    ("consumer", "yjbank", "永嘉农村商业银行"),
]

#: username → (real name, role, organization, resident ID body, phone)
USERS = {
    "zhangwei": ("张伟", "provider", "amr", "33032419850312001", "13800138000"),
    "chenjing": ("陈静", "provider", "amr", "33032419900101002", "13800138001"),
    "liuyang": ("刘洋", "provider", "tax", "33032419880808003", "13800138002"),
    "huangli": ("黄丽", "provider", "psb", "33032419870707004", "13800138009"),
    "lina": ("李娜", "auditor", "zjaudit", "33010219791123004", "13900139000"),
    "wangqiang": ("王强", "authority_admin", "wzdata", "33030219760505005", "13700137000"),
    "zhaomin": ("赵敏", "analyst", "wzcredit", "33030419920220006", "13600136000"),
    "sunhao": ("孙浩", "consumer", "yjbank", "33032419830909007", "13500135000"),
    "throttled": ("周杰", "provider", "tax", "33032419910606008", "13500135001"),
}


def _write_dataset(folder: Path, descriptor: dict, rows: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    table = descriptor["name"].split(".")[1]
    data = folder / f"{table}.csv"
    with data.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=[c["name"] for c in descriptor["schema"]["fields"]])
        writer.writeheader()
        writer.writerows(rows)
    descriptor = {**descriptor, "path": data.name, "format": "csv"}
    path = folder / f"{table}.json"
    path.write_text(json.dumps(descriptor, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def field(name: str, title: str, grade: str, type_: str = "string", *, identifier: str | None = None,
          subject: str | None = None, required: bool = False, unique: bool = False) -> dict:
    f: dict = {"name": name, "title": title, "type": type_, "opdomain:grade": grade,
               "constraints": {"required": required, "unique": unique}}
    if identifier:
        f["opdomain:identifier"] = identifier
    if subject:
        f["opdomain:subject"] = subject
    return f


ENTERPRISES = [("MA2HK3L0", "永嘉县瓯北泵阀制造有限公司"), ("MA2HK4P1", "温州东方阀门股份有限公司"),
               ("MA2HK5Q2", "永嘉县桥头精工水泵有限公司")]

REGISTRY = {
    "name": "amr.enterprise_registry", "department": "amr", "title": "企业登记信息",
    "description": "永嘉县市场主体登记的基本信息（含法定代表人及联系方式）。",
    "schema": {"primaryKey": ["credit_code"], "fields": [
        field("credit_code", "统一社会信用代码", "L1", identifier="credit_code", subject="enterprise",
              required=True, unique=True),
        field("enterprise_name", "企业名称", "L1", required=True),
        field("legal_person", "法定代表人", "L3", identifier="person_name"),
        field("contact_mobile", "联系电话", "L3", identifier="mobile"),
        field("registered_capital", "注册资本（万元）", "L2", "number"),
        field("established_on", "成立日期", "L1", "date"),
    ]},
}

TAX_CREDIT = {
    "name": "tax.tax_credit_rating", "department": "tax", "title": "纳税信用等级",
    "description": "企业年度纳税信用评价结果。",
    "schema": {"primaryKey": ["credit_code", "year"], "fields": [
        field("credit_code", "统一社会信用代码", "L2", identifier="credit_code", subject="enterprise", required=True),
        field("year", "评价年度", "L1", "integer", required=True),
        field("rating", "纳税信用等级", "L3", required=True),
        field("tax_paid", "年度纳税额（万元）", "L4", "number"),
    ]},
}

CRIMINAL = {
    "name": "psb.criminal_records", "department": "psb", "title": "违法犯罪记录",
    "description": "公安机关掌握的个人违法犯罪记录。",
    "schema": {"primaryKey": ["resident_id"], "fields": [
        field("resident_id", "身份证号", "L4", identifier="resident_id", subject="person", required=True,
              unique=True),
        field("person_name", "姓名", "L4", identifier="person_name"),
        field("record", "记录摘要", "L4"),
    ]},
}


@dataclass
class Domain:
    rt: Runtime
    folder: Path

    def registry_upload(self, *, bad: bool = False) -> tuple[Path, Path]:
        """A descriptor and CSV for amr.enterprise_registry (``bad``: one row with a wrong check digit)."""
        rows = _registry_rows()
        if bad:
            rows[1]["credit_code"] = rows[1]["credit_code"][:-1] + ("0" if rows[1]["credit_code"][-1] != "0" else "1")
        folder = self.folder / f"upload-{time.monotonic_ns()}"
        descriptor = _write_dataset(folder, REGISTRY, rows)
        return descriptor, folder / "enterprise_registry.csv"


def _registry_rows() -> list[dict]:
    return [
        {"credit_code": credit_code(org), "enterprise_name": name, "legal_person": person,
         "contact_mobile": phone, "registered_capital": capital, "established_on": day}
        for (org, name), person, phone, capital, day in zip(
            ENTERPRISES, ["林建国", "郑晓东", "潘美玲"], ["13857700001", "13857700002", "13857700003"],
            ["1200", "5680.5", "300"], ["2006-04-18", "1998-11-02", "2015-07-30"], strict=True)
    ]


def _seed(rt: Runtime, folder: Path) -> None:
    from opdomain.catalog import ingest
    from opdomain.catalog import service as catalog

    for kind, code, name in ORGANIZATIONS:
        identity.create_organization(rt, SYSTEM, kind=kind, code=code, name=name, government="温州市")
    for username, (real_name, role, org, rid, phone) in USERS.items():
        identity.create_user(rt, SYSTEM, username=username, password=PASSWORD, real_name=real_name,
                             resident_id=resident_id(rid), phone=phone, role=role, organization_code=org)
    zhangwei = identity.principal_for(rt, "zhangwei")
    liuyang = identity.principal_for(rt, "liuyang")
    huangli = identity.principal_for(rt, "huangli")
    ingest.import_dataset(rt, zhangwei, _write_dataset(folder / "amr", REGISTRY, _registry_rows()))
    tax_rows = [{"credit_code": credit_code(org), "year": year, "rating": rating, "tax_paid": paid}
                for (org, _), rating, paid in zip(ENTERPRISES, ["A", "B", "A"], ["86.2", "231.9", "12.4"], strict=True)
                for year in ("2022",)]
    ingest.import_dataset(rt, liuyang, _write_dataset(folder / "tax", TAX_CREDIT, tax_rows))
    crime_rows = [{"resident_id": resident_id("33032419700101123"), "person_name": "吴某", "record": "（样例）"}]
    ingest.import_dataset(rt, huangli, _write_dataset(folder / "psb", CRIMINAL, crime_rows))
    catalog.mark_forbidden(rt, huangli, "psb.criminal_records", category="personal_or_trade_secret",
                           reason="涉及个人违法犯罪信息，依法不得开放。")


@pytest.fixture(scope="session")
def domain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Domain]:
    home = tmp_path_factory.mktemp("console-home")
    rt = open_runtime(Settings(home=home, login_max_failures=3, login_window_seconds=300))
    folder = tmp_path_factory.mktemp("console-files")
    _seed(rt, folder)
    yield Domain(rt, folder)
    rt.close()


@pytest.fixture(scope="session")
def app(domain: Domain):  # type: ignore[no-untyped-def]
    return create_app(domain.rt)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, follow_redirects=False) as c:
        yield c


CSRF_FIELD = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def csrf_of(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD, next_: str = "/"):  # type: ignore[no-untyped-def]
    page = client.get("/login")
    return client.post("/login", data={"username": username, "password": password, "next": next_,
                                       "csrf_token": csrf_of(page.text)})


@pytest.fixture
def as_user(client: TestClient):  # type: ignore[no-untyped-def]
    """``as_user("lina")`` logs the test client in and returns it."""

    def _login(username: str) -> TestClient:
        response = login(client, username)
        assert response.status_code == 303, response.text
        return client

    return _login


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("console test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup-system.sh")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield b
        b.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
