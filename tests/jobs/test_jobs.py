"""Jobs end to end through the job service and the worker (R4.4a, R4.4c, R4.4d, R5.1a): a legitimate
job on dev and real data with one code digest; hostile jobs — network, reading outside, a limit, a bad
definition — each stopped with a clear reason, audited, nothing kept; cancellation; grant end."""

from __future__ import annotations

import pytest

from opdomain.audit.query import AuditFilter, search
from opdomain.compute import jobs_policy
from opdomain.compute.devdata import build_dev_data
from opdomain.compute.jobs import cancel_job, get_job, list_jobs, submit_job
from opdomain.compute.jobs_run import claim_next_job, read_output
from opdomain.compute.worker import run_next_job
from opdomain.errors import Conflict, InvalidInput, PermissionDenied
from tests.jobs.conftest import Airlocked
from tests.jobs.helpers import rating_definition, run, script_job


def test_rating_job_runs_on_dev_and_real_data_with_the_same_code_digest(airlocked: Airlocked) -> None:
    rt, g = airlocked.rt, airlocked.grant
    build_dev_data(rt, airlocked.who("analyst"), g.id)
    dev = run(rt, g.id, rating_definition(), "dev")
    real = run(rt, g.id, rating_definition(), "domain")
    assert dev.status == real.status == "succeeded", real.log
    assert dev.code_digest == real.code_digest
    assert set(real.outputs) == {"scores.parquet", "rating_list.csv", "grade_distribution.csv", "grade_means.csv",
                                 "by_scale.csv"}
    assert real.outputs["scores.parquet"]["label"] == "internal"
    assert real.outputs["rating_list.csv"]["kind"] == "per_subject"
    assert real.inputs["tax.annual_tax"] == "1" and dev.inputs["tax.annual_tax"].startswith("dev:")
    # the job computed over every enterprise, consenting or not
    rating_list = read_output(rt, real.id, "rating_list.csv").decode()
    assert rating_list.count("\n") == len(airlocked.usccs) + 1
    # no input is left behind in the work folder
    assert not any((rt.settings.work_dir / "jobs").glob("*/in"))


def test_logs_of_real_data_runs_hold_no_data_value(airlocked: Airlocked) -> None:
    rt, g = airlocked.rt, airlocked.grant
    leak = ("import pyarrow.parquet as pq\nt = pq.read_table('/in/tax.annual_tax.parquet')\n"
            "print(t.column('uscc')[0], t.column('total_tax')[0])\nraise KeyError(str(t.column('uscc')[1]))\n")
    job = run(rt, g.id, script_job(leak))
    assert job.status == "failed" and job.error_code == "job.script_error"
    assert "KeyError" in job.log and "withheld" in job.log
    for u in airlocked.usccs:
        assert u not in job.log
    records = search(rt.store, AuditFilter(object_id=job.id, limit=50))
    assert not any(u in r.details for r in records for u in airlocked.usccs[:5])


def test_dev_run_shows_the_script_output_to_the_analyst(airlocked: Airlocked) -> None:
    rt, g = airlocked.rt, airlocked.grant
    build_dev_data(rt, airlocked.who("analyst"), g.id)
    job = run(rt, g.id, script_job("print('hello from dev')\n"), "dev")
    assert job.status == "succeeded" and "hello from dev" in job.log


@pytest.mark.parametrize(("source", "expected"), [
    ("import socket\nsocket.create_connection(('1.1.1.1', 80), 3)\n", "OSError"),
    ("import urllib.request\nurllib.request.urlopen('http://example.com', timeout=3)\n", "URLError"),
    ("open('/work/main/pyproject.toml').read()\n", "FileNotFoundError"),
    ("import os\nprint(os.listdir('/root'))\n", "FileNotFoundError"),
])
def test_hostile_job_is_stopped_with_its_reason_and_audited(airlocked: Airlocked, source: str, expected: str) -> None:
    rt, g = airlocked.rt, airlocked.grant
    job = run(rt, g.id, script_job(source, [{"name": "x.csv", "label": "releasable"}]))
    assert job.status == "failed" and job.error_code == "job.script_error"
    assert expected in job.log
    assert job.outputs == {}
    fails = search(rt.store, AuditFilter(action="job.fail", limit=10))
    assert any(r.object_id == job.id and r.outcome == "failed" for r in fails)


def test_job_over_its_time_limit_is_killed(airlocked: Airlocked) -> None:
    rt, g = airlocked.rt, airlocked.grant
    job = run(rt, g.id, script_job("while True:\n    pass\n", wall_seconds=2, cpu_seconds=30))
    assert job.status == "failed" and job.error_code in ("job.killed_timeout", "job.killed_cpu")


def test_a_job_writing_a_symlink_out_is_refused(airlocked: Airlocked) -> None:
    rt, g = airlocked.rt, airlocked.grant
    src = "import os\nos.symlink('/in/tax.annual_tax.parquet', '/out/leak.parquet')\n"
    job = run(rt, g.id, script_job(src, [{"name": "leak.parquet", "label": "releasable"}]))
    assert job.status == "failed" and "refused by the sandbox" in job.log


