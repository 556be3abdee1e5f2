"""The HTTP API and the CLI of jobs, the airlock and releases, end to end over the same services."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from opdomain.cli import app as cli
from opdomain.compute.worker import run_next_job
from opdomain.web.app import create_app
from tests.jobs.conftest import Airlocked
from tests.jobs.helpers import rating_definition


def _token(client: TestClient, user: str) -> dict[str, str]:
    pw = f"pw-{user}-0123456789"
    r = client.post("/api/v1/auth/login", json={"username": user, "password": pw})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_job_airlock_release_download_and_trace_over_the_api(airlocked: Airlocked) -> None:
    a = airlocked
    client = TestClient(create_app(a.rt))
    analyst, r1, r2 = _token(client, "analyst"), _token(client, "reviewer1"), _token(client, "reviewer2")
    r = client.post(f"/api/v1/grants/{a.grant.id}/jobs", json={"definition": rating_definition(),
                                                                 "environment": "domain"}, headers=analyst)
    assert r.status_code == 201, r.text
    job_id = r.json()["id"]
    run_next_job(a.rt)
    job = client.get(f"/api/v1/jobs/{job_id}", headers=analyst).json()
    assert job["status"] == "succeeded" and "file" not in job["outputs"]["by_scale.csv"]
    hidden = client.get(f"/api/v1/jobs/{job_id}/outputs/by_scale.csv", headers=analyst)
    assert hidden.status_code == 403 and hidden.json()["error"]["code"] == "job.domain_output"
    req = client.post(f"/api/v1/grants/{a.grant.id}/release-requests", headers=analyst,
                      json={"title": "按规模", "recipient": "bank1", "product_name": "按规模统计"}).json()
    rid = req["id"]
    assert client.post(f"/api/v1/release-requests/{rid}/files", headers=analyst,
                       json={"job_id": job_id, "output": "by_scale.csv", "context": "c",
                             "controls": "k"}).status_code == 200
    assert client.post(f"/api/v1/release-requests/{rid}/submit", headers=analyst).json()["status"] == "submitted"
    for h in (r1, r2):
        assert client.post(f"/api/v1/release-requests/{rid}/votes", headers=h,
                           json={"file": "by_scale.csv", "vote": "approve"}).status_code == 200
        assert client.post(f"/api/v1/release-requests/{rid}/review", headers=h).status_code == 200
    d = client.post(f"/api/v1/release-requests/{rid}/decision", headers=r2, json={"decision": "approve"})
    assert d.json()["status"] == "approved"
    early = client.get(f"/api/v1/releases/{rid}/files/by_scale.csv", headers=_token(client, "bank"))
    assert early.status_code == 404
    rel = client.post(f"/api/v1/release-requests/{rid}/release", headers=analyst)
    assert rel.status_code == 201, rel.text
    rel_id = rel.json()["id"]
    bank = _token(client, "bank")
    dl = client.get(f"/api/v1/releases/{rel_id}/files/by_scale.csv", headers=bank)
    assert dl.status_code == 200 and dl.content.startswith(b'"category"')
    assert client.get(f"/api/v1/releases/{rel_id}/files/by_scale.csv", headers=_token(client, "opadmin")) \
        .status_code == 403
    assert client.post(f"/api/v1/releases/{rel_id}/verify", headers=bank).json()["ok"]
    svg = client.get(f"/api/v1/releases/{rel_id}/lineage?format=svg", headers=_token(client, "auditor"))
    assert svg.status_code == 200 and svg.text.startswith("<svg")
    traced = client.post("/api/v1/trace?name=x.csv", content=dl.content, headers=_token(client, "auditor")).json()
    assert traced["attributed"]["recipient_id"] == "bank1/bank"


def test_worker_trace_and_verify_from_the_command_line(airlocked: Airlocked, tmp_path: Path) -> None:
    from opdomain.compute.jobs import submit_job

    a = airlocked
    home = str(a.rt.settings.home)
    submit_job(a.rt, a.who("analyst"), a.grant.id, rating_definition(), "domain")
    runner = CliRunner()
    r = runner.invoke(cli, ["worker", "--once", "--home", home])
    assert r.exit_code == 0 and "succeeded" in r.output
    suspect = tmp_path / "x.csv"
    suspect.write_text("a,b\n1,2\n")
    r = runner.invoke(cli, ["trace", str(suspect), "--as", "auditor", "--home", home])
    assert r.exit_code == 1
    r = runner.invoke(cli, ["trace", str(suspect), "--as", "analyst", "--home", home])
    assert r.exit_code == 2  # analysts may not trace
