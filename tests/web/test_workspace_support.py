"""Shared setup of the workspace and consent page tests: a 泵阀共富贷 domain with grants and consents.

The domain is seeded once per test session through the real services (tests/lifecycle/domain_setup:
the generated scenario's nine tables imported by their departments' staff) and copied for each test
module. Users are those of ``tests.conftest.seed_people`` (``analyst`` of operator ``op1``,
``analyst2`` of ``op2``, ``admin``, ``auditor``, ``opadmin``, ``amr-staff`` …). No test lives here.
"""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from opdomain.identity.service import principal_for
from opdomain.lifecycle import consent
from opdomain.lifecycle.grants import GrantView
from opdomain.runtime import Runtime
from opdomain.scenarios.generate import generate
from opdomain.web.app import create_app
from tests.conftest import make_runtime
from tests.lifecycle.domain_setup import ENTERPRISES, SCENARIO, make_grant, seed_domain, source_column
from tests.web.conftest import csrf_of

PASSWORD = "pw-{}-0123456789"  # tests.conftest.seed_people's passwords
#: enterprises that consent to SCENARIO for op1 when the module's domain is made
CONSENTING = 100
_TEMPLATE: dict[str, Path] = {}


def _template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(scenario folder, seeded home), made once per test session whatever module asks first."""
    if not _TEMPLATE:
        scenario = tmp_path_factory.mktemp("ws-bengfa")
        generate(scenario, enterprises=ENTERPRISES, seed=11)
        home = tmp_path_factory.mktemp("ws-template") / "home"
        rt = make_runtime(home, "sqlite")
        try:
            seed_domain(rt, scenario)
            _make_safe_people(rt, ("analyst", "analyst2"))
        finally:
            rt.close()
        _TEMPLATE.update(scenario=scenario, home=home)
    return _TEMPLATE["scenario"], _TEMPLATE["home"]


def _make_safe_people(rt: Runtime, usernames: tuple[str, ...]) -> None:
    """The analysts pass the personnel gate (R4.1 exam, R4.4b real name and confidentiality agreement).

    Written as records only where the seeding left none, so that a seeding that qualifies its staff
    through the personnel service wins; remove once tests/lifecycle/domain_setup always does.
    """
    try:
        from opdomain.lifecycle.models_process import StaffRecord
    except ImportError:  # a tree without the personnel gate
        return
    from datetime import UTC, datetime

    from sqlalchemy import select

    from opdomain.identity.models import User

    now = datetime.now(UTC) - timedelta(days=7)
    with rt.store.session() as s:
        for user in s.scalars(select(User).where(User.username.in_(usernames))):
            if s.get(StaffRecord, user.id) is None:
                s.add(StaffRecord(user_id=user.id, real_name_verified_at=now, real_name_verified_by="admin",
                                  exam_passed_at=now, exam_score=90, confidentiality_signed_at=now,
                                  confidentiality_sha256="0" * 64))


@dataclass
class WorkspaceDomain:
    rt: Runtime
    app: Any
    scenario: Path
    usccs: list[str]

    def grant(self, **options: Any) -> GrantView:
        """A new grant of op1 (by default: all of 泵阀共富贷's columns, k=10, no consent requirement)."""
        return make_grant(self.rt, **options)

    def expired_grant(self) -> GrantView:
        today = date.today()
        return make_grant(self.rt, starts_on=today - timedelta(days=30), ends_on=today - timedelta(days=1))


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkspaceDomain]:
    """A fresh copy of the seeded domain for one test module, with 100 of 120 enterprises consenting."""
    scenario, template = _template(tmp_path_factory)
    home = tmp_path_factory.mktemp("ws-module") / "home"
    shutil.copytree(template, home)
    rt = make_runtime(home, "sqlite")
    usccs = [str(u) for u in source_column(scenario, "amr.enterprise_registry", "uscc")]
    consent.record_consents(rt, principal_for(rt, "amr-staff"), subject_type="enterprise",
                            subject_ids=usccs[:CONSENTING], scenario=SCENARIO, operator_code="op1")
    try:
        yield WorkspaceDomain(rt, create_app(rt), scenario, usccs)
    finally:
        rt.close()


def log_in(client: TestClient, username: str) -> TestClient:
    page = client.get("/login")
    response = client.post("/login", data={"username": username, "password": PASSWORD.format(username),
                                           "next": "/", "csrf_token": csrf_of(page.text)})
    assert response.status_code == 303, response.text
    return client


@pytest.fixture
def as_(ws: WorkspaceDomain) -> Iterator[Any]:
    """``as_("analyst")``: a test client of the module's app, logged in (one client per user)."""
    clients: list[TestClient] = []

    def _as(username: str) -> TestClient:
        client = TestClient(ws.app, follow_redirects=False)
        client.__enter__()
        clients.append(client)
        return log_in(client, username)

    yield _as
    for c in clients:
        c.__exit__(None, None, None)


def token_of(client: TestClient, path: str) -> str:
    return csrf_of(client.get(path).text)


NAV_KEY = re.compile(r'data-nav="([\w-]+)"')


def nav_keys(html: str) -> set[str]:
    return set(NAV_KEY.findall(html))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """The app under uvicorn on a free 127.0.0.1 port (like tests/web/conftest.py's live_server)."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("workspace test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