def test_undeclared_outputs_are_discarded_and_a_missing_declared_output_fails(airlocked: Airlocked) -> None:
    rt, g = airlocked.rt, airlocked.grant
    job = run(rt, g.id, script_job("open('/out/a.csv','w').write('n\\n1\\n')\nopen('/out/extra.txt','w').write('x')\n",
                                   [{"name": "a.csv", "label": "internal"}]))
    assert job.status == "succeeded" and set(job.outputs) == {"a.csv"} and "extra.txt" in job.log
    job = run(rt, g.id, script_job("pass\n", [{"name": "a.csv", "label": "internal"}]))
    assert job.status == "failed" and job.error_code == "job.output_missing"


def test_sql_action_writes_its_table_and_refuses_anything_but_select(airlocked: Airlocked) -> None:
    rt, g = airlocked.rt, airlocked.grant
    bad = {"name": "sql", "actions": [{"name": "q", "type": "sql", "sql": "COPY tax.annual_tax TO '/tmp/x.csv'",
                                       "outputs": [{"name": "q.csv", "label": "internal"}]}]}
    job = run(rt, g.id, bad)
    assert job.status == "failed" and job.error_code == "job.sql_refused"


def test_definitions_outside_the_grant_or_malformed_are_refused_and_audited(airlocked: Airlocked) -> None:
    rt, g, analyst = airlocked.rt, airlocked.grant, airlocked.who("analyst")
    with pytest.raises(InvalidInput) as info:
        submit_job(rt, analyst, g.id, {"name": "x", "actions": [{"name": "a", "type": "sql", "sql": "SELECT 1",
                                                                   "inputs": ["civil.marriages"],
                                                                   "outputs": [{"name": "a.csv"}]}]}, "domain")
    assert info.value.code == "job.input_not_granted"
    with pytest.raises(InvalidInput):
        submit_job(rt, analyst, g.id, {"name": "x", "actions": [{"name": "a", "type": "shell"}]}, "domain")
    refusals = search(rt.store, AuditFilter(action="job.submit", outcome="refused", limit=10))
    assert len(refusals) >= 2


def test_only_the_operators_analysts_submit(airlocked: Airlocked) -> None:
    rt, g = airlocked.rt, airlocked.grant
    with pytest.raises(PermissionDenied):
        submit_job(rt, airlocked.who("analyst2"), g.id, script_job("pass\n"), "domain")
    with pytest.raises(PermissionDenied):
        submit_job(rt, airlocked.who("reviewer1"), g.id, script_job("pass\n"), "domain")


def test_cancel_a_queued_job_and_follow_the_state_machine(airlocked: Airlocked) -> None:
    rt, g, analyst = airlocked.rt, airlocked.grant, airlocked.who("analyst")
    job = submit_job(rt, analyst, g.id, script_job("pass\n"), "domain")
    assert cancel_job(rt, analyst, job.id).status == "cancelled"
    assert run_next_job(rt) is None
    with pytest.raises(Conflict):
        cancel_job(rt, analyst, job.id)
    assert [j.id for j in list_jobs(rt, airlocked.who("opadmin"), g.id)] == [job.id]
    assert get_job(rt, airlocked.who("auditor"), job.id).status == "cancelled"


def test_a_running_job_marked_cancelled_keeps_nothing(airlocked: Airlocked) -> None:
    from opdomain.compute.jobs_run import run_job

    rt, g, analyst = airlocked.rt, airlocked.grant, airlocked.who("analyst")
    job = submit_job(rt, analyst, g.id, script_job("open('/out/a.csv','w').write('n\\n1\\n')\n",
                                                   [{"name": "a.csv", "label": "internal"}]), "domain")
    assert claim_next_job(rt) == job.id
    cancel_job(rt, analyst, job.id, reason="changed my mind")
    run_job(rt, job.id)
    done = get_job(rt, analyst, job.id)
    assert done.status == "cancelled" and done.outputs == {}


def test_grant_end_cancels_the_grants_queued_jobs(airlocked: Airlocked) -> None:
    rt, g, analyst = airlocked.rt, airlocked.grant, airlocked.who("analyst")
    job = submit_job(rt, analyst, g.id, script_job("pass\n"), "domain")
    rt.publish("grant.ended", grant_id=g.id, reason="revoked")
    assert get_job(rt, analyst, job.id).status == "cancelled"


def test_state_machine_table_and_diagram_agree() -> None:
    diagram = jobs_policy.mermaid()
    for (a, b), name in jobs_policy.TRANSITIONS.items():
        assert f"{a.value} --> {b.value}: {name}" in diagram
    with pytest.raises(Conflict):
        jobs_policy.check_transition("succeeded", jobs_policy.JobStatus.RUNNING)
