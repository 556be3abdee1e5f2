"""Shared fixtures: a domain on SQLite and on a real PostgreSQL.

PostgreSQL: the server at 127.0.0.1:5432 when one answers (database ``test``, trust auth; a
fresh schema per run, dropped after); otherwise a throwaway server started from Debian's
binaries (initdb + pg_ctl, as the postgres user when run as root). No PostgreSQL test is ever skipped.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from opdomain.audit.log import SYSTEM
from opdomain.config import Settings
from opdomain.runtime import Runtime, open_runtime

# a background lifecycle tick would expire and destroy the tests' fixtures mid-test; the tick's own
# tests switch it on explicitly (tests/lifecycle/test_serve_tick.py)
os.environ.setdefault("OPDOMAIN_LIFECYCLE_TICK_SECONDS", "0")

PG_URL = os.environ.get("OPDOMAIN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))), None)
    assert found, f"no PostgreSQL {name}: scripts/setup-system.sh installs Debian's postgresql"
    return str(found)


@pytest.fixture(scope="session")
def pg_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The machine's PostgreSQL, or a throwaway server of our own (never a skip)."""
    if _answers("127.0.0.1", 5432) and not os.environ.get("OPDOMAIN_TEST_THROWAWAY_PG"):
        yield PG_URL
        return
    # not under pytest's tmp dir: as root that is 0700 and the server's user could not reach it
    datadir = Path(tempfile.mkdtemp(prefix="opdomain-pg-")) / "data"
    datadir.mkdir()
    port = 55432
    # initdb refuses to run as root: run the server as the unprivileged 'postgres' user then
    prefix: list[str] = []
    if os.geteuid() == 0:
        prefix = ["runuser", "-u", "postgres", "--"]
        shutil.chown(datadir.parent, "postgres")
        shutil.chown(datadir, "postgres")
        datadir.chmod(0o700)
    subprocess.run([*prefix, _pg_bin("initdb"), "-D", str(datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
                   check=True, capture_output=True)
    subprocess.run([*prefix, _pg_bin("pg_ctl"), "-D", str(datadir), "-w", "-l", str(datadir / "log"), "-o",
                    f"-p {port} -k {datadir} -h 127.0.0.1", "start"], check=True, capture_output=True)
    try:
        with create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres").connect() as c:
            c.execution_options(isolation_level="AUTOCOMMIT").execute(text("CREATE DATABASE test"))
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/test"
    finally:
        subprocess.run([*prefix, _pg_bin("pg_ctl"), "-D", str(datadir), "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(datadir.parent, ignore_errors=True)


@pytest.fixture
def pg_schema(pg_server_url: str) -> Iterator[tuple[str, str]]:
    schema = "t_" + secrets.token_hex(6)
    eng = create_engine(pg_server_url)
    with eng.connect() as c:
        c.execute(text(f"CREATE SCHEMA {schema}"))
        c.commit()
    try:
        yield pg_server_url, schema
    finally:
        with eng.connect() as c:
            c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            c.commit()
        eng.dispose()


def make_runtime(home: Path, backend: str, pg: tuple[str, str] | None = None, **settings: object) -> Runtime:
    if backend == "sqlite":
        return open_runtime(Settings(home=home, **settings))  # type: ignore[arg-type]
    assert pg is not None
    url, schema = pg
    return open_runtime(Settings(home=home, database_url=url, **settings), schema=schema)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def rt(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Iterator[Runtime]:
    """A fresh domain on each records backend (the store suite runs on both)."""
    pg = request.getfixturevalue("pg_schema") if backend == "postgres" else None
    runtime = make_runtime(tmp_path / "home", backend, pg)
    try:
        yield runtime
    finally:
        runtime.close()


@pytest.fixture
def srt(tmp_path: Path) -> Iterator[Runtime]:
    """A fresh domain on SQLite only (for tests that are not about the store)."""
    runtime = make_runtime(tmp_path / "home", "sqlite")
    try:
        yield runtime
    finally:
        runtime.close()


def resident_id(i: int) -> str:
    from opdomain.demo import _fictional_resident_id

    return _fictional_resident_id(i)


def seed_people(rt: Runtime, *, departments: tuple[str, ...] = ("amr", "hrss")) -> dict[str, str]:
    """Organizations and one user per role; returns username → password."""
    from opdomain.identity.service import create_organization, create_user

    create_organization(rt, SYSTEM, kind="authority", code="wzdata", name="温州市大数据发展管理局")
    create_organization(rt, SYSTEM, kind="operator", code="op1", name="运营单位一")
    create_organization(rt, SYSTEM, kind="assessor", code="assessor", name="评估机构")
    create_organization(rt, SYSTEM, kind="expert_group", code="experts", name="专家组")
    create_organization(rt, SYSTEM, kind="consumer", code="bank1", name="试点银行一")
    for d in departments:
        create_organization(rt, SYSTEM, kind="provider", code=d, name=f"部门 {d}")
    people = [
        ("admin", "authority_admin", "wzdata"),
        ("reviewer1", "reviewer", "wzdata"),
        ("opadmin", "operator_admin", "op1"),
        ("analyst", "analyst", "op1"),
        ("auditor", "auditor", "assessor"),
        ("expert1", "expert", "experts"),
        ("bank", "consumer", "bank1"),
    ]
    people += [(f"{d}-staff", "provider", d) for d in departments]
    pw = {}
    for i, (u, role, org) in enumerate(people):
        pw[u] = f"pw-{u}-0123456789"
        create_user(
            rt,
            SYSTEM,
            username=u,
            password=pw[u],
            real_name=f"测试{i}",
            resident_id=resident_id(i),
            phone=f"1390000{i:04d}",
            role=role,
            organization_code=org,
        )
    return pw
